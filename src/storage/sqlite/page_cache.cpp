#include "storage/sqlite/page_cache.hpp"

#include <algorithm>
#include <atomic>
#include <new>
#include <utility>
#include <vector>

namespace kizuna::storage::sqlite {
namespace {

sqlite3_pcache_methods2 inner_methods{};

// One cache (one connection's database, or a temporary one). Used by one thread at a time, as
// SQLite uses the cache it wraps.
struct Cache {
    sqlite3_pcache* inner = nullptr;
    // No page was created under a larger key since the last truncation that removed larger ones.
    unsigned max_created = 0;
    // Pages rekeyed to a key above max_created (at the time), with that key. Stale entries (a
    // page the inner cache recycled meanwhile) only make a truncation be passed on.
    std::vector<std::pair<sqlite3_pcache_page*, unsigned>> parked;

    void Forget(sqlite3_pcache_page* page) {
        std::erase_if(parked, [&](const auto& entry) { return entry.first == page; });
    }
    bool MayHoldFrom(unsigned limit) const {
        if (limit <= max_created) return true;
        return std::any_of(parked.begin(), parked.end(),
                           [&](const auto& entry) { return entry.second >= limit; });
    }
};

Cache* Of(sqlite3_pcache* cache) { return reinterpret_cast<Cache*>(cache); }

int Init(void*) {
    return inner_methods.xInit != nullptr ? inner_methods.xInit(inner_methods.pArg) : SQLITE_OK;
}

void Shutdown(void*) {
    if (inner_methods.xShutdown != nullptr) inner_methods.xShutdown(inner_methods.pArg);
}

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
    auto* cache = new (std::nothrow) Cache;
    if (cache == nullptr) return nullptr;
    cache->inner = inner_methods.xCreate(page_size, extra_size, purgeable);
    if (cache->inner == nullptr) {
        delete cache;
        return nullptr;
    }
    return reinterpret_cast<sqlite3_pcache*>(cache);
}

void Cachesize(sqlite3_pcache* cache, int pages) {
    inner_methods.xCachesize(Of(cache)->inner, pages);
}

int Pagecount(sqlite3_pcache* cache) { return inner_methods.xPagecount(Of(cache)->inner); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* cache, unsigned key, int create) {
    Cache& c = *Of(cache);
    sqlite3_pcache_page* page = inner_methods.xFetch(c.inner, key, create);
    // Without create, a page returned is one already held under `key`, so already bounded.
    if (page != nullptr && create != 0) {
        c.max_created = std::max(c.max_created, key);
        if (!c.parked.empty()) c.Forget(page);  // it may be a recycled parked page
    }
    return page;
}

void Unpin(sqlite3_pcache* cache, sqlite3_pcache_page* page, int discard) {
    Cache& c = *Of(cache);
    if (discard != 0 && !c.parked.empty()) c.Forget(page);
    inner_methods.xUnpin(c.inner, page, discard);
}

void Rekey(sqlite3_pcache* cache, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
    Cache& c = *Of(cache);
    inner_methods.xRekey(c.inner, page, old_key, new_key);
    if (!c.parked.empty()) c.Forget(page);
    if (new_key > c.max_created) c.parked.emplace_back(page, new_key);
}

void Truncate(sqlite3_pcache* cache, unsigned limit) {
    Cache& c = *Of(cache);
    if (!c.MayHoldFrom(limit)) return;  // no page has a key >= limit: nothing to drop
    inner_methods.xTruncate(c.inner, limit);
    c.max_created = limit == 0 ? 0 : std::min(c.max_created, limit - 1);
    std::erase_if(c.parked, [&](const auto& entry) { return entry.second >= limit; });
}

void Destroy(sqlite3_pcache* cache) {
    Cache* c = Of(cache);
    inner_methods.xDestroy(c->inner);
    delete c;
}

void Shrink(sqlite3_pcache* cache) { inner_methods.xShrink(Of(cache)->inner); }

// pArg is the default cache's (none); xInit passes it on.
const sqlite3_pcache_methods2 kMethods = {1,         nullptr,   Init,  Shutdown, Create,
                                          Cachesize, Pagecount, Fetch, Unpin,    Rekey,
                                          Truncate,  Destroy,   Shrink};
std::atomic<bool> installed_{false};

}  // namespace

void InstallPageCache() {
    static const bool installed = [] {
        if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner_methods) != SQLITE_OK) return false;
        if (inner_methods.xCreate == nullptr) return false;
        return sqlite3_config(SQLITE_CONFIG_PCACHE2, &kMethods) == SQLITE_OK;
    }();
    installed_ = installed;
}

const sqlite3_pcache_methods2* InstalledPageCache() { return installed_ ? &kMethods : nullptr; }

}  // namespace kizuna::storage::sqlite
