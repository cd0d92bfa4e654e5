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
// Thread-safety: registration is once per process and safe from any thread. A file object is
// used by one connection at a time, as SQLite does with every file.

namespace kizuna::storage::sqlite {

// The name of the VFS to pass to sqlite3_open_v2, registered on first call; nullptr (the
// default VFS) if it could not be registered.
const char* WalWriteBufferVfs();

}  // namespace kizuna::storage::sqlite
