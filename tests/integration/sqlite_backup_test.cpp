// Storage::Backup and the offline CheckDatabase on real SQLite files: a backup taken while
// writes go on is a consistent snapshot that holds every write acknowledged before it began.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/sqlite_storage.hpp"
#include "storage/storage.hpp"
#include "storage_test_support.hpp"

namespace kizuna::storage::sqlite {
namespace {

using core::ErrorCode;
using storage::testing::kNow;
using storage::testing::SampleEntry;
using storage::testing::SampleLot;
using storage::testing::SampleMember;
using storage::testing::SampleProgram;
using storage::testing::SamplePurchase;
using storage::testing::SampleStore;

// Runs `sql` on a database file with a plain connection (before any storage holds it).
void Exec(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK)
        << (message != nullptr ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
}

std::set<std::string> PurchaseIds(const std::filesystem::path& path) {
    sqlite3* db = nullptr;
    std::set<std::string> ids;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        ADD_FAILURE() << "cannot open " << path;
        sqlite3_close(db);
        return ids;
    }
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT purchase_id FROM purchases", -1, &stmt, nullptr),
              SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return ids;
}

class SqliteBackupTest : public ::testing::Test {
  protected:
    std::filesystem::path db_path() const { return dir_.path() / "kizuna.db"; }
    std::filesystem::path backup_path() const { return dir_.path() / "backup.db"; }

    std::unique_ptr<SqliteStorage> Open() {
        auto opened = SqliteStorage::Open(DatabaseLocation{db_path().string(), false}, {});
        EXPECT_TRUE(opened.has_value()) << opened.error().message;
        return opened.has_value() ? std::move(opened).value() : nullptr;
    }

    // A store, a member, and offers with long bodies: a database of several thousand pages, so
    // that a backup copies it in more than one step.
    void SeedLarge() {
        {
            auto storage = Open();
            ASSERT_NE(storage, nullptr);
            Status s = storage->Write([](WriteTxn& txn) -> Status {
                KZ_RETURN_IF_ERROR(txn.InsertProgram(SampleProgram("pg_ekimae")));
                KZ_RETURN_IF_ERROR(txn.InsertStore(SampleStore("st_shibuya", "pg_ekimae", "h1")));
                return txn.InsertMember(SampleMember("1000000001"));
            });
            ASSERT_TRUE(s.ok()) << s.error().message;
        }
        Exec(db_path(),
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)"
             " INSERT INTO offers (offer_id, store_id, title, body, valid_from, valid_to,"
             " created_at) SELECT 'of' || i, 'st_shibuya', 'padding', hex(randomblob(2000)),"
             " 0, 1, 0 FROM n");
    }

    // One purchase with its lot and ledger entry, as the points service writes them.
    static Status Buy(Storage& storage, const std::string& id) {
        return storage.Write([&](WriteTxn& txn) -> Status {
            auto purchase = SamplePurchase(id, "1000000001", "st_shibuya", "pg_ekimae", kNow);
            KZ_RETURN_IF_ERROR(txn.InsertPurchase(purchase));
            KZ_RETURN_IF_ERROR(txn.InsertLot(SampleLot("1000000001", "pg_ekimae", "st_shibuya", id,
                                                       purchase.points_earned, kNow + 100)));
            auto entry = txn.AppendEntry(SampleEntry(
                "1000000001", "pg_ekimae", purchase.points_earned, core::EntryKind::kEarn, id));
            if (!entry) return entry.error();
            return Status::Ok();
        });
    }

    storage::testing::TempDir dir_;
};

TEST_F(SqliteBackupTest, BackupWhileWritingHoldsEveryEarlierWriteAndChecksClean) {
    SeedLarge();
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    std::mutex mutex;
    std::vector<std::string> acknowledged;
    std::atomic<bool> stop{false};
    std::thread buyer([&] {
        for (int i = 0; !stop.load(); ++i) {
            const std::string id = "p-" + std::to_string(i);
            if (Buy(*storage, id).ok()) {
                std::lock_guard lock(mutex);
                acknowledged.push_back(id);
            }
        }
    });
    while (true) {
        std::lock_guard lock(mutex);
        if (acknowledged.size() >= 50) break;
    }
    std::set<std::string> before;
    {
        std::lock_guard lock(mutex);
        before.insert(acknowledged.begin(), acknowledged.end());
    }
    std::vector<std::pair<int64_t, int64_t>> steps;
    auto info = storage->Backup(backup_path().string(), [&](int64_t copied, int64_t total) {
        steps.emplace_back(copied, total);
    });
    stop = true;
    buyer.join();
    ASSERT_TRUE(info.has_value()) << info.error().message;

    EXPECT_EQ(info->path, backup_path().string());
    EXPECT_EQ(info->bytes, static_cast<int64_t>(std::filesystem::file_size(backup_path())));
    EXPECT_GT(info->schema_version, 0);
    ASSERT_GE(steps.size(), 2u) << "the copy took one step: the database is too small to tell";
    EXPECT_EQ(steps.back().first, steps.back().second);
    struct stat st {};
    ASSERT_EQ(::stat(backup_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(std::filesystem::exists(backup_path().string() + ".partial"));

    const std::set<std::string> stored = PurchaseIds(backup_path());
    for (const auto& id : before) EXPECT_TRUE(stored.count(id)) << id << " missing";

    auto check = CheckDatabase("sqlite://" + backup_path().string());
    ASSERT_TRUE(check.has_value()) << check.error().message;
    EXPECT_TRUE(check->ledger_checked);
    for (const auto& fault : check->faults) ADD_FAILURE() << fault.kind << ": " << fault.detail;
}

TEST_F(SqliteBackupTest, BackupNeverReplacesAFileAndWantsAnAbsolutePath) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    auto relative = storage->Backup("backup.db", nullptr);
    ASSERT_FALSE(relative.has_value());
    EXPECT_EQ(relative.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(relative.error().field, "path");

    std::ofstream(backup_path()) << "precious";
    auto existing = storage->Backup(backup_path().string(), nullptr);
    ASSERT_FALSE(existing.has_value());
    EXPECT_EQ(existing.error().code, ErrorCode::kAlreadyExists);
    std::ifstream kept(backup_path());
    std::string text;
    kept >> text;
    EXPECT_EQ(text, "precious");

    const std::string other = (dir_.path() / "other.db").string();
    std::ofstream(other + ".partial") << "";
    auto busy = storage->Backup(other, nullptr);
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().code, ErrorCode::kAlreadyExists);
    EXPECT_FALSE(std::filesystem::exists(other));
}

TEST_F(SqliteBackupTest, CheckFindsABalanceOutOfStepWithItsEntries) {
    SeedLarge();
    {
        auto storage = Open();
        ASSERT_NE(storage, nullptr);
        ASSERT_TRUE(Buy(*storage, "p-1").ok());
    }
    auto clean = CheckDatabase("sqlite://" + db_path().string());
    ASSERT_TRUE(clean.has_value()) << clean.error().message;
    EXPECT_TRUE(clean->faults.empty());
    Exec(db_path(), "UPDATE balances SET points = points + 7");
    auto check = CheckDatabase("sqlite://" + db_path().string());
    ASSERT_TRUE(check.has_value()) << check.error().message;
    ASSERT_EQ(check->faults.size(), 1u);
    EXPECT_EQ(check->faults[0].kind, "ledger");
    EXPECT_NE(check->faults[0].detail.find("1000000001"), std::string::npos);
}

}  // namespace
}  // namespace kizuna::storage::sqlite
