#pragma once
// A SQLite VFS that coalesces the writes to write-ahead log files, so that a commit of N pages
// costs a handful of write system calls instead of 2N.
//
// Why: SQLite appends each log frame with two pwrite calls (the 24-byte frame header, then the
// page). A group commit of a few hundred purchases dirties a few hundred pages, and on this
// project's virtual machines a system call costs microseconds of exit overhead: the profile of
// the group-commit writer showed half of its time in those pwrites (bench/README.md).
//
// Over "unix-excl": the process that opens a database holds it with one exclusive lock, its
// connections coordinate in memory and the log's index lives on the heap. A read transaction
// then costs no fcntl system call (it took one or two, and the writer's commits more; figures
// in bench/README.md, "unix-excl"). The price: no
// other process can open the database while the hub has it, which also stops a second hub
// on the same data directory. Where "unix-excl" is missing, the default VFS is used.
//
// How: every file goes through the base VFS unchanged, except the log files (opened with
// SQLITE_OPEN_WAL). On those, contiguous writes collect in a buffer that goes to the file in
// one pwrite when the next operation is anything but a contiguous write (a read, a sync, a
// truncate, a size query, a file control, close), when the buffer is full, and right after
// the page of a commit frame. So the file holds every frame before SQLite syncs it, before it
// publishes the commit to readers (which happens after the commit frame is written), and
// before anything reads the file back: durability and what readers see do not change.
//
// Deferred log syncs (a pipelined group commit): with synchronous=FULL, a commit ends with an
// fdatasync of the log, and the writer thread waited for the disk (1-2 ms a batch, 40 % of its
// time in bench/README.md, Run 7) before it could start the next batch. Inside a
// DeferLogSyncs scope, a sync that SQLite asks of a log file on that thread writes the
// buffered frames to the file but does not wait for the disk: it leaves a LogSync owed
// instead, and the writer hands that to another thread, which syncs and only then acknowledges
// the batch. Meanwhile SQLite has published the commit: readers and the next batch see it before
// it is durable. That is safe for what is acknowledged: a log is replayed after a crash only as
// a prefix of whole, checksummed commits, so a later commit is never durable without every
// earlier one, and a write is acknowledged only after a sync that started after its commit. A
// kill -9 loses nothing written to the file; only a power cut or an operating system crash can
// lose a commit that was seen but not yet acknowledged. Syncs that SQLite needs before it
// copies the log into the database (checkpoints) are never deferred: they run outside the scope,
// or on another thread. The first sync of each log file is never deferred either, since it also
// makes the file's directory entry durable.
//
// Thread-safety: registration is once per process and safe from any thread. A file object is
// used by one connection at a time, as SQLite does with every file. A LogSync may be used from
// any thread, at the same time as the file is written.

#include <memory>

namespace kizuna::storage::sqlite {

// The name of the VFS to pass to sqlite3_open_v2, registered on first call; nullptr (the
// default VFS) if it could not be registered.
const char* WalWriteBufferVfs();

// A log file's own descriptor, kept only to make what was written to the file durable from
// another thread. Closed when the file and every owed sync are gone.
class LogSync {
  public:
    explicit LogSync(int fd) : fd_(fd) {}
    ~LogSync();
    LogSync(const LogSync&) = delete;
    LogSync& operator=(const LogSync&) = delete;
    // Makes everything written to the file so far durable (fdatasync). Returns 0, or the errno.
    int Sync() const;

  private:
    const int fd_;
};

// Defers the log syncs SQLite asks for on this thread while it lives (see above). Not nested.
class DeferLogSyncs {
  public:
    DeferLogSyncs();
    ~DeferLogSyncs();
    DeferLogSyncs(const DeferLogSyncs&) = delete;
    DeferLogSyncs& operator=(const DeferLogSyncs&) = delete;
    // The sync still owed for the log written in this scope, or nullptr if none was deferred.
    const std::shared_ptr<const LogSync>& owed() const { return owed_; }
    void Owe(std::shared_ptr<const LogSync> sync) { owed_ = std::move(sync); }

  private:
    std::shared_ptr<const LogSync> owed_;
};

// For tests: while set, LogSync::Sync calls this instead of fdatasync (to delay a sync, count
// syncs or make one fail). Pass nullptr to clear. Not for use while syncs are in flight.
void SetLogSyncHookForTesting(int (*hook)(int fd));

}  // namespace kizuna::storage::sqlite
