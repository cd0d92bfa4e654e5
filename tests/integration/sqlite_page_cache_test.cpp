// The page cache wrapper (storage/sqlite/page_cache.hpp) on real SQLite databases: commits that
// split B-tree pages skip the sweep of the cache, and the database stays whole through growth,
// rollbacks and reopening. Plain sqlite3 connections: the wrapper serves every connection in
// the process.

#include "storage/sqlite/page_cache.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/wal_index.hpp"
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

  public:
    sqlite3* handle() const { return db_; }

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

// The page numbers the wal-index gives for frames 1..max_frame are the ones in the log file's
// frame headers (big-endian, first field of each 24-byte header after the 32-byte file header).
TEST(SqliteWalIndex, FramePagesMatchTheLogFile) {
    ASSERT_TRUE(kInstalled);
    testing::TempDir dir;
    const std::string path = (dir.path() / "index.db").string();
    Database writer(path);
    writer.Exec(
        "PRAGMA wal_autocheckpoint=0; CREATE TABLE items (key TEXT PRIMARY KEY, tag "
        "TEXT, body BLOB) WITHOUT ROWID");
    std::mt19937_64 random(3);
    for (int commit = 0; commit < 700; ++commit) writer.Insert(random, 10, "x", true);
    WalIndex index = WalIndex::OfMainDatabase(writer.handle());
    WalIndex::Header header;
    ASSERT_TRUE(index.ReadHeader(&header));
    ASSERT_GT(header.max_frame, 4062u + 4096u);  // three regions of the index
    std::ifstream log(path + "-wal", std::ios::binary);
    ASSERT_TRUE(log.good());
    for (uint32_t frame = 1; frame <= header.max_frame; ++frame) {
        log.seekg(32 + static_cast<std::streamoff>(frame - 1) * (24 + 4096));
        unsigned char bytes[4] = {};
        log.read(reinterpret_cast<char*>(bytes), 4);
        const uint32_t expected = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                                  (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
        uint32_t page = 0;
        ASSERT_TRUE(index.PageOfFrame(frame, &page)) << frame;
        ASSERT_EQ(page, expected) << "frame " << frame;
    }
}

// A reader that keeps its cache across transactions (ReadTransactionScope) reads exactly what a
// writer committed, while the writer keeps changing rows on other threads' time and the log
// restarts now and then. Every value read is checked against the writer's history: the value
// of that row as of the version the same transaction read.
TEST(SqliteReaderCache, ReadersKeepUnchangedPagesAndNeverReadAStaleOne) {
    ASSERT_TRUE(kInstalled);
    testing::TempDir dir;
    const std::string path = (dir.path() / "readers.db").string();
    constexpr int kRows = 4000;
    Database writer(path);
    writer.Exec(
        "PRAGMA wal_autocheckpoint=0; CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT); "
        "CREATE TABLE version (id INTEGER PRIMARY KEY, n INTEGER)");
    writer.Exec("BEGIN");
    writer.Exec("INSERT INTO version VALUES (1, 0)");
    for (int k = 0; k < kRows; ++k) {
        writer.Exec("INSERT INTO kv VALUES (" + std::to_string(k) + ", 'v0-" + std::to_string(k) +
                    "-" + std::string(100, 'p') + "')");
    }
    writer.Exec("COMMIT");

    // history[k]: (version, value) of row k, in order; version 0 is the initial value.
    std::mutex mutex;
    std::vector<std::vector<std::pair<int64_t, std::string>>> history(kRows);
    for (int k = 0; k < kRows; ++k) {
        history[k].push_back({0, "v0-" + std::to_string(k) + "-" + std::string(100, 'p')});
    }
    auto value_as_of = [&](int k, int64_t version) {
        std::lock_guard lock(mutex);
        std::string value;
        for (const auto& [at, v] : history[k]) {
            if (at <= version) value = v;
        }
        return value;
    };

    std::atomic<bool> done{false};
    std::thread writing([&] {
        std::mt19937_64 random(5);
        for (int64_t version = 1; version <= 1500; ++version) {
            std::vector<std::pair<int, std::string>> changes;
            for (int i = 0; i < 8; ++i) {
                const int k = static_cast<int>(random() % kRows);
                changes.push_back({k, "v" + std::to_string(version) + "-" + std::to_string(k)});
            }
            {
                // Recorded before the commit, so a reader that sees the version finds its values.
                std::lock_guard lock(mutex);
                for (const auto& [k, v] : changes) history[k].push_back({version, v});
            }
            writer.Exec("BEGIN");
            for (const auto& [k, v] : changes) {
                writer.Exec("UPDATE kv SET v = '" + v + "' WHERE k = " + std::to_string(k));
            }
            writer.Exec("UPDATE version SET n = " + std::to_string(version));
            writer.Exec("COMMIT");
            // Now and then the log restarts (busy while a reader holds a snapshot: then later).
            if (version % 100 == 0) {
                (void)sqlite3_exec(writer.handle(), "PRAGMA wal_checkpoint(RESTART)", nullptr,
                                   nullptr, nullptr);
            }
        }
        done = true;
    });

    Database reader(path);
    ReaderCacheState state;
    WalIndex index = WalIndex::OfMainDatabase(reader.handle());
    std::mt19937_64 random(9);
    int transactions = 0;
    int checked = 0;
    while (!done || transactions < 50) {
        ReadTransactionScope scope(state, index);
        reader.Exec("BEGIN");
        const int64_t version = std::stoll(reader.Text("SELECT n FROM version"));
        for (int i = 0; i < 40; ++i) {
            const int k = static_cast<int>(random() % kRows);
            const std::string read = reader.Text("SELECT v FROM kv WHERE k = " + std::to_string(k));
            ASSERT_EQ(read, value_as_of(k, version)) << "row " << k << " at version " << version;
            ++checked;
        }
        reader.Exec("COMMIT");
        ++transactions;
    }
    writing.join();
    EXPECT_GT(checked, 2000);
    // The cache was kept (minus what changed) in most transactions that began on a changed log.
    EXPECT_GT(state.kept.load(), 10u);
    EXPECT_GT(state.pages_dropped.load(), 10u);
    EXPECT_EQ(reader.Text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace kizuna::storage::sqlite
