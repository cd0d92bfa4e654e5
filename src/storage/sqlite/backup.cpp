#include "storage/sqlite/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/sqlite_storage.hpp"
#include "storage/sqlite/sqlite_txn.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;
using core::MakeError;
namespace fs = std::filesystem;

namespace {

// Pages copied between two progress reports: 16 MiB of 4 KiB pages.
constexpr int kPagesPerStep = 4096;
// Faults listed per kind; the rest are counted in one more line.
constexpr std::size_t kFaultsShown = 200;

core::Error SystemError(const std::string& what, int error) {
    return MakeError(ErrorCode::kUnavailable, what + ": " + std::strerror(error));
}

core::Error HeldError(const std::string& path) {
    return MakeError(ErrorCode::kUnavailable, "another process holds " + path +
                                                  " (a hub is running on this data directory)");
}

// Syncs a file's data, or a directory's entries, to the disk.
Status SyncPath(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) return SystemError("cannot open " + path + " to sync it", errno);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return SystemError("cannot sync " + path, error);
    return Status::Ok();
}

Result<int64_t> QueryInt(Connection& connection, std::string_view sql) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection.Prepare(sql));
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    return row ? statement->Int(0) : 0;
}

// The schema version a database records; 0 for a file without Kizuna's schema table.
Result<int> SchemaVersion(Connection& connection) {
    KZ_ASSIGN_OR_RETURN(int64_t tables,
                        QueryInt(connection,
                                 "SELECT COUNT(*) FROM sqlite_master"
                                 " WHERE type = 'table' AND name = 'schema_migrations'"));
    if (tables == 0) return 0;
    return CurrentVersion(connection);
}

