// OpenStorage: picks the backend from the connection string.

#include <string>

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

}  // namespace

Result<std::unique_ptr<Storage>> OpenStorage(std::string_view url, StorageOptions options) {
    if (url == kSqliteMemory) {
        // Each "sqlite::memory:" is a fresh private database (see OpenTemporary for why it is
        // not SQLite's own in-memory database).
        KZ_ASSIGN_OR_RETURN(auto storage, sqlite::SqliteStorage::OpenTemporary(options));
        return std::unique_ptr<Storage>(std::move(storage));
    }
    sqlite::DatabaseLocation location;
    if (url.starts_with(kSqlitePrefix)) {
        // "sqlite:///abs/path" leaves "/abs/path"; "sqlite://rel/path" leaves "rel/path".
        location.path = std::string(url.substr(kSqlitePrefix.size()));
        if (location.path.empty()) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "the storage URL names no database file; " + std::string(kSupported));
        }
        // A relative path starting with "file:" would be read by SQLite as a URI.
        if (location.path.starts_with("file:")) location.path = "./" + location.path;
    } else {
        // Name only the scheme: the rest of a URL may carry a password.
        std::string_view scheme = url.substr(0, url.find(':'));
        return MakeError(
            ErrorCode::kInvalidArgument,
            "unsupported storage scheme '" + std::string(scheme) + "'; " + std::string(kSupported));
    }
    KZ_ASSIGN_OR_RETURN(auto storage, sqlite::SqliteStorage::Open(location, options));
    return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace kizuna::storage
