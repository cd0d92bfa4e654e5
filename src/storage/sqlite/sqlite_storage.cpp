#include "storage/sqlite/sqlite_storage.hpp"

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <future>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/sqlite_txn.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;
using core::MakeError;

struct SqliteStorage::WriteUnit {
    std::function<Status(WriteTxn&)> work;
    WriteDone done;
    bool answered = false;
};

namespace {

// Runs a caller's function, turning any exception it throws into kInternal so that nothing
// escapes into the writer thread or a reader's caller.
template <typename Txn, typename Work>
Status RunGuarded(Txn& txn, const Work& work) {
    try {
        return work(txn);
    } catch (const std::exception& e) {
        return MakeError(ErrorCode::kInternal,
                         std::string("storage unit of work threw: ") + e.what());
    } catch (...) {
        return MakeError(ErrorCode::kInternal, "storage unit of work threw an unknown exception");
    }
}

// The most log pages the writer copies itself to let the log restart (8 MiB). Its copy lands at
// scattered places of the database file and ends with a sync of the database (tens of ms on
// the benchmark's disk); fewer pages did not make that sync shorter.
constexpr int kWriterCheckpointPages = 2000;

void RaiseToAtLeast(std::atomic<uint64_t>& value, uint64_t candidate) {
    uint64_t current = value.load(std::memory_order_relaxed);
    while (current < candidate &&
           !value.compare_exchange_weak(current, candidate, std::memory_order_relaxed)) {
    }
}

}  // namespace

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::Open(const DatabaseLocation& location,
                                                           const StorageOptions& options) {
    return OpenConnections(location, options);
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::OpenTemporary(const StorageOptions& options) {
    std::filesystem::path base = "/dev/shm";
    std::error_code error;
    if (!std::filesystem::is_directory(base, error) || ::access(base.c_str(), W_OK) != 0) {
        const char* tmpdir = std::getenv("TMPDIR");
        base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    }
    std::string pattern = (base / "kizuna-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return MakeError(ErrorCode::kUnavailable,
                         "cannot create a temporary database directory in " + base.string() + ": " +
                             std::strerror(errno));
    }
    std::filesystem::path directory = pattern;
    DatabaseLocation location{(directory / "kizuna.db").string(), /*durable=*/false};
    auto opened = OpenConnections(location, options);
    if (!opened) {
        std::filesystem::remove_all(directory, error);
        return opened.error();
    }
    (*opened)->temporary_directory_ = directory;
    return opened;
}