// SQLite merges a connection's write-ahead log into the database when the last connection
// closes; a check or an offline backup should leave the files as it found them.
void KeepLogOnClose(Connection& connection) {
    (void)sqlite3_db_config(connection.handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
}

// Copies every page of `source`'s main database into the (empty) file `partial`, in steps so
// that `progress` hears how far it got. The copy is not synced here.
Status CopyPages(Connection& source, const std::string& partial, const BackupProgress& progress) {
    sqlite3* destination = nullptr;
    // The default VFS: the copy is an ordinary file, not held by this process once closed.
    int rc = sqlite3_open_v2(partial.c_str(), &destination, SQLITE_OPEN_READWRITE, nullptr);
    Status status;
    if (rc == SQLITE_OK) {
        // No journal: a copy that fails is deleted whole; the copy is synced once at the end.
        rc = sqlite3_exec(destination, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", nullptr,
                          nullptr, nullptr);
    }
    if (rc != SQLITE_OK) {
        status = ErrorFromSqlite(destination, rc, "open the backup file " + partial);
        sqlite3_close_v2(destination);
        return status;
    }
    sqlite3_backup* backup = sqlite3_backup_init(destination, "main", source.handle(), "main");
    if (backup == nullptr) {
        status = ErrorFromSqlite(destination, sqlite3_errcode(destination), "start the backup");
        sqlite3_close_v2(destination);
        return status;
    }
    do {
        rc = sqlite3_backup_step(backup, kPagesPerStep);
        if (progress && (rc == SQLITE_OK || rc == SQLITE_DONE)) {
            const int64_t total = sqlite3_backup_pagecount(backup);
            progress(total - sqlite3_backup_remaining(backup), total);
        }
    } while (rc == SQLITE_OK);
    const int finished = sqlite3_backup_finish(backup);
    if (rc == SQLITE_DONE) rc = finished;
    if (rc != SQLITE_OK) status = ErrorFromSqlite(destination, rc, "copy the database");
    if (sqlite3_close_v2(destination) != SQLITE_OK && status.ok()) {
        status = MakeError(ErrorCode::kUnavailable, "cannot close the backup file " + partial);
    }
    return status;
}

void AddFault(DatabaseCheck& check, std::string kind, std::string detail) {
    std::size_t same = 0;
    for (const auto& fault : check.faults) same += fault.kind == kind ? 1 : 0;
    if (same < kFaultsShown) check.faults.push_back({std::move(kind), std::move(detail)});
}

void AddFaults(DatabaseCheck& check, const std::string& kind, std::vector<std::string> details) {
    const std::size_t found = details.size();
    for (std::size_t i = 0; i < found && i < kFaultsShown; ++i) {
        AddFault(check, kind, std::move(details[i]));
    }
    if (found > kFaultsShown) {
        check.faults.push_back({kind, "... and " + std::to_string(found - kFaultsShown) + " more " +
                                          kind + " faults"});
    }
}

// Each check that SQLite can run on the file: its structure, the schema version, foreign keys,
// and (for a schema this binary knows) the ledger and record invariants, with row counts.
Status RunChecks(Connection& connection, DatabaseCheck& check) {
    check.supported_schema_version = LatestSchemaVersion();
    {
        auto integrity = connection.Prepare("PRAGMA integrity_check(100)");
        if (!integrity) {
            AddFault(check, "integrity", integrity.error().message);
            return Status::Ok();
        }
        while (true) {
            auto row = (*integrity)->Step();
            if (!row) {
                AddFault(check, "integrity", row.error().message);
                return Status::Ok();  // nothing else can be trusted to run
            }
            if (!*row) break;
            std::string line = (*integrity)->Text(0);
            if (line != "ok") AddFault(check, "integrity", std::move(line));
        }
    }
    auto version = SchemaVersion(connection);
    if (!version) {
        AddFault(check, "schema", "cannot read the schema version: " + version.error().message);
        return Status::Ok();
    }
    check.schema_version = *version;
    if (*version == 0) {
        AddFault(check, "schema",
                 "no Kizuna schema (no schema_migrations table): not a hub's "
                 "database");
        return Status::Ok();
    }
    if (*version > check.supported_schema_version) {
        AddFault(check, "schema",
                 "schema version " + std::to_string(*version) + " is newer than this Kizuna's (" +
                     std::to_string(check.supported_schema_version) +
                     "); check it with a newer Kizuna");
        return Status::Ok();
    }
    {
        KZ_ASSIGN_OR_RETURN(auto keys, connection.Prepare("PRAGMA foreign_key_check"));
        std::vector<std::string> details;
        while (true) {
            KZ_ASSIGN_OR_RETURN(bool row, keys->Step());
            if (!row) break;
            details.push_back("a row of " + keys->Text(0) + " (rowid " +
                              (keys->IsNull(1) ? std::string("none") : keys->Text(1)) +
                              ") refers to a missing row of " + keys->Text(2));
        }
        AddFaults(check, "foreign_key", std::move(details));
    }
    // Every table these read has been there since schema version 1.
    KZ_RETURN_IF_ERROR(connection.Run("BEGIN"));
    Status read = [&]() -> Status {
        SqliteTxn txn(connection);
        KZ_ASSIGN_OR_RETURN(auto ledger, txn.CheckLedgerInvariants());
        AddFaults(check, "ledger", std::move(ledger));
        KZ_ASSIGN_OR_RETURN(auto records, txn.CheckRecordInvariants());
        AddFaults(check, "record", std::move(records));
        for (const char* table : {"stores", "members", "cards", "purchases", "redemptions",
                                  "refunds", "ledger_entries", "lots"}) {
            KZ_ASSIGN_OR_RETURN(int64_t rows, QueryInt(connection, std::string("SELECT COUNT(*) "
                                                                               "FROM ") +
                                                                       table));
            check.counts.emplace_back(table, rows);
        }
        KZ_ASSIGN_OR_RETURN(int64_t points,
                            QueryInt(connection, "SELECT COALESCE(SUM(points), 0) FROM balances"));
        check.counts.emplace_back("points_outstanding", points);
        check.ledger_checked = true;
        return Status::Ok();
    }();
    if (connection.InTransaction()) (void)connection.Run("COMMIT");
    return read;
}

// Opens `path` for a check or an offline backup: refused while a hub holds it.
Result<std::unique_ptr<Connection>> OpenUnheld(const std::string& path) {
    std::error_code error;
    if (!fs::is_regular_file(path, error)) {
        return MakeError(ErrorCode::kInvalidArgument, "no database file " + path);
    }
    KZ_ASSIGN_OR_RETURN(bool held, HeldByAnotherProcess(path));
    if (held) return HeldError(path);
    return Connection::Open(DatabaseLocation{path}, Connection::Role::kReader);
}

}  // namespace

