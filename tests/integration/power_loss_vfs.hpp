#pragma once
// A SQLite VFS for tests that simulates a disk with a volatile write cache and can lose power,
// in the manner of SQLite's src/test6.c and LevelDB's fault_injection_test.cc.
//
// It wraps a real VFS (unix-excl by default): every operation reaches the real files, so SQLite
// and the storage run as they do in production. Beside that it keeps, per file, the bytes the
// disk is known to hold (as of the file's last sync) and the writes and truncations made since.
// When the power goes (at a chosen operation), it works out what the disk holds, per file, from
// the writes not yet synced cut into 512-byte sectors: the disk wrote them in the order issued
// and stopped somewhere, or newest first and stopped somewhere (a later write landed, an earlier
// one did not), or each write on its own landed whole, was lost, or was torn (a prefix or a
// suffix of its sectors, or sector by sector with some sectors turned to garbage); the last
// sector of a cut may be garbage too. A file created since its directory was synced may be
// gone. From then on every write, truncation, sync and deletion fails with an I/O error,
// so nothing more can be made durable, and the test reads the disk's state (DiskAfterCrash) to
// reopen it with the normal code.
//
// A sync of a file through any handle makes every write to that file durable, whichever handle
// made it (as fdatasync does for a file). A file's first sync also makes its directory entry
// durable (as SQLite's unix VFS does for the log and journals it creates). Shared memory (the
// wal-index) goes to the base VFS untouched: it does not survive a power loss anyway.
//
// Thread-safety: every method, and every file operation, from any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite/vfs_shim.hpp"

namespace kizuna::storage::sqlite::testing {

class PowerLossVfs {
  public:
    // When the power goes: at the `ordinal`-th operation that changes a file (write, truncate,
    // sync, delete; counted from 1), or `then` operations after the `ordinal`-th write of a log
    // header (a write at offset 0 of a -wal file: the log starts or restarts) or of a write to
    // a main database file (only checkpoints write there). The operation at the crash point
    // itself does not happen.
    struct Plan {
        enum class After { kOperation, kLogHeaderWrite, kDatabaseWrite };
        After after = After::kOperation;
        uint64_t ordinal = 0;  // 0: never
        uint64_t then = 0;
        uint64_t seed = 1;  // chooses the fate of every write not yet synced
    };
    struct Counters {
        uint64_t operations = 0;  // writes, truncations, syncs, deletions
        uint64_t syncs = 0;
        uint64_t log_header_writes = 0;
        uint64_t database_writes = 0;
        // Writes of log frames while a new log header was not synced yet. SQLite syncs the
        // header before the frames of a restarted log overwrite the old ones (wal.c, ticket
        // ff5be73dee): otherwise a power cut can leave the old header valid over partly
        // overwritten frames, and recovery replays old pages over newer ones.
        uint64_t frames_before_header_synced = 0;
    };
    // Where the crash fell.
    struct CrashSite {
        uint64_t operation = 0;
        // Writes to the database file not yet synced, or the crash was one of them or its sync:
        // a checkpoint was copying the log into the database.
        bool during_checkpoint = false;
        // A log header was written within the last few operations, or is not synced yet.
        bool during_log_restart = false;
        uint64_t unsynced_writes = 0;  // over every file, at the crash
    };

    // Registers the VFS (under a name of its own, never as the default) over `base`. Each sync
    // takes `sync_time`, as a disk's would: writes made meanwhile are not covered by it.
    explicit PowerLossVfs(const std::string& base = "unix-excl",
                          std::chrono::microseconds sync_time = std::chrono::microseconds(0));
    ~PowerLossVfs();  // unregisters; no connection may still use it
    PowerLossVfs(const PowerLossVfs&) = delete;
    PowerLossVfs& operator=(const PowerLossVfs&) = delete;

    const char* name() const { return name_.c_str(); }
    sqlite3_vfs* base() const { return base_; }

    void CrashAt(const Plan& plan);
    bool crashed() const;
    CrashSite crash_site() const;
    Counters counters() const;
    // After the crash: what the disk holds, file path -> content, for the files that exist.
    std::map<std::string, std::string> DiskAfterCrash() const;

    // Called before each sync of a log file goes on, outside the VFS's lock (it may block);
    // a non-zero result fails the sync with that SQLite code. nullptr: none.
    void SetLogSyncHook(std::function<int()> hook);

    // For the file methods (power_loss_vfs.cpp).
    struct FileState;
    struct File;
    int OpenFile(const char* name, File* file, int flags, int* out_flags);
    int Change(File* file, int kind, const void* data, int amount, int64_t offset);
    int Remove(const char* name, int sync_dir);
    int LogSyncHook();

  private:
    bool CrashNow(const File& file, int kind, int64_t offset);
    void LoseThePower(const File& file, int kind);

    std::string name_;
    std::unique_ptr<ShimVfs> shim_;
    std::unique_ptr<sqlite3_vfs> vfs_;
    sqlite3_vfs* base_;
    const std::chrono::microseconds sync_time_;

    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<FileState>> files_;
    Plan plan_;
    uint64_t crash_at_ = 0;  // the operation that does not happen; 0: not yet known
    bool crashed_ = false;
    CrashSite site_;
    Counters counters_;
    uint64_t last_log_header_operation_ = 0;
    std::map<std::string, std::string> disk_after_crash_;
    std::function<int()> log_sync_hook_;
    std::mutex hook_mutex_;
};

}  // namespace kizuna::storage::sqlite::testing