Result<std::unique_ptr<SqliteStorage>> SqliteStorage::OpenConnections(
    const DatabaseLocation& location, const StorageOptions& options) {
    if (options.read_connections < 1 || options.read_connections > 64) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "read_connections must be between 1 and 64, not " +
                             std::to_string(options.read_connections));
    }
    if (options.idle_checkpoint_ms < 0) {
        return MakeError(ErrorCode::kInvalidArgument, "idle_checkpoint_ms must not be negative");
    }
    if (options.checkpoint_pages < 1 || options.log_restart_pages < options.checkpoint_pages) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "checkpoint_pages must be at least 1 and log_restart_pages at least "
                         "checkpoint_pages");
    }
    if (options.checkpoint_sync_bytes < 0) {
        return MakeError(ErrorCode::kInvalidArgument, "checkpoint_sync_bytes must not be negative");
    }
    if (options.max_batch < 1) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "max_batch must be at least 1, not " + std::to_string(options.max_batch));
    }
    // Storages of one process opening the same new file at once made the late ones fail as
    // "another process has it open" (1 start in 7 of a test opening four hubs together):
    // switching a new file to WAL upgrades its lock, and SQLite refuses an upgrade that could
    // deadlock instead of waiting for it. Opening, configuring and migrating are rare, so a
    // process does them one storage at a time; another process is still refused at once.
    static std::mutex opening;
    std::lock_guard opening_lock(opening);
    // Members of `opened` close in the reverse of this order if a later step fails.
    Opened opened;
    KZ_ASSIGN_OR_RETURN(opened.vfs, WalWriteBuffer::Create(location.base_vfs));
    const char* vfs = opened.vfs->name();
    KZ_ASSIGN_OR_RETURN(opened.writer, Connection::Open(location, Connection::Role::kWriter, vfs));
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    KZ_RETURN_IF_ERROR(Migrate(*opened.writer, now));
    // The log exists now: the writer has run a transaction in WAL mode.
    if (location.durable) {
        KZ_ASSIGN_OR_RETURN(opened.log_sync, LogSync::Open(opened.writer->handle()));
    }
    KZ_ASSIGN_OR_RETURN(opened.checkpointer,
                        Connection::Open(location, Connection::Role::kCheckpointer, vfs));
    if (location.durable) {
        // SQLite syncs the database only at the end of a checkpoint that copied the whole log,
        // which under load is the writer's last stretch before the log restarts: that sync
        // wrote out everything the checkpointer had copied during the log's cycle (tens of MiB
        // of scattered pages) while every purchase waited for the writer, and every log sync
        // issued meanwhile queued behind it on the disk. In slices, neither waits for more than
        // one (src/storage/README.md, "Checkpoints").
        if (const int rc = WalWriteBuffer::SyncDatabaseEvery(opened.checkpointer->handle(),
                                                             options.checkpoint_sync_bytes);
            rc != SQLITE_OK) {
            return MakeError(
                ErrorCode::kUnavailable,
                std::string("cannot set the checkpointer's database syncs: ") + sqlite3_errstr(rc));
        }
    }
    for (int i = 0; i < options.read_connections; ++i) {
        KZ_ASSIGN_OR_RETURN(auto reader,
                            Connection::Open(location, Connection::Role::kReader, vfs));
        opened.readers.push_back(std::move(reader));
    }
    return std::unique_ptr<SqliteStorage>(new SqliteStorage(std::move(opened), options));
}

SqliteStorage::SqliteStorage(Opened opened, const StorageOptions& options)
    : max_batch_(static_cast<std::size_t>(options.max_batch)),
      checkpoint_pages_(options.checkpoint_pages),
      log_restart_pages_(options.log_restart_pages),
      idle_checkpoint_(std::chrono::milliseconds(options.idle_checkpoint_ms)),
      vfs_(std::move(opened.vfs)),
      writer_(std::move(opened.writer)),
      log_sync_(std::move(opened.log_sync)),
      checkpointer_(std::move(opened.checkpointer)),
      readers_(std::move(opened.readers)) {
    for (auto& reader : readers_) free_readers_.push_back(reader.get());
    // Replaces SQLite's auto-checkpoint on the writer (a hook of our own turns it off).
    sqlite3_wal_hook(writer_->handle(), &SqliteStorage::OnWalCommit, this);
    // Named, so that top -H and profiles tell them apart from the server's threads.
    checkpointer_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "kz-checkpoint");
        CheckpointerLoop();
    });
    answerer_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "kz-answer");
        AnswererLoop();
    });
    writer_thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "kz-writer");
        WriterLoop();
    });
}

SqliteStorage::~SqliteStorage() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_ready_.notify_all();
    writer_thread_.join();
    {
        std::lock_guard lock(answers_mutex_);
        answerer_stopping_ = true;
    }
    answers_ready_.notify_all();
    answerer_thread_.join();
    {
        std::lock_guard lock(checkpoint_mutex_);
        checkpointer_stopping_ = true;
    }
    checkpoint_wanted_.notify_all();
    checkpointer_thread_.join();
    // Leave the database whole in its main file, as SQLite's own last close would.
    (void)sqlite3_wal_checkpoint_v2(writer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                    nullptr);
    if (temporary_directory_.empty()) return;
    // Close every connection before the files go.
    free_readers_.clear();
    readers_.clear();
    checkpointer_.reset();
    log_sync_.reset();
    writer_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(temporary_directory_, ignored);
}