Result<BackupInfo> BackupSnapshot(Connection& source, const std::string& path,
                                  const BackupProgress& progress) {
    const fs::path target(path);
    if (!target.is_absolute() || !target.has_filename()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the backup path must be an absolute file name, not '" + path + "'",
                         "path");
    }
    std::error_code error;
    if (!fs::is_directory(target.parent_path(), error)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "no directory " + target.parent_path().string() + " for the backup",
                         "path");
    }
    if (fs::symlink_status(target, error).type() != fs::file_type::not_found) {
        return MakeError(ErrorCode::kAlreadyExists,
                         path + " exists; a backup never replaces a file: name a new one", "path");
    }
    KZ_ASSIGN_OR_RETURN(int version, SchemaVersion(source));  // also fixes the snapshot

    const std::string partial = path + std::string(kPartialSuffix);
    const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            return MakeError(ErrorCode::kAlreadyExists,
                             partial + " exists: another backup to " + path +
                                 " is under way, or one was interrupted (then remove it)",
                             "path");
        }
        return SystemError("cannot create " + partial, errno);
    }
    ::close(fd);
    Status written = CopyPages(source, partial, progress);
    if (written.ok()) written = SyncPath(partial, /*directory=*/false);
    // link() never replaces a file that appeared at `path` meanwhile, as rename() would.
    if (written.ok() && ::link(partial.c_str(), path.c_str()) != 0) {
        written = SystemError("cannot move " + partial + " to " + path, errno);
    }
    fs::remove(partial, error);
    if (!written.ok()) return written.error();
    KZ_RETURN_IF_ERROR(SyncPath(target.parent_path().string(), /*directory=*/true));
    BackupInfo info;
    info.path = path;
    info.bytes = static_cast<int64_t>(fs::file_size(target, error));
    info.schema_version = version;
    return info;
}

Result<bool> HeldByAnotherProcess(const std::string& path) {
    // SQLite locks the database file with POSIX advisory locks; a hub holds one for as long as
    // it runs. F_GETLK names a lock another process holds that would conflict with ours.
    // Only a descriptor of our own is opened and closed here: closing it would drop this
    // process's own locks on the file, so never call this while holding the file open.
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return false;
        return SystemError("cannot open " + path, errno);
    }
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = 0;
    lock.l_len = 0;  // the whole file, and beyond its end (SQLite's lock bytes are at 1 GiB)
    const int rc = ::fcntl(fd, F_GETLK, &lock);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return SystemError("cannot read the locks of " + path, error);
    return lock.l_type != F_UNLCK;
}

Result<DatabaseCheck> CheckDatabaseFile(const std::string& path) {
    DatabaseCheck check;
    check.path = path;
    check.supported_schema_version = LatestSchemaVersion();
    const std::string log = path + "-wal";
    std::error_code missing;
    const bool had_log = fs::exists(log, missing);
    auto connection = OpenUnheld(path);
    if (!connection) {
        // A file SQLite cannot read as a database is a finding of the check, not a failure
        // to run it; a missing or held file is.
        std::error_code error;
        auto held = HeldByAnotherProcess(path);
        if (!fs::is_regular_file(path, error) || !held || *held) return connection.error();
        AddFault(check, "integrity", connection.error().message);
        return check;
    }
    KeepLogOnClose(**connection);
    Status checked = RunChecks(**connection, check);
    connection->reset();
    // Reading a file in WAL mode creates an empty log beside it; leave none that was not there.
    std::error_code error;
    if (!had_log && fs::exists(log, error) && fs::file_size(log, error) == 0)
        fs::remove(log, error);
    if (!checked.ok()) return checked.error();
    return check;
}

Result<BackupInfo> BackupDatabaseFile(const std::string& path, const std::string& out,
                                      const BackupProgress& progress) {
    KZ_ASSIGN_OR_RETURN(auto connection, OpenUnheld(path));
    KeepLogOnClose(*connection);
    KZ_RETURN_IF_ERROR(connection->Run("BEGIN"));
    auto info = BackupSnapshot(*connection, out, progress);
    (void)connection->Run("COMMIT");
    return info;
}

