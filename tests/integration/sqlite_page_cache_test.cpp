// The page cache the SQLite backend installs (src/storage/sqlite/page_cache.hpp) keeps the
// contract of sqlite3_pcache_methods2 (https://www.sqlite.org/c3ref/pcache_methods2.html): after
// xTruncate(limit) no page with a key >= limit can be fetched, pinned pages below it stay, and
// it is really installed in the process (as the hub's own settings make it, before SQLite
// initializes; and the memory statistics off). Random operations against a model, including the
// b-tree's way of parking a page past the end of the file (xRekey to the lock page's number and
// back).

#include "storage/sqlite/page_cache.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "storage/sqlite/connection.hpp"
#include "storage/storage.hpp"

namespace kizuna::storage::sqlite {
namespace {

constexpr unsigned kParkedKey = 262145;  // the lock page of a 4 KiB-page file

// First in this binary, so that nothing has configured or initialized SQLite before: a storage
// opened as the hub opens it (its log buffer registers a VFS before any connection opens) has
// the process-wide settings: this page cache, and no memory statistics (sqlite3_memory_used
// counts nothing), which a VFS registered first used to leave silently unapplied.
TEST(SqlitePageCache, AStorageOpenedFirstHasTheProcessSettings) {
    const std::string dir = ::testing::TempDir() + "/page_cache_storage";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    {
        auto opened = OpenStorage("sqlite://" + dir + "/hub.db");
        ASSERT_TRUE(opened) << opened.error().message;
        EXPECT_NE(InstalledPageCache(), nullptr);
        EXPECT_EQ(sqlite3_memory_used(), 0);
    }
    std::filesystem::remove_all(dir);
}

TEST(SqlitePageCache, IsInstalledByTheHubsProcessSettings) {
    ConfigureSqlite();
    ASSERT_NE(InstalledPageCache(), nullptr);
    // A database works through it: pages split, renumber and truncate at commit.
    const std::string path = ::testing::TempDir() + "/page_cache_test.db";
    std::filesystem::remove(path);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT);"
                           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 20000) INSERT INTO t SELECT hex(randomblob(8)), "
                           "hex(randomblob(40)) FROM n;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_stmt* check = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(check), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(check, 0)), "ok");
    sqlite3_finalize(check);
    sqlite3_close(db);
    std::filesystem::remove(path);
}

TEST(SqlitePageCache, TruncateDropsEveryPageAtOrPastTheLimit) {
    ConfigureSqlite();
    const sqlite3_pcache_methods2* methods = InstalledPageCache();
    ASSERT_NE(methods, nullptr);
    std::mt19937 random(20261207);
    for (int round = 0; round < 200; ++round) {
        sqlite3_pcache* cache = methods->xCreate(4096, 64, 1);
        ASSERT_NE(cache, nullptr);
        methods->xCachesize(cache, 1 + static_cast<int>(random() % 40));  // small: recycling
        std::map<unsigned, sqlite3_pcache_page*> pinned;
        std::set<unsigned> keys_used;
        auto pick_key = [&] { return 1 + static_cast<unsigned>(random() % 80); };
        for (int step = 0; step < 400; ++step) {
            switch (random() % 5) {
                case 0:
                case 1: {  // fetch (create), pins
                    unsigned key = pick_key();
                    sqlite3_pcache_page* page = methods->xFetch(cache, key, 2);
                    ASSERT_NE(page, nullptr);
                    if (pinned.count(key) != 0) {
                        ASSERT_EQ(pinned[key], page);
                    }
                    pinned[key] = page;
                    keys_used.insert(key);
                    break;
                }
                case 2: {  // unpin, sometimes discarding
                    if (pinned.empty()) break;
                    auto it = std::next(pinned.begin(), random() % pinned.size());
                    methods->xUnpin(cache, it->second, static_cast<int>(random() % 2));
                    pinned.erase(it);
                    break;
                }
                case 3: {  // rekey a pinned page: past the end and back, or elsewhere
                    if (pinned.empty()) break;
                    auto it = std::next(pinned.begin(), random() % pinned.size());
                    unsigned to = random() % 2 == 0 ? kParkedKey + (random() % 3) : pick_key();
                    if (pinned.count(to) != 0) break;  // SQLite never rekeys onto a pinned page
                    sqlite3_pcache_page* page = it->second;
                    methods->xRekey(cache, page, it->first, to);
                    pinned.erase(it);
                    pinned[to] = page;
                    keys_used.insert(to);
                    break;
                }
                case 4: {  // truncate
                    unsigned limit = random() % 4 == 0 ? kParkedKey : 1 + (random() % 90);
                    methods->xTruncate(cache, limit);
                    std::erase_if(pinned, [&](const auto& kv) { return kv.first >= limit; });
                    for (unsigned key : keys_used) {
                        if (key < limit) continue;
                        EXPECT_EQ(methods->xFetch(cache, key, 0), nullptr)
                            << "page " << key << " survived xTruncate(" << limit << ")";
                    }
                    for (const auto& [key, page] : pinned) {
                        EXPECT_EQ(methods->xFetch(cache, key, 0), page) << "page " << key;
                    }
                    break;
                }
            }
            if (::testing::Test::HasFailure()) break;
        }
        methods->xDestroy(cache);
        if (::testing::Test::HasFailure()) break;
    }
}

}  // namespace
}  // namespace kizuna::storage::sqlite
