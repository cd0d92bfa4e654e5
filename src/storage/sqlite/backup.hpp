#pragma once
// Backup, check and restore of a SQLite database file: the work behind Storage::Backup (a hub
// backing itself up while it serves) and behind CheckDatabase, BackupDatabase and RestoreDatabase
// of storage.hpp (`kizuna hub check / backup / restore` on a database no hub holds).
//
// A backup is SQLite's online backup API (sqlite3_backup_*) run inside one read transaction of
// the source connection (for a running hub, a read connection opened for the backup): every page
// comes from that one snapshot, so the copy is consistent and holds every commit made before the
// transaction began, while the writer goes on committing to the write-ahead log beside it. The copy
// goes to "<path>.partial" (created exclusively, mode 0600), is synced, renamed to <path>, and the
// directory synced. Internal to the SQLite backend. Thread-safety: none of its own; each call uses
// the connection it is given, or opens its own.

#include <string>
#include <string_view>

#include "storage/sqlite/connection.hpp"
#include "storage/storage.hpp"

namespace kizuna::storage::sqlite {

// The suffix of the file a backup to <path> is written to before its rename.
inline constexpr std::string_view kPartialSuffix = ".partial";

// Copies the database of `source` to `path` (see the top). `source` must be inside a read
// transaction that has read something already (so that the snapshot is fixed); the copy is that
// snapshot. Errors: as Storage::Backup.
Result<BackupInfo> BackupSnapshot(Connection& source, const std::string& path,
                                  const BackupProgress& progress);

// Whether another process holds the database file `path` (a hub: it locks the file for as
// long as it runs). False for a file that does not exist. Reads the file's POSIX advisory locks.
Result<bool> HeldByAnotherProcess(const std::string& path);

// The storage.hpp functions of the same names, for the database file `path`.
Result<DatabaseCheck> CheckDatabaseFile(const std::string& path);
Result<BackupInfo> BackupDatabaseFile(const std::string& path, const std::string& out,
                                      const BackupProgress& progress);
Result<RestoreInfo> RestoreDatabaseFile(const std::string& path, const std::string& from,
                                        std::string_view stamp);

}  // namespace kizuna::storage::sqlite