Result<RestoreInfo> RestoreDatabaseFile(const std::string& path, const std::string& from,
                                        std::string_view stamp) {
    std::error_code error;
    if (!fs::is_regular_file(from, error)) {
        return MakeError(ErrorCode::kInvalidArgument, "no backup file " + from, "from");
    }
    const fs::path directory = fs::path(path).parent_path();
    if (!fs::is_directory(directory, error)) {
        fs::create_directories(directory, error);
        if (error) {
            return MakeError(ErrorCode::kUnavailable,
                             "cannot create " + directory.string() + ": " + error.message());
        }
        fs::permissions(directory, fs::perms::owner_all, error);
    }
    KZ_ASSIGN_OR_RETURN(bool held, HeldByAnotherProcess(path));
    if (held) return HeldError(path);

    // The backup is checked as it will be used: a copy beside the database, brought to this
    // binary's schema as a hub's start would (a newer schema is refused before anything runs).
    const std::string restoring = path + ".restoring";
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(restoring + suffix, error);
    // A database file set aside with its log (a .before-restore copy) is only whole with it:
    // SQLite finds "<name>-wal" beside "<name>", so the copy takes it along.
    for (const char* suffix : {"", "-wal"}) {
        if (*suffix != '\0' && !fs::exists(from + suffix, error)) continue;
        fs::copy_file(from + suffix, restoring + suffix, error);
        if (error) {
            const std::string why = error.message();
            for (const char* made : {"", "-wal"}) fs::remove(restoring + made, error);
            return MakeError(ErrorCode::kUnavailable, "cannot copy " + from + suffix + " to " +
                                                          restoring + suffix + ": " + why);
        }
    }
    auto discard = [&](core::Error why) -> Result<RestoreInfo> {
        std::error_code ignored;
        for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(restoring + suffix, ignored);
        return why;
    };
    RestoreInfo info;
    info.check.path = from;
    {
        auto connection = Connection::Open(DatabaseLocation{restoring}, Connection::Role::kWriter);
        if (!connection) {
            return discard(MakeError(ErrorCode::kRuleViolation, from + " is not a usable backup: " +
                                                                    connection.error().message));
        }
        auto version = SchemaVersion(**connection);
        if (!version) return discard(version.error());
        if (*version >= 1 && *version < LatestSchemaVersion()) {
            const auto now = std::chrono::time_point_cast<std::chrono::seconds>(
                std::chrono::system_clock::now());
            if (auto migrated = Migrate(**connection, now); !migrated.ok()) {
                return discard(migrated.error());
            }
        }
        if (auto checked = RunChecks(**connection, info.check); !checked.ok()) {
            return discard(checked.error());
        }
        info.check.schema_version = *version;  // as the backup had it
    }                                          // closing merges the copy's log into it
    if (!info.check.faults.empty()) {
        std::string message = "the backup " + from + " has " +
                              std::to_string(info.check.faults.size()) +
                              " fault(s); nothing was replaced:";
        for (std::size_t i = 0; i < info.check.faults.size() && i < 5; ++i) {
            message += "\n  " + info.check.faults[i].kind + ": " + info.check.faults[i].detail;
        }
        return discard(MakeError(ErrorCode::kRuleViolation, message, "from"));
    }
    fs::permissions(restoring, fs::perms::owner_read | fs::perms::owner_write, error);
    if (auto synced = SyncPath(restoring, /*directory=*/false); !synced.ok()) {
        return discard(synced.error());
    }

    // The previous database, with its log (SQLite finds "<name>-wal" beside "<name>"), is kept.
    if (fs::exists(path, error)) {
        info.replaced_to = path + ".before-restore-" + std::string(stamp);
        for (const char* suffix : {"", "-wal"}) {
            const std::string from_name = path + suffix;
            if (!fs::exists(from_name, error)) continue;
            if (::rename(from_name.c_str(), (info.replaced_to + suffix).c_str()) != 0) {
                return discard(SystemError("cannot move " + from_name + " aside", errno));
            }
        }
    }
    fs::remove(path + "-wal", error);
    fs::remove(path + "-shm", error);
    if (::rename(restoring.c_str(), path.c_str()) != 0) {
        const int failed = errno;
        if (!info.replaced_to.empty()) {  // put the previous database back
            for (const char* suffix : {"", "-wal"}) {
                (void)::rename((info.replaced_to + suffix).c_str(), (path + suffix).c_str());
            }
        }
        return discard(SystemError("cannot move " + restoring + " to " + path, failed));
    }
    KZ_RETURN_IF_ERROR(SyncPath(directory.string(), /*directory=*/true));
    return info;
}

// Defined here rather than beside the writer: it is a read, on a connection of its own that
// lives as long as the backup, opened through the storage's own VFS like every other connection.
// A pooled reader is not used for it: a backup is long, and the pool serves requests' short reads.
Result<BackupInfo> SqliteStorage::Backup(const std::string& path, const BackupProgress& progress) {
    std::string file;
    {
        Connection* reader = AcquireReader();
        if (const char* name = sqlite3_db_filename(reader->handle(), "main")) {
            file = name;
        }
        ReleaseReader(reader);
    }
    if (file.empty()) return MakeError(ErrorCode::kInternal, "the database has no file name");
    KZ_ASSIGN_OR_RETURN(auto source, Connection::Open(DatabaseLocation{file},
                                                      Connection::Role::kReader, vfs_->name()));
    KZ_RETURN_IF_ERROR(source->Run("BEGIN"));
    auto info = BackupSnapshot(*source, path, progress);
    (void)source->Run("COMMIT");
    return info;
}

}  // namespace kizuna::storage::sqlite
