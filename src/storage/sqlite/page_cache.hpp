#pragma once
// SQLite's own page cache with one shortcut: a truncation that cannot drop any page is not
// passed on. Internal to the SQLite backend.
//
// Why: when the b-tree splits a page it renumbers the new siblings in ascending order, and
// while it does, it parks one of them under a page number past the end of the file
// (sqlite3_pcache_methods2::xRekey). The default cache remembers the largest key it was ever
// given, so at the end of that transaction its xTruncate(database size) believes pages past the
// end may be cached and walks its whole hash table: the group-commit writer's cache holds 16k
// pages, and the walk was 8% of the hub's CPU under purchases (bench/README.md, Run 13).
// This cache keeps its own bound of the keys it holds: the largest key a page was created
// under (xFetch with create) and, apart, the pages parked above that bound by xRekey; it passes
// xTruncate on whenever a page at or past the limit may be held, so every page the contract
// says must go goes (https://www.sqlite.org/c3ref/pcache_methods2.html). Everything else is the
// default cache's (SQLITE_CONFIG_GETPCACHE2), unchanged.

#include <sqlite3.h>

namespace kizuna::storage::sqlite {

// Installs the cache above for the whole process; must run before SQLite initializes (through
// ConfigureSqlite, connection.hpp). Does nothing if SQLite is already initialized.
void InstallPageCache();

// The methods InstallPageCache installed; nullptr when it could not (SQLite was initialized
// first). For tests.
const sqlite3_pcache_methods2* InstalledPageCache();

}  // namespace kizuna::storage::sqlite
