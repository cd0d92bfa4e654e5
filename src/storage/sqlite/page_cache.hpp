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
// Read connections keep their pages across transactions. SQLite empties a connection's whole
// page cache when a read transaction starts and the log has changed since the connection's
// previous one (pager_reset): with purchases being written, every usage read then started cold
// and read each page again from the file, 31 % of the I/O threads' time in the 80/20 mix
// (bench/README.md, after Run 9). Inside a ReadTransactionScope, that emptying drops only the
// pages that log frames committed since the connection's previous transaction hold (the
// wal-index names them, wal_index.hpp), and pages past the database's end. It falls back to
// emptying everything when it cannot tell: the first transaction, the log restarted (a new
// salt), too many frames in between, or the index out of reach.
//
// Why that is exact: the cached pages are the versions as of the previous snapshot, taken at or
// after the header read before that transaction began (`since`). A page whose version changed
// between that snapshot and the new one has a frame in between, and the frames checked run from
// `since` up to a header read after the new snapshot was taken, in the same log generation
// (checked before and after the walk). Checkpoints copy frames into the database without
// changing any page's content.
//
// Thread-safety: install once, before SQLite initializes (connection.cpp does it with the other
// process-wide settings); later, installing is refused and the default cache stays. Each cache
// is used by one connection at a time, as SQLite does.

#include <atomic>
#include <cstdint>
#include <optional>

#include "storage/sqlite/wal_index.hpp"

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

// What a read connection's cache is known to hold; one per read connection, used by one thread
// at a time (the connection's). The counters may be read from any thread.
struct ReaderCacheState {
    const void* cache = nullptr;  // the connection's main database cache, once seen
    // The header read before the connection's last transaction that began on a changed log;
    // what the cache holds is as of that header or later. None when unknown: the next
    // transaction on a changed log then empties the cache.
    std::optional<WalIndex::Header> since;

    // Read transactions that began on a changed log: the cache kept (minus the changed pages)
    // or emptied; pages dropped as changed.
    std::atomic<uint64_t> kept{0};
    std::atomic<uint64_t> emptied{0};
    std::atomic<uint64_t> pages_dropped{0};
};

// Marks the calling thread as running a read transaction of the connection that `state` and
// `wal` belong to, from before its BEGIN to after its end. Not nestable.
class ReadTransactionScope {
  public:
    ReadTransactionScope(ReaderCacheState& state, WalIndex& wal);
    ~ReadTransactionScope();
    ReadTransactionScope(const ReadTransactionScope&) = delete;
    ReadTransactionScope& operator=(const ReadTransactionScope&) = delete;

    ReaderCacheState& state;
    WalIndex& wal;
    std::optional<WalIndex::Header> before;  // read before BEGIN, when the index was reachable
};

}  // namespace kizuna::storage::sqlite
