#pragma once
// The embedded SQLite backend of Storage: one file in WAL mode, one writer thread that
// group-commits, and a pool of read-only connections.
//
// Writes: Write() queues its unit of work and blocks until the unit's fate is durable. The
// writer thread runs the units waiting in one transaction as they come (at most
// StorageOptions::max_batch in one) and commits: one commit and one log sync for the whole batch.
// A failing unit is rolled back alone: units run without savepoints, and when one fails after
// writing, the batch is rolled back and run again with a savepoint per unit. If the commit
// fails, every unit of the batch fails with kUnavailable. WriteAsync queues the same way and
// calls back on the answerer thread instead of blocking a thread.
// Pipelined commit: the writer's connection runs with synchronous=NORMAL, so its COMMIT writes
// the log and returns without waiting for the disk (SQLite still syncs the log's header when the
// log restarts, and around checkpoints). The writer hands each committed batch's outcomes to the
// answerer thread, which syncs the log once (LogSync) for all it has been handed and only then
// answers them. While a sync is under way, the writer keeps its next batch open and runs the
// units that arrive; it commits when the sync ends (or at max_batch), so a slow disk makes
// batches larger, not more frequent, and an idle one commits at once. A batch that has grown as
// large as the one being synced commits without waiting, its sync queued behind the running one,
// so that the commit's work overlaps the disk's; at most one commit waits ahead like this.
// A failed sync fails every unit not yet answered and every later write with kUnavailable until
// the storage is reopened: after such a failure the operating system may have dropped frames,
// and nothing built on them may be acknowledged.
// The durability contract, and what it rests on, is in src/storage/README.md ("Durability");
// tests/integration/sqlite_power_loss_test.cpp proves it by cutting the power at hundreds of
// points.
// Checkpoints: the writer does not copy the write-ahead log back into the database itself
// (SQLite's auto-checkpoint would, at a commit, on the write path). A checkpointer thread with
// its own connection does it beside the writer every StorageOptions::checkpoint_pages pages of
// log; the writer only finishes the last few frames itself when the log has grown past
// log_restart_pages, so that the log can restart from its beginning instead of growing without
// end. The checkpointer's copy into the database is synced every StorageOptions::
// checkpoint_sync_bytes, so that
// the sync SQLite makes at the end of the writer's stretch covers little more than that stretch.
// Reads: Read() leases one of StorageOptions::read_connections connections (waiting if all are
// busy) and runs its function in a read transaction; in WAL mode readers never wait for the
// writer.
//
// Ownership: SqliteStorage owns its VFS, its connections and its threads; destroying it
// finishes the queued writes, stops the threads and closes the database. It must outlive every
// call. Thread-safety: all public methods are safe to call from any number of threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/log_sync.hpp"
#include "storage/sqlite/wal_write_buffer.hpp"
#include "storage/storage.hpp"

namespace kizuna::storage::sqlite {

class SqliteStorage final : public Storage {
  public:
    // Opens (creating and migrating as needed) the database at `location`.
    // Errors: kInvalidArgument for options out of range; kUnavailable when the database cannot
    // be opened, configured or migrated (including a schema newer than this binary).
    static Result<std::unique_ptr<SqliteStorage>> Open(const DatabaseLocation& location,
                                                       const StorageOptions& options);
    // Opens a fresh, private database that lives only as long as the returned storage (for
    // "sqlite::memory:"): a WAL file in a new directory on a RAM file system (/dev/shm) when
    // there is one, else under $TMPDIR or /tmp, without fsync, removed on destruction. It
    // behaves exactly like a file database (readers beside the writer, group commit), which
    // SQLite's in-memory databases cannot: they lock readers out during every write.
    // Errors: as Open, and kUnavailable when no temporary directory can be made.
    static Result<std::unique_ptr<SqliteStorage>> OpenTemporary(const StorageOptions& options);
    ~SqliteStorage() override;

