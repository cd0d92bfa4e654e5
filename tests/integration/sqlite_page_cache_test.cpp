// The page cache wrapper (storage/sqlite/page_cache.hpp) on real SQLite databases: commits that
// split B-tree pages skip the sweep of the cache, and the database stays whole through growth,
// rollbacks and reopening. Plain sqlite3 connections: the wrapper serves every connection in
// the process.

#include "storage/sqlite/page_cache.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <random>
#include <string>

#include "storage_test_support.hpp"

namespace kizuna::storage::sqlite {
namespace {

// Before anything initializes SQLite in this process.
const bool kInstalled = InstallPageCache();

class Database {
  public:
    explicit Database(const std::string& path) {
        EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
        Exec("PRAGMA journal_mode=WAL; PRAGMA cache_size=-65536; PRAGMA synchronous=OFF");
    }
    ~Database() { sqlite3_close(db_); }
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void Exec(const std::string& sql) {
        char* message = nullptr;
        EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
            << sql << ": " << (message != nullptr ? message : "");
        sqlite3_free(message);
    }
    std::string Text(const std::string& sql) {
        sqlite3_stmt* statement = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sql;
        std::string value;
        if (sqlite3_step(statement) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(statement, 0);
            value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
        }
        sqlite3_finalize(statement);
        return value;
    }
    // Inserts `rows` rows with random keys (so that pages split all over the B-tree), each
    // carrying `tag`, in one transaction; commits or rolls back.
    void Insert(std::mt19937_64& random, int rows, const std::string& tag, bool commit) {
        Exec("BEGIN");
        for (int i = 0; i < rows; ++i) {
            Exec("INSERT INTO items VALUES ('" + std::to_string(random()) + "', '" + tag +
                 "', randomblob(200))");
        }
        Exec(commit ? "COMMIT" : "ROLLBACK");
    }

  private:
    sqlite3* db_ = nullptr;
};

TEST(SqlitePageCache, CommitsThatSplitPagesSkipTheSweepAndTheDatabaseStaysWhole) {
    ASSERT_TRUE(kInstalled);
    testing::TempDir dir;
    const std::string path = (dir.path() / "cache.db").string();
    std::mt19937_64 random(7);
    const PageCacheCounters before = PageCacheCountersForTesting();
    {
        Database db(path);
        db.Exec("CREATE TABLE items (key TEXT PRIMARY KEY, tag TEXT, body BLOB) WITHOUT ROWID");
        for (int commit = 0; commit < 200; ++commit) db.Insert(random, 20, "kept", true);
        EXPECT_EQ(db.Text("SELECT count(*) FROM items"), "4000");
        EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok");
    }
    const PageCacheCounters after = PageCacheCountersForTesting();
    // Nearly every commit had nothing past the end to drop.
    EXPECT_GT(after.truncations_skipped - before.truncations_skipped, 150u);
    Database reopened(path);
    EXPECT_EQ(reopened.Text("SELECT count(*) FROM items WHERE tag = 'kept'"), "4000");
    EXPECT_EQ(reopened.Text("PRAGMA integrity_check"), "ok");
}

// Pages added by a transaction that rolls back lie past the database's end; the next
// transaction that grows the file reuses their numbers. Through rounds of small growth (pages the
// wrapper remembers), large growth (more than it remembers) and rollbacks, the database stays
// whole and holds exactly what was committed.
TEST(SqlitePageCache, PagesOfARolledBackGrowthAreDroppedBeforeTheFileGrowsAgain) {
    ASSERT_TRUE(kInstalled);
    testing::TempDir dir;
    const std::string path = (dir.path() / "cache.db").string();
    std::mt19937_64 random(11);
    {
        Database db(path);
        db.Exec("CREATE TABLE items (key TEXT PRIMARY KEY, tag TEXT, body BLOB) WITHOUT ROWID");
        db.Insert(random, 500, "base", true);
        for (int round = 0; round < 5; ++round) {
            // A small growth (a few pages: the wrapper remembers each) and a large one (more
            // pages than it remembers), both rolled back, then growth that stays.
            db.Insert(random, 30, "gone", false);
            db.Insert(random, 3000, "gone", false);
            db.Insert(random, 40, "kept", true);
            EXPECT_EQ(db.Text("SELECT count(*) FROM items WHERE tag = 'gone'"), "0");
            EXPECT_EQ(db.Text("PRAGMA integrity_check"), "ok") << "round " << round;
        }
        EXPECT_EQ(db.Text("SELECT count(*) FROM items"), "700");
    }
    Database reopened(path);
    EXPECT_EQ(reopened.Text("SELECT count(*) FROM items"), "700");
    EXPECT_EQ(reopened.Text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace kizuna::storage::sqlite