Status SqliteStorage::Write(const std::function<Status(WriteTxn&)>& work) {
    if (std::this_thread::get_id() == writer_thread_.get_id()) {
        // A unit of work that calls Write would wait for the thread that runs it, forever.
        return MakeError(ErrorCode::kInternal,
                         "Storage::Write called from inside a unit of work; do all of its writes "
                         "through the WriteTxn it was given");
    }
    std::promise<Status> outcome;
    std::future<Status> result = outcome.get_future();
    // `work` outlives the unit: this thread waits below until the unit has been answered.
    Enqueue({[&work](WriteTxn& txn) { return work(txn); },
             [&outcome](Status status) { outcome.set_value(std::move(status)); }});
    return result.get();
}

void SqliteStorage::WriteAsync(std::function<Status(WriteTxn&)> work, WriteDone done) {
    if (std::this_thread::get_id() == writer_thread_.get_id()) {
        done(MakeError(ErrorCode::kInternal,
                       "Storage::WriteAsync called from inside a unit of work or a completion"));
        return;
    }
    Enqueue({std::move(work), std::move(done)});
}

void SqliteStorage::Enqueue(WriteUnit unit) {
    bool queued = false;
    {
        std::lock_guard lock(queue_mutex_);
        if (!stopping_) {
            queue_.push_back(std::move(unit));
            queued = true;
        }
    }
    if (!queued) {
        Answer(unit, MakeError(ErrorCode::kUnavailable, "storage is shutting down"));
        return;
    }
    queue_ready_.notify_one();
}

void SqliteStorage::Answer(WriteUnit& unit, Status status) {
    if (unit.answered) return;
    unit.answered = true;
    Call(unit.done, std::move(status));
}

void SqliteStorage::Call(WriteDone& done, Status status) {
    try {
        done(std::move(status));
    } catch (...) {
        // A completion that throws has lost its own answer; the batch-mates still get theirs.
    }
}

void SqliteStorage::Settle(WriteUnit& unit, Status status) {
    if (unit.answered) return;
    unit.answered = true;
    settled_.push_back({std::move(unit.done), std::move(status)});
}

void SqliteStorage::HandOffSettled() {
    if (settled_.empty()) return;
    uint64_t sync_number = 0;
    if (settled_need_sync_) {
        std::lock_guard lock(queue_mutex_);
        sync_number = ++syncs_handed_;
    }
    {
        std::lock_guard lock(answers_mutex_);
        if (answers_.empty()) {
            answers_.swap(settled_);
        } else {
            for (Settled& answer : settled_) answers_.push_back(std::move(answer));
        }
        // One sync of the log covers every commit written to it before the sync starts.
        if (settled_need_sync_) {
            answers_need_sync_ = true;
            answers_sync_number_ = sync_number;
        }
    }
    settled_.clear();
    settled_need_sync_ = false;
    answers_ready_.notify_one();
}

Status SqliteStorage::LogSyncFailure() const {
    return MakeError(ErrorCode::kUnavailable,
                     std::string("the write-ahead log could not be made durable (fdatasync: ") +
                         sqlite3_errstr(log_sync_error_.load()) +
                         "); this hub accepts no more writes until it is restarted");
}