    Status Write(const std::function<Status(WriteTxn&)>& work) override;
    void WriteAsync(std::function<Status(WriteTxn&)> work, WriteDone done) override;
    Status Read(const std::function<Status(ReadTxn&)>& work) override;
    // A read on a connection of its own, opened for the backup; defined in backup.cpp.
    Result<BackupInfo> Backup(const std::string& path, const BackupProgress& progress) override;
    std::optional<Status> TryRead(const std::function<Status(ReadTxn&)>& work) override;
    std::string_view BackendName() const override { return "sqlite"; }
    StorageStats Stats() const override;

  private:
    struct WriteUnit;
    // What OpenConnections opens, in the order it must be closed in reverse.
    struct Opened {
        std::unique_ptr<WalWriteBuffer> vfs;
        std::unique_ptr<Connection> writer;
        std::unique_ptr<LogSync> log_sync;  // none for a database that is not durable
        std::unique_ptr<Connection> checkpointer;
        std::vector<std::unique_ptr<Connection>> readers;
    };

    SqliteStorage(Opened opened, const StorageOptions& options);
    static Result<std::unique_ptr<SqliteStorage>> OpenConnections(const DatabaseLocation& location,
                                                                  const StorageOptions& options);

    // Queues a unit for the writer; answers it at once with kUnavailable when stopping.
    void Enqueue(WriteUnit unit);
    void WriterLoop();
    // Calls the unit's `done` once, on this thread; a `done` that throws is contained.
    static void Answer(WriteUnit& unit, Status status);
    static void Call(WriteDone& done, Status status);
    // The writer's way to answer: the unit's outcome is set aside (once) and the batch's
    // outcomes go to the answerer thread together, so that waking callers (a futex or a
    // server's event loop each) never delays the next batch.
    void Settle(WriteUnit& unit, Status status);
    void HandOffSettled();
    void AnswererLoop();
    bool LogSyncFailed() const { return log_sync_error_.load() != 0; }
    // Keeps the first failure of a log write or sync; later ones change nothing.
    void RecordLogSyncError(int rc) {
        int none = 0;
        log_sync_error_.compare_exchange_strong(none, rc);
    }
    // What every write gets once a deferred log sync has failed.
    Status LogSyncFailure() const;
    // With queue_mutex_ held: no log sync handed to the answerer is still to finish.
    bool LogFree() const { return syncs_done_ == syncs_handed_; }

    // Called by SQLite on the writer thread after each commit that wrote to the log, with the
    // log's size in pages.
    static int OnWalCommit(void* self, sqlite3* db, const char* schema, int pages);
    void CheckpointerLoop();
    bool CheckpointDue() const;      // with checkpoint_mutex_ held
    bool IdleCheckpointDue() const;  // with checkpoint_mutex_ held

    // The open batch (writer thread). ApplyUnits adds `incoming` to it and runs them in its
    // transaction, beginning one for a new batch; CommitBatch commits it and settles each
    // unit with its own outcome; FailBatch rolls it back and fails every unit with
    // kUnavailable (`why` says what went wrong).
    void ApplyUnits(std::vector<WriteUnit>& incoming);
    void CommitBatch();
    void FailBatch(Status why);
    // Opens the batch's transaction, its units to run in savepoints if `isolated`; fails the
    // batch and returns false when it cannot.
    bool BeginBatch(bool isolated);
    // Settles every unit of the batch with its own outcome, or with `batch_error` when the
    // whole batch failed; counts them and empties the batch.
    void EndBatch(const core::Error* batch_error);
    enum class Run {
        kDone,
        kRerunIsolated,  // a unit failed after writing, with no savepoint to undo it alone
        kBroken,         // the transaction can no longer be trusted or was lost
    };
    // Runs the batch's units from `first` on, each in a savepoint if batch_isolated_.
    Run RunUnits(std::size_t first);
    // Runs one unit inside a savepoint. Sets `transaction_broken` when the enclosing
    // transaction can no longer be trusted (a savepoint could not be rolled back or released,
    // or SQLite rolled the whole transaction back after an I/O error).
    Status RunUnit(WriteUnit& unit, bool& transaction_broken);

