// OpenStorage: picks the backend from the connection string.

#include <string>

#include "storage/sqlite/backup.hpp"
#include "storage/sqlite/sqlite_storage.hpp"
#include "storage/storage.hpp"

namespace kizuna::storage {

using core::ErrorCode;
using core::MakeError;

namespace {

constexpr std::string_view kSqlitePrefix = "sqlite://";
constexpr std::string_view kSqliteMemory = "sqlite::memory:";
constexpr std::string_view kSupported =
    "supported: sqlite:///absolute/path.db, sqlite://relative/path.db, sqlite::memory:";

// The database file a "sqlite://" URL names.
Result<std::string> SqliteFileOf(std::string_view url) {
    if (!url.starts_with(kSqlitePrefix)) {
        // Name only the scheme: the rest of a URL may carry a password.
        std::string_view scheme = url.substr(0, url.find(':'));
        return MakeError(
            ErrorCode::kInvalidArgument,
            "unsupported storage scheme '" + std::string(scheme) + "'; " + std::string(kSupported));
    }
    // "sqlite:///abs/path" leaves "/abs/path"; "sqlite://rel/path" leaves "rel/path".
    std::string path(url.substr(kSqlitePrefix.size()));
    if (path.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "the storage URL names no database file; " + std::string(kSupported));
    }
    // A relative path starting with "file:" would be read by SQLite as a URI.
    if (path.starts_with("file:")) path = "./" + path;
    return path;
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenStorage(std::string_view url, StorageOptions options) {
    if (url == kSqliteMemory) {
        // Each "sqlite::memory:" is a fresh private database (see OpenTemporary for why it is
        // not SQLite's own in-memory database).
        KZ_ASSIGN_OR_RETURN(auto storage, sqlite::SqliteStorage::OpenTemporary(options));
        return std::unique_ptr<Storage>(std::move(storage));
    }
    sqlite::DatabaseLocation location;
    KZ_ASSIGN_OR_RETURN(location.path, SqliteFileOf(url));
    KZ_ASSIGN_OR_RETURN(auto storage, sqlite::SqliteStorage::Open(location, options));
    return std::unique_ptr<Storage>(std::move(storage));
}

Result<DatabaseCheck> CheckDatabase(std::string_view url) {
    KZ_ASSIGN_OR_RETURN(std::string path, SqliteFileOf(url));
    return sqlite::CheckDatabaseFile(path);
}

Result<BackupInfo> BackupDatabase(std::string_view url, const std::string& path,
                                  const BackupProgress& progress) {
    KZ_ASSIGN_OR_RETURN(std::string file, SqliteFileOf(url));
    return sqlite::BackupDatabaseFile(file, path, progress);
}

Result<RestoreInfo> RestoreDatabase(std::string_view url, const std::string& from,
                                    std::string_view stamp) {
    KZ_ASSIGN_OR_RETURN(std::string path, SqliteFileOf(url));
    return sqlite::RestoreDatabaseFile(path, from, stamp);
}

Result<bool> DatabaseInUse(std::string_view url) {
    KZ_ASSIGN_OR_RETURN(std::string path, SqliteFileOf(url));
    return sqlite::HeldByAnotherProcess(path);
}

}  // namespace kizuna::storage