void SqliteStorage::AnswererLoop() {
    std::vector<Settled> answering;
    bool need_sync = false;
    uint64_t sync_number = 0;
    while (true) {
        {
            std::unique_lock lock(answers_mutex_);
            answers_ready_.wait(lock, [this] { return answerer_stopping_ || !answers_.empty(); });
            // Stopping still answers everything handed over.
            if (answers_.empty()) return;
            answering.swap(answers_);
            need_sync = std::exchange(answers_need_sync_, false);
            sync_number = answers_sync_number_;
        }
        // Every answer taken waits for this sync, even one whose own batch wrote nothing: its
        // outcome (a replayed receipt, a refusal) may rest on a commit the sync makes durable.
        if (need_sync) {
            if (!LogSyncFailed()) {
                log_syncs_.fetch_add(1, std::memory_order_relaxed);
                const auto started = std::chrono::steady_clock::now();
                if (const int rc = log_sync_->Sync(); rc != SQLITE_OK) RecordLogSyncError(rc);
                const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started);
                log_sync_micros_.fetch_add(took.count(), std::memory_order_relaxed);
            }
            {
                std::lock_guard lock(queue_mutex_);
                syncs_done_ = sync_number;
            }
            // The writer commits the batch it holds open as soon as the log is free.
            queue_ready_.notify_one();
        }
        const bool failed = LogSyncFailed();
        for (Settled& answer : answering) {
            if (failed && answer.status.ok()) answer.status = LogSyncFailure();
            Call(answer.done, std::move(answer.status));
        }
        answering.clear();
    }
}

