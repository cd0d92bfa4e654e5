#include "storage/sqlite/connection.hpp"

#include <sqlite3.h>

#include <string>

#include "storage/sqlite/page_cache.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;

namespace {

core::Error OpenError(sqlite3* db, const DatabaseLocation& location, std::string_view what) {
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    return core::MakeError(ErrorCode::kUnavailable, "cannot open SQLite database " + location.path +
                                                        ": " + std::string(what) + ": " + detail);
}

// The database file is held exclusively by the process that opened it ("unix-excl", see
// DatabaseLocation::base_vfs), so "busy" at open means another process has it: say so plainly.
core::Error InUseOrOpenError(sqlite3* db, const DatabaseLocation& location) {
    if (db != nullptr && (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY) {
        return core::MakeError(ErrorCode::kUnavailable,
                               "cannot open SQLite database " + location.path +
                                   ": another process has it open (is a hub already running "
                                   "on this data directory?)");
    }
    return OpenError(db, location, "read");
}

}  // namespace

// Made before SQLite initializes (later calls are refused and harmless, so every path that
// may be the process's first SQLite call makes them first: a connection's open, a VFS's
// registration): no memory statistics (sqlite3_memory_used), which would take a global mutex
// around every allocation SQLite makes (3% of the group-commit writer's time in profiles), and
// SQLite's own page cache without its needless whole-cache walks at commit (page_cache.hpp).
// Neither changes any behaviour of any database.
void ConfigureSqlite() {
    static const bool configured = [] {
        (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        InstallPageCache();
        return true;
    }();
    (void)configured;
}

core::Result<std::unique_ptr<Connection>> Connection::Open(const DatabaseLocation& location,
                                                           Role role, const char* vfs) {
    ConfigureSqlite();
    // NOMUTEX: a connection is never used by two threads at once (see the class comment).
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (role == Role::kWriter) flags |= SQLITE_OPEN_CREATE;

    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(location.path.c_str(), &db, flags,
                             vfs != nullptr ? vfs : location.base_vfs.c_str());
    if (rc != SQLITE_OK) {
        core::Error error = OpenError(db, location, "open");
        sqlite3_close_v2(db);
        return error;
    }
    std::unique_ptr<Connection> connection(new Connection(db));
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, location.busy_timeout_ms);

    // WAL lets readers run beside the writer, each on its own snapshot.
    {
        // The first statement is where SQLite reads the file: a file that is not a database,
        // or one locked by another process, fails here.
        auto mode = connection->Prepare("PRAGMA journal_mode=WAL");
        if (!mode) return InUseOrOpenError(db, location);
        auto row = (*mode)->Step();
        if (!row) return InUseOrOpenError(db, location);
        if (!*row || (*mode)->Text(0) != "wal") {
            return core::MakeError(ErrorCode::kUnavailable,
                                   "cannot open SQLite database " + location.path +
                                       ": the file system does not support WAL mode");
        }
    }
    // NORMAL: SQLite syncs the log's header when the log restarts, and the log and the database
    // around every checkpoint (https://www.sqlite.org/pragma.html#pragma_synchronous), but not
    // at a commit: the storage syncs the log itself before it acknowledges one (LogSync). Every
    // connection, since whichever one closes last checkpoints the log into the database.
    std::string pragmas =
        location.durable ? "PRAGMA synchronous=NORMAL;" : "PRAGMA synchronous=OFF;";
    if (role == Role::kWriter) pragmas += "PRAGMA foreign_keys=ON;";
    if (role == Role::kReader) pragmas += "PRAGMA query_only=ON;";
    // Page caches: SQLite's default (2 MiB) made the group-commit writer re-read index pages
    // from the file for nearly every purchase, so the writer gets 64 MiB and each reader 32 MiB;
    // four readers and the writer stay under 200 MiB, within the hub's 300 MB RSS budget.
    // No mmap: mapped file pages count in that RSS as well, and under purchases the readers were
    // slower with it (src/storage/README.md, "Reads under writes").
    // The checkpointer reads log frames and writes them through; it needs no cache of its own.
    pragmas += role == Role::kWriter   ? "PRAGMA cache_size=-65536;"
               : role == Role::kReader ? "PRAGMA cache_size=-32768;"
                                       : "PRAGMA cache_size=-1024;";
    pragmas += "PRAGMA temp_store=MEMORY;";
    if (auto status = connection->ExecScript(pragmas); !status.ok()) {
        return OpenError(db, location, "configure");
    }
    return connection;
}

Connection::~Connection() {
    statements_.clear();  // finalize before closing
    sqlite3_close_v2(db_);
}

core::Result<StatementLease> Connection::Prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) {
            core::Error error = ErrorFromSqlite(db_, rc, sql);
            sqlite3_finalize(stmt);
            // A statement that cannot be prepared is a bug in this backend, whatever SQLite's
            // code says (except a busy schema lock, which is transient).
            if (error.code != ErrorCode::kUnavailable) error.code = ErrorCode::kInternal;
            return error;
        }
        it = statements_.emplace(std::string(sql), std::make_unique<Statement>(db_, stmt)).first;
    }
    return StatementLease(it->second.get());
}

core::Status Connection::ExecScript(std::string_view sql) {
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return core::Status::Ok();
    sqlite3_free(message);
    return ErrorFromSqlite(db_, rc, sql.size() > 80 ? sql.substr(0, 80) : sql);
}

core::Status Connection::Run(std::string_view sql) {
    KZ_ASSIGN_OR_RETURN(auto statement, Prepare(sql));
    return statement->Run();
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

int64_t Connection::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace kizuna::storage::sqlite
