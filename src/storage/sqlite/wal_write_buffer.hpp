#pragma once
// A SQLite VFS that coalesces the writes to write-ahead log files, so that a commit of N pages
// costs a handful of write system calls instead of 2N. It drops or delays no sync: every xSync
// SQLite asks for reaches the base VFS, after the buffered bytes. Asked to (SyncDatabaseEvery),
// it adds syncs of one connection's database file while a checkpoint copies into it.
//
// Why: SQLite appends each log frame with two pwrite calls (the 24-byte frame header, then the
// page). A group commit of a few hundred purchases dirties a few hundred pages, and on this
// project's virtual machines a system call costs microseconds of exit overhead: the profile of
// the group-commit writer showed half of its time in those pwrites.
//
// How: every file goes through the base VFS unchanged, except the log files (opened with
// SQLITE_OPEN_WAL). On those, contiguous writes collect in a buffer that goes to the base file
// when the next operation is anything but a contiguous write (a read, a sync, a truncate, a
// size query, a file control, close), when the buffer is full, and as soon as the buffer holds
// a whole commit frame. A commit frame is recognized from the log's documented file format
// (https://www.sqlite.org/fileformat2.html#walformat): a frame header, at a frame boundary,
// whose "database size after commit" field is not zero. So the base file holds every frame of a
// transaction once its commit frame is written, which is before SQLite publishes the commit to
// other connections and before the storage syncs the log through another handle (log_sync.hpp).
//
// Ownership: the storage owns one WalWriteBuffer, registered under a name of its own over the
// base VFS it was given, and opens its connections with that name; it must outlive them.
// Nothing becomes a process-wide default. Thread-safety: creation and destruction from any
// thread; a file object is used by one connection at a time, as SQLite does with every file.

#include <atomic>
#include <memory>
#include <string>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_vfs;

namespace kizuna::storage::sqlite {

struct ShimVfs;

class WalWriteBuffer {
  public:
    // Registers the buffering VFS over the VFS named `base` ("unix-excl" in production).
    // Errors: kUnavailable when `base` is not registered or too old (VFS version < 2).
    static core::Result<std::unique_ptr<WalWriteBuffer>> Create(const std::string& base);
    ~WalWriteBuffer();  // unregisters; no connection may still use it
    WalWriteBuffer(const WalWriteBuffer&) = delete;
    WalWriteBuffer& operator=(const WalWriteBuffer&) = delete;

    // The name to pass to sqlite3_open_v2.
    const char* name() const { return name_.c_str(); }

    // Writes what connection `db`'s log file still has buffered (when opened through a
    // WalWriteBuffer) to the file, so that a sync through another handle covers it whatever
    // order SQLite wrote the commit frame's parts in. Returns SQLite's result code. Call it on
    // the connection's thread, between its statements.
    static int FlushLog(sqlite3* db);

    // From now on, connection `db`'s database file (opened through a WalWriteBuffer) is synced
    // each time `bytes` have been written to it since its last sync (0: only when SQLite syncs
    // it). In WAL mode only checkpoints write the database, and SQLite syncs it once, at the end
    // of a checkpoint that copied the whole log: what the copy wrote until then reaches the
    // disk in one burst, which every log sync issued meanwhile waits behind. In slices, a log
    // sync waits for one slice at most. A sync more than SQLite asks for changes nothing SQLite
    // relies on. Returns SQLITE_OK, or SQLITE_NOTFOUND when `db` is not a WalWriteBuffer's.
    // Call it on the connection's thread.
    static int SyncDatabaseEvery(sqlite3* db, int bytes);

  private:
    WalWriteBuffer() = default;

    std::string name_;
    std::unique_ptr<ShimVfs> shim_;
    std::unique_ptr<sqlite3_vfs> vfs_;
    // The result code of the first failed sync of a database file opened through this VFS, 0
    // while none has; every later one fails with it (wal_write_buffer.cpp, SyncDatabase). The
    // shim's own state: its files find it through ShimVfs::owner.
    std::atomic<int> database_sync_error_{0};
};

}  // namespace kizuna::storage::sqlite
