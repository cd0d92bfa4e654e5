#pragma once
// The storage's own handle of a database's write-ahead log, used only to make durable what the
// writer connection has written to the log (xSync), from a thread other than the writer's.
//
// Why a handle of its own: SQLite's file objects are used by one connection at a time, and the
// writer keeps writing the next batch while the answerer thread waits for the disk. Both handles
// name the same file, and a sync makes the file's written content durable whichever handle wrote
// it (fdatasync(2) on Linux: "all modified in-core data of the file"). The handle is opened
// through the connection's own VFS, so every layer of it (the write buffer; a test's power-loss
// VFS) sees the sync.
//
// Thread-safety: one thread at a time. Ownership: close it before the VFS it came from.

#include <memory>
#include <string>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_file;
struct sqlite3_vfs;

namespace kizuna::storage::sqlite {

class LogSync {
  public:
    // Opens the log of `db`'s main database through `db`'s VFS, and syncs the directory that
    // holds it and the database, so that both files' entries are durable. The log must exist
    // (the connection has run a transaction in WAL mode). Errors: kUnavailable.
    static core::Result<std::unique_ptr<LogSync>> Open(sqlite3* db);
    ~LogSync();
    LogSync(const LogSync&) = delete;
    LogSync& operator=(const LogSync&) = delete;

    // Makes everything written to the log so far durable. Returns SQLite's result code
    // (SQLITE_OK on success).
    int Sync();

  private:
    LogSync() = default;

    sqlite3_vfs* vfs_ = nullptr;
    std::string path_;              // with the extra NUL that SQLite's own file names carry
    std::unique_ptr<char[]> file_;  // vfs_->szOsFile bytes: the sqlite3_file
    bool open_ = false;
};

}  // namespace kizuna::storage::sqlite