    Connection* AcquireReader();
    Connection* TryAcquireReader();  // null when none is free
    // Runs `work` in a read transaction on `reader`, then releases it.
    Status ReadOn(Connection* reader, const std::function<Status(ReadTxn&)>& work);
    void ReleaseReader(Connection* reader);

    const std::size_t max_batch_;
    const int checkpoint_pages_;
    const int log_restart_pages_;
    const std::chrono::milliseconds idle_checkpoint_;
    std::filesystem::path temporary_directory_;  // removed on destruction when set

    // Declared first, destroyed last: every connection and the log handle go through it.
    std::unique_ptr<WalWriteBuffer> vfs_;
    std::unique_ptr<Connection> writer_;  // used by the writer thread only
    // The log's own handle, synced by the answerer thread only; nullptr when not durable.
    std::unique_ptr<LogSync> log_sync_;
    // Writer thread only: the last commit wrote to the log (set by OnWalCommit).
    bool log_written_ = false;
    std::mutex queue_mutex_;
    std::condition_variable queue_ready_;
    std::deque<WriteUnit> queue_;
    bool stopping_ = false;
    // Log syncs handed to the answerer, and the last it finished (guarded by queue_mutex_).
    uint64_t syncs_handed_ = 0;
    uint64_t syncs_done_ = 0;
    // Units of the last batch committed (writer thread only): a commit ahead of the running
    // sync waits until the open batch is as large.
    std::size_t units_syncing_ = 0;
    std::thread writer_thread_;
    // The open batch: its units, their outcomes so far, and whether each runs in a savepoint.
    std::vector<WriteUnit> batch_;
    std::vector<Status> batch_results_;
    bool batch_isolated_ = false;

    struct Settled {
        WriteDone done;
        Status status;
    };
    std::vector<Settled> settled_;    // writer thread only
    bool settled_need_sync_ = false;  // writer thread only: a commit of settled_ wrote the log
    std::mutex answers_mutex_;
    std::condition_variable answers_ready_;
    std::vector<Settled> answers_;      // guarded by answers_mutex_
    bool answers_need_sync_ = false;    // guarded by answers_mutex_
    uint64_t answers_sync_number_ = 0;  // guarded by answers_mutex_
    // SQLite's result code of the first log sync that failed, 0 while none has: after one,
    // nothing more may be acknowledged (see the top).
    std::atomic<int> log_sync_error_{0};
    bool answerer_stopping_ = false;
    std::thread answerer_thread_;

    std::unique_ptr<Connection> checkpointer_;  // used by the checkpointer thread only
    std::mutex checkpoint_mutex_;
    std::condition_variable checkpoint_wanted_;
    // Guarded by checkpoint_mutex_: the log's size at the last commit, and at the end of the
    // last checkpoint.
    int wal_pages_ = 0;
    int checkpointed_at_ = 0;
    int backfilled_ = 0;  // log pages copied into the database, as of the last round
    std::chrono::steady_clock::time_point last_commit_at_{};
    int idle_checkpointed_at_ = -1;  // wal_pages_ when the last idle round ran
    bool checkpointer_stopping_ = false;
    std::thread checkpointer_thread_;

    std::vector<std::unique_ptr<Connection>> readers_;
    std::mutex readers_mutex_;
    std::condition_variable reader_free_;
    std::vector<Connection*> free_readers_;

    std::atomic<uint64_t> units_{0};
    std::atomic<uint64_t> failed_units_{0};
    std::atomic<uint64_t> commits_{0};
    std::atomic<uint64_t> failed_commits_{0};
    std::atomic<uint64_t> largest_batch_{0};
    std::atomic<uint64_t> checkpoints_{0};
    std::atomic<uint64_t> log_restarts_{0};
    std::atomic<uint64_t> rerun_batches_{0};
    std::atomic<uint64_t> log_syncs_{0};
    std::atomic<uint64_t> log_sync_micros_{0};
    std::atomic<uint64_t> commits_ahead_{0};
};

}  // namespace kizuna::storage::sqlite
