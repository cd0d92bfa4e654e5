#include "storage/sqlite/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <new>
#include <optional>
#include <vector>

namespace kizuna::storage::sqlite {
namespace {

sqlite3_pcache_methods2 g_inner;  // SQLite's default page cache
std::atomic<uint64_t> g_passed{0};
std::atomic<uint64_t> g_skipped{0};

// The read transaction this thread is running, if any (ReadTransactionScope).
thread_local ReadTransactionScope* t_read = nullptr;

// Past this many frames since a connection's previous transaction, its cache is emptied
// instead: dropping pages one by one would cost more than reading them again.
constexpr uint32_t kMaxChangedFrames = 8192;

// Past this many remembered page numbers (a bulk load adding thousands of pages in one
// transaction) the record is dropped and the next truncation simply passes through: the
// record is searched linearly, which is the fastest way for the few pages a commit adds.
constexpr std::size_t kMaxRemembered = 64;

struct Cache {
    sqlite3_pcache* inner = nullptr;
    bool purgeable = false;  // a database file's cache (not a temporary table's)
    // Every page in the cache numbered `floor` or more is in `remembered`, unless `overflowed`.
    // Starts past every page number: a cache that never sees a truncation above 1 (a read-only
    // connection's) never records anything.
    unsigned floor = std::numeric_limits<unsigned>::max();
    bool overflowed = false;
    std::vector<unsigned> remembered;

    void Remember(unsigned key) {
        if (overflowed ||
            std::find(remembered.begin(), remembered.end(), key) != remembered.end()) {
            return;
        }
        if (remembered.size() >= kMaxRemembered) {
            overflowed = true;
            remembered.clear();
            return;
        }
        remembered.push_back(key);  // capacity reserved at creation: cannot throw
    }
    void Forget(unsigned key) {
        auto found = std::find(remembered.begin(), remembered.end(), key);
        if (found != remembered.end()) {
            *found = remembered.back();
            remembered.pop_back();
        }
    }
};

Cache* Of(sqlite3_pcache* cache) { return reinterpret_cast<Cache*>(cache); }

int Init(void* arg) { return g_inner.xInit(arg); }
void Shutdown(void* arg) {
    if (g_inner.xShutdown != nullptr) g_inner.xShutdown(arg);
}

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
    auto* cache = new (std::nothrow) Cache;
    if (cache == nullptr) return nullptr;
    try {
        cache->remembered.reserve(kMaxRemembered);
    } catch (const std::bad_alloc&) {
        delete cache;
        return nullptr;
    }
    cache->purgeable = purgeable != 0;
    cache->inner = g_inner.xCreate(page_size, extra_size, purgeable);
    if (cache->inner == nullptr) {
        delete cache;
        return nullptr;
    }
    return reinterpret_cast<sqlite3_pcache*>(cache);
}

void Cachesize(sqlite3_pcache* cache, int pages) { g_inner.xCachesize(Of(cache)->inner, pages); }
int Pagecount(sqlite3_pcache* cache) { return g_inner.xPagecount(Of(cache)->inner); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* cache, unsigned key, int create) {
    Cache* c = Of(cache);
    sqlite3_pcache_page* page = g_inner.xFetch(c->inner, key, create);
    if (key >= c->floor && page != nullptr) c->Remember(key);
    return page;
}

void Unpin(sqlite3_pcache* cache, sqlite3_pcache_page* page, int discard) {
    g_inner.xUnpin(Of(cache)->inner, page, discard);
}

void Rekey(sqlite3_pcache* cache, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
    Cache* c = Of(cache);
    g_inner.xRekey(c->inner, page, old_key, new_key);
    c->Forget(old_key);  // nothing is left under the old number
    if (new_key >= c->floor) c->Remember(new_key);
}

// Drops the cached pages that frames since `read.state.since` hold, and those past the
// database's end; false when that cannot be done exactly (the caller then empties the cache,
// whatever was dropped so far).
bool DropChangedPages(Cache* c, ReadTransactionScope& read) {
    const std::optional<WalIndex::Header>& since = read.state.since;
    if (!since || !read.before || read.before->salt != since->salt) return false;
    WalIndex::Header now;
    if (!read.wal.ReadHeader(&now) || now.salt != since->salt || now.max_frame < since->max_frame ||
        now.max_frame - since->max_frame > kMaxChangedFrames) {
        return false;
    }
    uint64_t dropped = 0;
    for (uint32_t frame = since->max_frame + 1; frame <= now.max_frame; ++frame) {
        uint32_t page = 0;
        if (!read.wal.PageOfFrame(frame, &page)) return false;
        if (sqlite3_pcache_page* cached = g_inner.xFetch(c->inner, page, 0)) {
            g_inner.xUnpin(c->inner, cached, /*discard=*/1);
            ++dropped;
        }
    }
    // The walk read page numbers of this generation only if the log did not restart meanwhile.
    WalIndex::Header after;
    if (!read.wal.ReadHeader(&after) || after.salt != since->salt) return false;
    g_inner.xTruncate(c->inner, now.page_count + 1);
    read.state.pages_dropped.fetch_add(dropped, std::memory_order_relaxed);
    return true;
}

// SQLite empties a read connection's cache as its transaction starts on a changed log.
void StartReadTransaction(Cache* c, ReadTransactionScope& read) {
    if (DropChangedPages(c, read)) {
        read.state.kept.fetch_add(1, std::memory_order_relaxed);
    } else {
        g_inner.xTruncate(c->inner, 1);
        read.state.emptied.fetch_add(1, std::memory_order_relaxed);
    }
    // What is cached from now on is as of this transaction's snapshot, taken after `before`.
    read.state.since = read.before;
    if (!read.before) {
        // Inside the transaction the index is set up: map it, so that the next transaction
        // can read its header before it begins.
        WalIndex::Header ignored;
        (void)read.wal.ReadHeader(&ignored);
    }
}

void Truncate(sqlite3_pcache* cache, unsigned limit) {
    Cache* c = Of(cache);
    // A truncation to 1 with nothing pinned: emptying the cache (pager_reset). Inside a read
    // transaction of a database file's connection, that is the start of the transaction.
    if (limit == 1 && t_read != nullptr && c->purgeable &&
        (t_read->state.cache == nullptr || t_read->state.cache == c)) {
        t_read->state.cache = c;
        StartReadTransaction(c, *t_read);
        return;
    }
    const bool may_hold_pages = limit < c->floor || c->overflowed ||
                                std::any_of(c->remembered.begin(), c->remembered.end(),
                                            [limit](unsigned key) { return key >= limit; });
    if (may_hold_pages) {
        g_inner.xTruncate(c->inner, limit);
        g_passed.fetch_add(1, std::memory_order_relaxed);
    } else {
        g_skipped.fetch_add(1, std::memory_order_relaxed);
    }
    // No page numbered `limit` or more is left. Those below it are the database's own pages; a
    // later truncation below `limit` (the database shrank) passes through. A truncation to 1 or
    // less empties the cache and says nothing of the database's size: the floor stays.
    c->remembered.clear();
    c->overflowed = false;
    if (limit > 1) c->floor = limit;
}

void Destroy(sqlite3_pcache* cache) {
    Cache* c = Of(cache);
    g_inner.xDestroy(c->inner);
    delete c;
}

void Shrink(sqlite3_pcache* cache) {
    if (g_inner.xShrink != nullptr) g_inner.xShrink(Of(cache)->inner);
}

}  // namespace

