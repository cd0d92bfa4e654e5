#pragma once
// The SQLite schema as an ordered list of migrations. Each migration runs once, in order, in
// the same transaction as the row that records it in schema_migrations; a database migrated by
// a newer Kizuna (a version this binary does not know) is refused rather than misread.
// Internal to the SQLite backend.

#include "core/result.hpp"
#include "core/time.hpp"
#include "storage/sqlite/connection.hpp"

namespace kizuna::storage::sqlite {

// The newest schema version this binary knows.
int LatestSchemaVersion();

// The newest version recorded in schema_migrations, which must exist; 0 when it is empty.
core::Result<int> CurrentVersion(Connection& connection);

// Brings the database to LatestSchemaVersion() (a no-op when it is there already).
// `now` is recorded as each migration's applied_at.
// Errors: kUnavailable when the database is newer than this binary or cannot be written.
core::Status Migrate(Connection& connection, core::Timestamp now);
// The same, stopping at `version`: for tests that need a database as an older Kizuna left it.
core::Status MigrateTo(Connection& connection, core::Timestamp now, int version);

}  // namespace kizuna::storage::sqlite
