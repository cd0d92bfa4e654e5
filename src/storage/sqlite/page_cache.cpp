#include "storage/sqlite/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <new>
#include <vector>

namespace kizuna::storage::sqlite {
namespace {

sqlite3_pcache_methods2 g_inner;  // SQLite's default page cache
std::atomic<uint64_t> g_passed{0};
std::atomic<uint64_t> g_skipped{0};

// Past this many remembered page numbers (a bulk load adding thousands of pages in one
// transaction) the record is dropped and the next truncation simply passes through: the
// record is searched linearly, which is the fastest way for the few pages a commit adds.
constexpr std::size_t kMaxRemembered = 64;

struct Cache {
    sqlite3_pcache* inner = nullptr;
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

void Truncate(sqlite3_pcache* cache, unsigned limit) {
    Cache* c = Of(cache);
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

}  // namespace kizuna::storage::sqlite