bool InstallPageCache() {
    sqlite3_pcache_methods2 inner{};
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner) != SQLITE_OK || inner.xCreate == nullptr ||
        inner.xFetch == nullptr || inner.xTruncate == nullptr || inner.xInit == nullptr) {
        return false;
    }
    g_inner = inner;
    sqlite3_pcache_methods2 ours{};
    ours.iVersion = 1;
    ours.pArg = inner.pArg;
    ours.xInit = Init;
    ours.xShutdown = Shutdown;
    ours.xCreate = Create;
    ours.xCachesize = Cachesize;
    ours.xPagecount = Pagecount;
    ours.xFetch = Fetch;
    ours.xUnpin = Unpin;
    ours.xRekey = Rekey;
    ours.xTruncate = Truncate;
    ours.xDestroy = Destroy;
    ours.xShrink = Shrink;
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &ours) == SQLITE_OK;
}

PageCacheCounters PageCacheCountersForTesting() {
    return {g_passed.load(std::memory_order_relaxed), g_skipped.load(std::memory_order_relaxed)};
}

ReadTransactionScope::ReadTransactionScope(ReaderCacheState& state, WalIndex& wal)
    : state(state), wal(wal) {
    WalIndex::Header header;
    if (wal.Mapped() && wal.ReadHeader(&header)) before = header;
    t_read = this;
}

ReadTransactionScope::~ReadTransactionScope() { t_read = nullptr; }

}  // namespace kizuna::storage::sqlite
