#pragma once
// SQLite's own page cache, with a commit that does not sweep the whole cache.
//
// Why: at the end of every write transaction SQLite drops the cached pages beyond the
// database's end (sqlite3PcacheTruncate). Its page cache knows only the largest page number it
// has ever held since the last such call, and sweeps every hash bucket when that number is far
// past the end. It always is on a database under 1 GiB: when a B-tree split reorders new
// sibling pages, SQLite parks one of them under the page number of the lock-byte page (1 GiB
// into the file) for a moment. So every commit that split a page walked all the writer's
// cached pages (64 MiB, 16,000 pages, a cache miss each): 10 % of the group-commit writer's time
// in bench/README.md, Run 7.
//
// How: every cache is SQLite's default one, wrapped. The wrapper remembers the page numbers at
// or past the database's end as of the previous truncation that enter the cache since (new
// pages, and the parked one until it moves on), and passes a truncation through only when one
// of them may be at or past the new end, or when the end moved down. Otherwise there is nothing
// to drop and the call is skipped. A page the default cache drops on its own stays in the
// record (harmless: the truncation then runs as before).
//
// Thread-safety: install once, before SQLite initializes (connection.cpp does it with the other
// process-wide settings); later, installing is refused and the default cache stays. Each cache
// is used by one connection at a time, as SQLite does.

#include <cstdint>

namespace kizuna::storage::sqlite {

// Installs the wrapped page cache. Returns false (and changes nothing) once SQLite has
// initialized.
bool InstallPageCache();

// For tests: truncations passed to the default cache and skipped, over all caches so far.
struct PageCacheCounters {
    uint64_t truncations_passed = 0;
    uint64_t truncations_skipped = 0;
};
PageCacheCounters PageCacheCountersForTesting();

}  // namespace kizuna::storage::sqlite