void SqliteStorage::WriterLoop() {
    std::vector<WriteUnit> incoming;
    incoming.reserve(max_batch_);
    while (true) {
        bool stopping = false;
        bool log_free = false;
        bool may_commit_ahead = false;
        {
            std::unique_lock lock(queue_mutex_);
            // With a batch open and the log still syncing, wait for more units or for the
            // sync to end, whichever comes first.
            queue_ready_.wait(lock, [this] {
                return stopping_ || !queue_.empty() || (!batch_.empty() && LogFree());
            });
            // Stopping still drains what was queued, so no caller is left without an answer.
            if (queue_.empty() && batch_.empty()) return;
            stopping = stopping_;
            while (!queue_.empty() && batch_.size() + incoming.size() < max_batch_) {
                incoming.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            log_free = LogFree();
            may_commit_ahead = syncs_handed_ - syncs_done_ == 1;
        }
        try {
            if (!incoming.empty()) ApplyUnits(incoming);
            // A batch's answers wait for a sync of the log that starts after its commit, and
            // only one sync runs at a time. So while one is under way, the writer keeps the
            // batch open and runs the units that arrive; it commits when the log is free. The
            // batch grows as large as the disk is slow, and one commit (its hot pages written
            // once) serves it. Once the open batch holds as many units as the one being synced,
            // it commits without waiting for that sync (one commit at most waits ahead): the
            // callers answered by the previous sync are most likely all back by then, and its
            // frames are written while the disk syncs, so the next sync starts the moment this
            // one ends instead of after a commit.
            if (!batch_.empty() && (log_free || stopping || batch_.size() >= max_batch_ ||
                                    (may_commit_ahead && batch_.size() >= units_syncing_))) {
                if (!log_free) commits_ahead_.fetch_add(1, std::memory_order_relaxed);
                units_syncing_ = batch_.size();
                CommitBatch();
            }
        } catch (const std::exception& e) {
            // Only this backend's own bookkeeping can get here (allocation failure): nothing of
            // the batch may be reported as done, so roll back and fail whoever is unanswered.
            FailBatch(
                MakeError(ErrorCode::kInternal, std::string("storage writer failed: ") + e.what()));
        }
        incoming.clear();
        if (!batch_.empty()) continue;
        HandOffSettled();
        // Between batches no frame is being added: the moment to let a long log restart. The
        // writer copies only the last stretch the checkpointer has not reached yet; until the
        // checkpointer is close, the writer keeps writing (a long copy here would stall every
        // purchase waiting for the next batch).
        bool restart_due = false;
        {
            std::lock_guard lock(checkpoint_mutex_);
            restart_due = wal_pages_ >= log_restart_pages_ &&
                          wal_pages_ - backfilled_ <= kWriterCheckpointPages;
        }
        if (restart_due) {
            int log_pages = 0;
            int copied = 0;
            if (sqlite3_wal_checkpoint_v2(writer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                          &log_pages, &copied) == SQLITE_OK &&
                log_pages == copied) {
                checkpoints_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
}

bool SqliteStorage::CheckpointDue() const {
    if (wal_pages_ < checkpoint_pages_) return false;
    // Another checkpoint_pages_ since the last round...
    if (wal_pages_ - checkpointed_at_ >= checkpoint_pages_) return true;
    // ...or, once the log should restart, every commit until the writer can finish the copy.
    return wal_pages_ >= log_restart_pages_ && wal_pages_ != checkpointed_at_;
}

bool SqliteStorage::IdleCheckpointDue() const {
    return wal_pages_ > backfilled_ && wal_pages_ != idle_checkpointed_at_ &&
           std::chrono::steady_clock::now() - last_commit_at_ >= idle_checkpoint_;
}

int SqliteStorage::OnWalCommit(void* self, sqlite3*, const char*, int pages) {
    auto* storage = static_cast<SqliteStorage*>(self);
    storage->log_written_ = true;
    bool wake = false;
    {
        std::lock_guard lock(storage->checkpoint_mutex_);
        if (pages < storage->wal_pages_) {
            // The log restarted from its beginning: nothing of the new one is copied yet.
            storage->log_restarts_.fetch_add(1, std::memory_order_relaxed);
            storage->checkpointed_at_ = 0;
            storage->backfilled_ = 0;
        }
        storage->wal_pages_ = pages;
        storage->last_commit_at_ = std::chrono::steady_clock::now();
        wake = storage->CheckpointDue();
    }
    if (wake) storage->checkpoint_wanted_.notify_one();
    return SQLITE_OK;
}

void SqliteStorage::CheckpointerLoop() {
    while (true) {
        {
            std::unique_lock lock(checkpoint_mutex_);
            const auto wanted = [&] { return checkpointer_stopping_ || CheckpointDue(); };
            if (idle_checkpoint_.count() == 0) {
                checkpoint_wanted_.wait(lock, wanted);
            } else {
                // Also wake when the writer has been idle for idle_checkpoint_ with part of the
                // log not yet copied (once per log size: a round that could not copy everything,
                // say behind a long read, is not repeated until the next commit).
                while (!wanted() && !IdleCheckpointDue()) {
                    checkpoint_wanted_.wait_for(lock, idle_checkpoint_);
                }
                if (!checkpointer_stopping_ && !CheckpointDue()) idle_checkpointed_at_ = wal_pages_;
            }
            if (checkpointer_stopping_) return;
        }
        // PASSIVE: copies what it can without waiting for the writer or readers; the frames
        // the writer appends meanwhile are left for the next round. A busy result (the writer
        // is finishing a checkpoint itself) is simply retried at the next commit.
        int log_pages = 0;
        int copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr,
                                           SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
        if (rc == SQLITE_OK) checkpoints_.fetch_add(1, std::memory_order_relaxed);
        std::unique_lock lock(checkpoint_mutex_);
        checkpointed_at_ = wal_pages_;
        // `copied` counts frames of the log as it was when the round started; if the log
        // restarted meanwhile (wal_pages_ dropped) the count belongs to the old log.
        if (rc == SQLITE_OK && log_pages <= wal_pages_) backfilled_ = copied;
        if (rc != SQLITE_OK) {
            // Do not spin on a persistent failure: wait for the next commit to try again.
            checkpoint_wanted_.wait_for(lock, std::chrono::milliseconds(50));
        }
    }
}

Status SqliteStorage::RunUnit(WriteUnit& unit, bool& transaction_broken) {
    KZ_RETURN_IF_ERROR(writer_->Run("SAVEPOINT unit"));
    SqliteTxn txn(*writer_);
    Status result = RunGuarded(txn, unit.work);
    if (!writer_->InTransaction()) {
        // SQLite rolled the whole transaction back by itself (I/O error, disk full): the
        // batch-mates' work is gone too.
        transaction_broken = true;
        return result;
    }
    if (!result.ok()) {
        if (!writer_->Run("ROLLBACK TO unit").ok()) transaction_broken = true;
    }
    if (!writer_->Run("RELEASE unit").ok()) transaction_broken = true;
    return result;
}

SqliteStorage::Run SqliteStorage::RunUnits(std::size_t first) {
    sqlite3* db = writer_->handle();
    for (std::size_t i = first; i < batch_.size(); ++i) {
        bool broken = false;
        if (batch_isolated_) {
            batch_results_[i] = RunUnit(batch_[i], broken);
        } else {
            // Every write a unit can make through its WriteTxn is an INSERT, UPDATE or DELETE,
            // all counted here; a statement that fails is undone by SQLite and not counted. So
            // a unit that fails with the count unmoved has nothing left to undo.
            const int64_t changes_before = sqlite3_total_changes64(db);
            SqliteTxn txn(*writer_);
            batch_results_[i] = RunGuarded(txn, batch_[i].work);
            if (!batch_results_[i].ok() && writer_->InTransaction() &&
                sqlite3_total_changes64(db) != changes_before) {
                return Run::kRerunIsolated;  // its writes cannot be undone alone
            }
        }
        if (broken || !writer_->InTransaction()) return Run::kBroken;
    }
    return Run::kDone;
}

void SqliteStorage::ApplyUnits(std::vector<WriteUnit>& incoming) {
    if (LogSyncFailed()) {
        for (WriteUnit& unit : incoming) Settle(unit, LogSyncFailure());
        return;
    }
    const std::size_t first = batch_.size();
    for (WriteUnit& unit : incoming) batch_.push_back(std::move(unit));
    batch_results_.resize(batch_.size());
    if (first == 0) {
        // A savepoint per unit costs the writer about 8 us a purchase (every page a unit
        // dirties is copied to the statement journal first), and nearly every unit either
        // succeeds or fails before it writes. So units run without savepoints until one fails
        // after writing; then the batch is rolled back and run again from its start with one
        // savepoint per unit, so that each unit's outcome is still its own (a unit may
        // therefore run twice; see storage.hpp).
        if (!BeginBatch(/*isolated=*/false)) return;
    }
    Run run = RunUnits(first);
    if (run == Run::kRerunIsolated) {
        rerun_batches_.fetch_add(1, std::memory_order_relaxed);
        (void)writer_->Run("ROLLBACK");
        if (!BeginBatch(/*isolated=*/true)) return;
        run = RunUnits(0);
    }
    if (run == Run::kBroken) {
        FailBatch(
            MakeError(ErrorCode::kUnavailable, "the write transaction was lost; retry later"));
    }
}

void SqliteStorage::CommitBatch() {
    // With synchronous=NORMAL the commit returns once its frames are in the log file; the
    // answerer thread syncs the log before it answers the batch (see the header).
    log_written_ = false;
    Status committed = writer_->Run("COMMIT");
    if (!committed.ok()) return FailBatch(std::move(committed));
    if (log_written_ && log_sync_ != nullptr) {
        settled_need_sync_ = true;
        // The frames are in the file before the answerer syncs it through its own handle (the
        // buffer issues them at the commit frame already; this does not depend on how SQLite
        // splits a frame into writes). A failure here is a failed sync: nothing more is
        // acknowledged.
        if (const int rc = WalWriteBuffer::FlushLog(writer_->handle()); rc != SQLITE_OK) {
            RecordLogSyncError(rc);
        }
    }
    commits_.fetch_add(1, std::memory_order_relaxed);
    RaiseToAtLeast(largest_batch_, batch_.size());
    EndBatch(nullptr);
}

bool SqliteStorage::BeginBatch(bool isolated) {
    batch_isolated_ = isolated;
    Status begun = writer_->Run("BEGIN IMMEDIATE");
    if (begun.ok()) return true;
    FailBatch(std::move(begun));
    return false;
}

void SqliteStorage::EndBatch(const core::Error* batch_error) {
    uint64_t failed = 0;
    for (const Status& result : batch_results_) failed += result.ok() ? 0 : 1;
    units_.fetch_add(batch_.size(), std::memory_order_relaxed);
    failed_units_.fetch_add(failed, std::memory_order_relaxed);
    for (std::size_t i = 0; i < batch_.size(); ++i) {
        Settle(batch_[i],
               batch_error != nullptr ? Status(*batch_error) : std::move(batch_results_[i]));
    }
    batch_.clear();
    batch_results_.clear();
}

void SqliteStorage::FailBatch(Status why) {
    if (writer_->InTransaction()) (void)writer_->Run("ROLLBACK");
    // Nothing of this batch is on disk: every unit fails, whatever its own result was.
    failed_commits_.fetch_add(1, std::memory_order_relaxed);
    core::Error error = why.ok() ? MakeError(ErrorCode::kInternal, "unknown failure") : why.error();
    if (error.code != ErrorCode::kUnavailable) {
        error = MakeError(ErrorCode::kUnavailable,
                          "the write could not be committed: " + error.message);
    }
    EndBatch(&error);
}

Connection* SqliteStorage::AcquireReader() {
    std::unique_lock lock(readers_mutex_);
    reader_free_.wait(lock, [this] { return !free_readers_.empty(); });
    Connection* reader = free_readers_.back();
    free_readers_.pop_back();
    return reader;
}

void SqliteStorage::ReleaseReader(Connection* reader) {
    {
        std::lock_guard lock(readers_mutex_);
        free_readers_.push_back(reader);
    }
    reader_free_.notify_one();
}

Connection* SqliteStorage::TryAcquireReader() {
    std::lock_guard lock(readers_mutex_);
    if (free_readers_.empty()) return nullptr;
    Connection* reader = free_readers_.back();
    free_readers_.pop_back();
    return reader;
}

std::optional<Status> SqliteStorage::TryRead(const std::function<Status(ReadTxn&)>& work) {
    Connection* reader = TryAcquireReader();
    if (reader == nullptr) return std::nullopt;
    return ReadOn(reader, work);
}

Status SqliteStorage::Read(const std::function<Status(ReadTxn&)>& work) {
    return ReadOn(AcquireReader(), work);
}

Status SqliteStorage::ReadOn(Connection* connection, const std::function<Status(ReadTxn&)>& work) {
    Status result = connection->Run("BEGIN");
    if (result.ok()) {
        SqliteTxn txn(*connection);
        result = RunGuarded(static_cast<ReadTxn&>(txn), work);
        // Ending a read transaction releases its snapshot; it has nothing to make durable.
        if (connection->InTransaction()) {
            Status end = connection->Run(result.ok() ? "COMMIT" : "ROLLBACK");
            if (!end.ok() && connection->InTransaction()) (void)connection->Run("ROLLBACK");
            if (result.ok() && !end.ok()) result = end;
        }
    }
    ReleaseReader(connection);
    return result;
}

StorageStats SqliteStorage::Stats() const {
    StorageStats stats;
    stats.write_units = units_.load(std::memory_order_relaxed);
    stats.failed_write_units = failed_units_.load(std::memory_order_relaxed);
    stats.commits = commits_.load(std::memory_order_relaxed);
    stats.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    stats.largest_batch = largest_batch_.load(std::memory_order_relaxed);
    stats.checkpoints = checkpoints_.load(std::memory_order_relaxed);
    stats.log_restarts = log_restarts_.load(std::memory_order_relaxed);
    stats.rerun_batches = rerun_batches_.load(std::memory_order_relaxed);
    stats.log_syncs = log_syncs_.load(std::memory_order_relaxed);
    stats.log_sync_micros = log_sync_micros_.load(std::memory_order_relaxed);
    stats.commits_ahead = commits_ahead_.load(std::memory_order_relaxed);
    return stats;
}

}  // namespace kizuna::storage::sqlite
