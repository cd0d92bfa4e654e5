// Behaviour of the SQLite backend beyond the shared contract: group-commit batching, failure
// of a whole batch, migrations, the connection string, and damage made behind the backend's
// back (through a raw sqlite3 connection) found by the invariant check.

#include "storage/sqlite/sqlite_storage.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "power_loss_vfs.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/sqlite_txn.hpp"
#include "storage/sqlite/vfs_shim.hpp"
#include "storage/storage.hpp"
#include "storage_test_support.hpp"

namespace kizuna::storage::sqlite {
namespace {

using core::ErrorCode;
using storage::testing::At;
using storage::testing::Describe;
using storage::testing::kNow;
using storage::testing::SampleEntry;
using storage::testing::SampleLot;
using storage::testing::SampleMember;
using storage::testing::SampleProgram;
using storage::testing::SampleStore;
using storage::testing::StatusOf;

// A plain sqlite3 connection to the same file, for reaching past the backend.
class RawDatabase {
  public:
    explicit RawDatabase(const std::filesystem::path& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "cannot open " << path;
        sqlite3_busy_timeout(db_, 5000);
    }
    ~RawDatabase() { sqlite3_close(db_); }
    RawDatabase(const RawDatabase&) = delete;
    RawDatabase& operator=(const RawDatabase&) = delete;

    void Exec(const std::string& sql) {
        char* message = nullptr;
        int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
        EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (message ? message : "");
        sqlite3_free(message);
    }
    std::string Text(const std::string& sql) {
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
        std::string out;
        if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
            out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        }
        sqlite3_finalize(stmt);
        return out;
    }

    // One column of every row `sql` returns.
    std::vector<std::string> Column(const std::string& sql, int column) {
        sqlite3_stmt* stmt = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
            << sql << ": " << sqlite3_errmsg(db_);
        std::vector<std::string> out;
        while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(stmt, column);
            out.push_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
        }
        sqlite3_finalize(stmt);
        return out;
    }

  private:
    sqlite3* db_ = nullptr;
};

// What is wrong with the plan of `sql` for a read on the request path: a full scan or a sort.
// Empty when SQLite finds every row through an index and returns them in index order.
std::vector<std::string> SlowPlanSteps(RawDatabase& raw, const std::string& sql) {
    std::vector<std::string> steps = raw.Column("EXPLAIN QUERY PLAN " + sql, 3);
    EXPECT_FALSE(steps.empty()) << sql;
    std::vector<std::string> slow;
    for (const std::string& step : steps) {
        if (step.rfind("SCAN", 0) == 0 || step.find("TEMP B-TREE") != std::string::npos) {
            slow.push_back(step);
        }
    }
    return slow;
}

class SqliteStorageTest : public ::testing::Test {
  protected:
    std::filesystem::path db_path() const { return dir_.path() / "kizuna.db"; }

    std::unique_ptr<SqliteStorage> Open(StorageOptions options = {}, int busy_timeout_ms = 5000) {
        DatabaseLocation location{db_path().string(), false, busy_timeout_ms};
        auto opened = SqliteStorage::Open(location, options);
        EXPECT_TRUE(opened.has_value()) << opened.error().message;
        return opened.has_value() ? std::move(opened).value() : nullptr;
    }
    // Durable: the log is synced before a commit is acknowledged (Open's databases skip syncs,
    // for speed). `base_vfs`: the VFS under the storage's, when not the default.
    std::unique_ptr<SqliteStorage> OpenDurable(const char* base_vfs = nullptr) {
        DatabaseLocation location{db_path().string()};
        if (base_vfs != nullptr) location.base_vfs = base_vfs;
        auto opened = SqliteStorage::Open(location, {});
        EXPECT_TRUE(opened.has_value()) << opened.error().message;
        return opened.has_value() ? std::move(opened).value() : nullptr;
    }

    static void Seed(Storage& storage) {
        Status s = storage.Write([](WriteTxn& txn) -> Status {
            KZ_RETURN_IF_ERROR(txn.InsertProgram(SampleProgram("pg_ekimae")));
            KZ_RETURN_IF_ERROR(txn.InsertStore(SampleStore("st_shibuya", "pg_ekimae", "h1")));
            return txn.InsertMember(SampleMember("1000000001"));
        });
        ASSERT_TRUE(s.ok()) << Describe(s);
    }

    static Status Earn(Storage& storage, int64_t points, const std::string& ref) {
        return storage.Write([&](WriteTxn& txn) -> Status {
            KZ_RETURN_IF_ERROR(txn.InsertLot(
                SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", points, kNow + 100)));
            return StatusOf(txn.AppendEntry(
                SampleEntry("1000000001", "pg_ekimae", points, core::EntryKind::kEarn, ref)));
        });
    }

    static std::vector<std::string> Problems(Storage& storage) {
        std::vector<std::string> problems;
        Status s = storage.Read([&](ReadTxn& txn) -> Status {
            KZ_ASSIGN_OR_RETURN(problems, txn.CheckLedgerInvariants());
            return Status::Ok();
        });
        EXPECT_TRUE(s.ok()) << Describe(s);
        return problems;
    }

    storage::testing::TempDir dir_;
};

TEST_F(SqliteStorageTest, ConcurrentWritesShareCommits) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    constexpr int kThreads = 32;
    constexpr int kWritesPerThread = 100;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kWritesPerThread; ++i) {
                if (!Earn(*storage, 1, std::to_string(t) + "/" + std::to_string(i)).ok()) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    StorageStats stats = storage->Stats();
    EXPECT_EQ(stats.write_units, 1u + kThreads * kWritesPerThread);
    EXPECT_EQ(stats.failed_write_units, 0u);
    EXPECT_LT(stats.commits, stats.write_units) << "no two units ever shared a commit";
    EXPECT_GT(stats.largest_batch, 1u);
    EXPECT_TRUE(Problems(*storage).empty());
}

// Reads running while the writer commits see every commit whole: the balance always equals the
// sum of the entries read in the same transaction, and never goes back.
TEST_F(SqliteStorageTest, ReadsBetweenCommitsSeeEveryCommitWhole) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    constexpr int kEarns = 600;
    std::atomic<bool> done{false};
    std::atomic<int> failures{0};
    std::thread writing([&] {
        for (int i = 0; i < kEarns; ++i) {
            if (!Earn(*storage, 1, "e" + std::to_string(i)).ok()) ++failures;
        }
        done = true;
    });
    int64_t last = 0;
    int reads = 0;
    while (!done || reads < 20) {
        int64_t balance = 0;
        int64_t sum = 0;
        Status s = storage->Read([&](ReadTxn& txn) -> Status {
            KZ_ASSIGN_OR_RETURN(balance, txn.BalanceOf("1000000001", "pg_ekimae"));
            KZ_ASSIGN_OR_RETURN(
                auto entries, txn.EntriesOf("1000000001", std::nullopt, Page{1000, std::nullopt}));
            for (const auto& entry : entries) sum += entry.delta;
            return Status::Ok();
        });
        ASSERT_TRUE(s.ok()) << Describe(s);
        ASSERT_EQ(balance, sum) << "read " << reads;
        ASSERT_GE(balance, last) << "read " << reads;
        last = balance;
        ++reads;
    }
    writing.join();
    EXPECT_EQ(failures.load(), 0);
    int64_t final_balance = 0;
    ASSERT_TRUE(storage
                    ->Read([&](ReadTxn& txn) -> Status {
                        KZ_ASSIGN_OR_RETURN(final_balance,
                                            txn.BalanceOf("1000000001", "pg_ekimae"));
                        return Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(final_balance, kEarns);
    EXPECT_TRUE(Problems(*storage).empty());
}

TEST_F(SqliteStorageTest, MaxBatchBoundsTheUnitsOfOneTransaction) {
    auto storage = Open(StorageOptions{2, 3});
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) {
                EXPECT_TRUE(Earn(*storage, 1, std::to_string(t) + "/" + std::to_string(i)).ok());
            }
        });
    }
    for (auto& thread : threads) thread.join();
    StorageStats stats = storage->Stats();
    EXPECT_LE(stats.largest_batch, 3u);
    EXPECT_GE(stats.commits, (stats.write_units + 2) / 3);
}

TEST_F(SqliteStorageTest, BatchThatCannotStartFailsEveryUnitAsUnavailable) {
    auto storage = Open(StorageOptions{}, 200);
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    {
        RawDatabase raw(db_path());
        raw.Exec("BEGIN IMMEDIATE");  // another process holds the write lock
        Status blocked = Earn(*storage, 5, "blocked");
        ASSERT_FALSE(blocked.ok());
        EXPECT_EQ(blocked.error().code, ErrorCode::kUnavailable) << blocked.error().message;
        raw.Exec("ROLLBACK");
    }
    EXPECT_EQ(storage->Stats().failed_commits, 1u);
    Status after = Earn(*storage, 5, "after");
    EXPECT_TRUE(after.ok()) << Describe(after);
    Status read = storage->Read([](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf("1000000001", "pg_ekimae"));
        EXPECT_EQ(balance, 5);
        return Status::Ok();
    });
    EXPECT_TRUE(read.ok()) << Describe(read);
}

TEST_F(SqliteStorageTest, AcknowledgedWritesSurviveKillDashNine) {
    {
        auto storage = Open();
        ASSERT_NE(storage, nullptr);
        Seed(*storage);
    }
    int acks[2];
    ASSERT_EQ(::pipe(acks), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The child writes from several threads and reports each write once Write returned;
        // it runs until it is killed. No gtest in here: only exit codes.
        ::close(acks[0]);
        auto opened = SqliteStorage::Open(DatabaseLocation{db_path().string()}, {});
        if (!opened) ::_exit(2);
        std::vector<std::thread> writers;
        for (int t = 0; t < 8; ++t) {
            writers.emplace_back([&, t] {
                for (int i = 0;; ++i) {
                    std::string ref = std::to_string(t) + "/" + std::to_string(i);
                    if (!Earn(**opened, 1, ref).ok()) ::_exit(3);
                    std::string line = ref + "\n";  // one write() below PIPE_BUF is atomic
                    if (::write(acks[1], line.data(), line.size()) < 0) ::_exit(4);
                }
            });
        }
        for (auto& writer : writers) writer.join();
        ::_exit(0);
    }
    ::close(acks[1]);
    FILE* reports = ::fdopen(acks[0], "r");
    ASSERT_NE(reports, nullptr);
    std::set<std::string> acknowledged;
    char line[64];
    while (acknowledged.size() < 400 && std::fgets(line, sizeof line, reports) != nullptr) {
        acknowledged.insert(std::string(line, std::strcspn(line, "\n")));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    while (std::fgets(line, sizeof line, reports) != nullptr) {
        acknowledged.insert(std::string(line, std::strcspn(line, "\n")));
    }
    std::fclose(reports);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped before it was killed: " << status;
    ASSERT_GE(acknowledged.size(), 400u);

    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    std::set<std::string> stored;
    Status read = storage->Read([&](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(auto entries,
                            txn.EntriesOf("1000000001", std::nullopt, Page{1'000'000, {}}));
        for (const auto& entry : entries) stored.insert(entry.ref);
        return Status::Ok();
    });
    ASSERT_TRUE(read.ok()) << Describe(read);
    for (const std::string& ref : acknowledged) EXPECT_EQ(stored.count(ref), 1u) << ref;
    EXPECT_TRUE(Problems(*storage).empty());
}

TEST_F(SqliteStorageTest, InvariantCheckFindsRowsBrokenBehindTheBackendsBack) {
    {
        auto storage = Open();
        ASSERT_NE(storage, nullptr);
        Seed(*storage);
        ASSERT_TRUE(Earn(*storage, 100, "p-1").ok());
        EXPECT_TRUE(Problems(*storage).empty());
    }
    RawDatabase raw(db_path());
    raw.Exec("INSERT INTO programs VALUES ('pg_2', 'Two', 0), ('pg_3', 'Three', 0)");
    // A balance that no longer equals its entries and lots.
    raw.Exec("UPDATE balances SET points = points + 7 WHERE member_id = '1000000001'");
    // A balance row with no entries at all.
    raw.Exec("INSERT INTO balances VALUES ('1000000001', 'pg_2', 0)");
    // Entries with no balance row.
    raw.Exec(
        "INSERT INTO ledger_entries (member_id, program_id, store_id, delta, kind, ref, "
        "occurred_at, note) VALUES ('1000000001', 'pg_3', NULL, 4, 'adjustment', 'x', 0, '')");

    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    std::vector<std::string> problems = Problems(*storage);
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_NE(problems[0].find("program pg_2: balance 0, sum of entries none"), std::string::npos)
        << problems[0];
    EXPECT_NE(problems[1].find("program pg_3: balance none, sum of entries 4"), std::string::npos)
        << problems[1];
    EXPECT_NE(problems[2].find("program pg_ekimae: balance 107, sum of entries 100, "
                               "remaining in lots 100"),
              std::string::npos)
        << problems[2];
    // The entry written behind the backend's back is missing from the settlement totals too.
    EXPECT_NE(problems[3].find("program pg_3 store '' kind adjustment: ledger entries +4 -0 in 1 "
                               "entries, settlement totals none"),
              std::string::npos)
        << problems[3];
}

TEST_F(SqliteStorageTest, MigrationsRunOnceAndReopeningChangesNothing) {
    for (int i = 0; i < 3; ++i) {
        auto storage = Open();
        ASSERT_NE(storage, nullptr);
    }
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM schema_migrations"),
              std::to_string(LatestSchemaVersion()));
    EXPECT_EQ(raw.Text("SELECT MAX(version) FROM schema_migrations"),
              std::to_string(LatestSchemaVersion()));
    EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStorageTest, RefusesADatabaseMigratedByANewerKizuna) {
    { ASSERT_NE(Open(), nullptr); }
    {
        RawDatabase raw(db_path());
        raw.Exec("INSERT INTO schema_migrations VALUES (" +
                 std::to_string(LatestSchemaVersion() + 1) + ", 'from the future', 0)");
    }
    auto opened = SqliteStorage::Open(DatabaseLocation{db_path().string()}, {});
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(opened.error().message.find("newer than this Kizuna knows"), std::string::npos)
        << opened.error().message;
}

// Migration 4 rebuilds ledger_entries without AUTOINCREMENT: every entry keeps its id, and new
// entries still get ids above every earlier one.
// A member row as the schemas before migration 11 hold it (today's InsertMember writes the
// columns later migrations added).
constexpr const char* kOldSchemaMember =
    "INSERT INTO members (member_id, password_hash, name, name_kana, postal_code, address, phone,"
    " phone_normalized, birth_date, occupation, email, consent_email_offers,"
    " consent_postal_offers, consent_share_profile, status, created_at) VALUES ('1000000001',"
    " 'x', 'Sample', '', '', '', '', '', '', '', '', 0, 0, 0, 'active', 0)";

TEST_F(SqliteStorageTest, LedgerRebuiltWithoutAutoincrementKeepsEntryIds) {
    {
        DatabaseLocation location{db_path().string(), false};
        auto writer = Connection::Open(location, Connection::Role::kWriter);
        ASSERT_TRUE(writer.has_value()) << writer.error().message;
        Connection& connection = **writer;
        ASSERT_TRUE(MigrateTo(connection, At(kNow), 3).ok());
        ASSERT_TRUE(connection.Run("BEGIN").ok());
        SqliteTxn txn(connection);
        ASSERT_TRUE(txn.InsertProgram(SampleProgram("pg_ekimae")).ok());
        ASSERT_TRUE(txn.InsertStore(SampleStore("st_shibuya", "pg_ekimae", "h1")).ok());
        ASSERT_TRUE(connection.Run(kOldSchemaMember).ok());
        for (int i = 1; i <= 3; ++i) {
            ASSERT_TRUE(
                txn.InsertLot(SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", 5, kNow + 100))
                    .has_value());
            // The entry as schema 3 held it (today's AppendEntry also names the terminal).
            ASSERT_TRUE(connection
                            .Run("INSERT INTO ledger_entries (member_id, program_id, store_id, "
                                 "delta, kind, ref, occurred_at, note) VALUES ('1000000001', "
                                 "'pg_ekimae', 'st_shibuya', 5, 'earn', 'e" +
                                 std::to_string(i) + "', " + std::to_string(kNow) + ", '')")
                            .ok());
            EXPECT_EQ(connection.LastInsertRowId(), i);
        }
        ASSERT_TRUE(connection
                        .Run("INSERT INTO balances (member_id, program_id, points) VALUES "
                             "('1000000001', 'pg_ekimae', 15)")
                        .ok());
        ASSERT_TRUE(connection.Run("COMMIT").ok());
    }
    {
        // An id above the others, as AUTOINCREMENT allowed: sqlite_sequence follows it.
        RawDatabase raw(db_path());
        raw.Exec(
            "INSERT INTO ledger_entries (entry_id, member_id, program_id, store_id, delta, kind, "
            "ref, occurred_at, note) VALUES (10, '1000000001', 'pg_ekimae', NULL, 0, "
            "'adjustment', 'gap', 0, '')");
        EXPECT_EQ(raw.Text("SELECT seq FROM sqlite_sequence WHERE name = 'ledger_entries'"), "10");
    }
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(Earn(*storage, 1, "after").ok());
    std::vector<std::pair<int64_t, std::string>> entries;
    Status read = storage->Read([&](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(auto stored, txn.EntriesOf("1000000001", std::nullopt, Page{}));
        for (const auto& e : stored) entries.emplace_back(e.entry_id, e.ref);
        return Status::Ok();
    });
    ASSERT_TRUE(read.ok()) << Describe(read);
    const std::vector<std::pair<int64_t, std::string>> expected = {
        {11, "after"}, {10, "gap"}, {3, "e3"}, {2, "e2"}, {1, "e1"}};
    EXPECT_EQ(entries, expected);
    EXPECT_TRUE(Problems(*storage).empty());
    storage.reset();
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT MIN(version) FROM schema_migrations WHERE version >= 4"), "4");
    EXPECT_EQ(raw.Text("SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_master"
                       " WHERE name = 'ledger_entries'"),
              "0");
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'ledger_entries'"), "0");
    EXPECT_EQ(raw.Text("SELECT tbl_name FROM sqlite_master WHERE name = 'ledger_member'"),
              "ledger_entries");
    EXPECT_EQ(raw.Text("PRAGMA foreign_key_check"), "");
}

// A database at schema version 4 with program pg_ekimae, store st_shibuya and member 1000000001,
// and `purchases` (id, occurred_at) stored in that order through raw SQL, as Kizuna wrote them
// before migration 5, each with one line.
void CreateVersion4(const std::filesystem::path& path,
                    const std::vector<std::pair<std::string, int64_t>>& purchases) {
    {
        DatabaseLocation location{path.string(), false};
        auto writer = Connection::Open(location, Connection::Role::kWriter);
        ASSERT_TRUE(writer.has_value()) << writer.error().message;
        Connection& connection = **writer;
        ASSERT_TRUE(MigrateTo(connection, At(kNow), 4).ok());
        ASSERT_TRUE(connection.Run("BEGIN").ok());
        SqliteTxn txn(connection);
        ASSERT_TRUE(txn.InsertProgram(SampleProgram("pg_ekimae")).ok());
        ASSERT_TRUE(txn.InsertStore(SampleStore("st_shibuya", "pg_ekimae", "h1")).ok());
        ASSERT_TRUE(connection.Run(kOldSchemaMember).ok());
        ASSERT_TRUE(connection.Run("COMMIT").ok());
    }
    RawDatabase raw(path);
    for (const auto& [id, occurred_at] : purchases) {
        raw.Exec(
            "INSERT INTO purchases (purchase_id, member_id, card_number, store_id, program_id,"
            " occurred_at, recorded_at, currency, total, points_earned, rule_version,"
            " balance_after, fingerprint) VALUES ('" +
            id + "', '1000000001', '9810123456789012', 'st_shibuya', 'pg_ekimae', " +
            std::to_string(occurred_at) + ", " + std::to_string(occurred_at + 3) +
            ", 'JPY', 450, 0, 1, 0, 'sha256:" + id + "')");
        raw.Exec("INSERT INTO purchase_lines VALUES ('" + id +
                 "', 1, 'Coffee', 'CF-01', 'drinks', 1, 450)");
    }
}

// Migration 5 keys purchase lines (and the refund lines naming them) by purchase_no: every
// purchase, line and refund line is kept, each purchase's number is the rowid it had (so a
// member's purchases at the same time are still listed the later stored first), and purchases
// stored after the migration, their lines and refunds work as before.
TEST_F(SqliteStorageTest, PurchaseLinesKeyedByPurchaseNumberKeepRowsAndOrder) {
    // Ids out of storage order, so an order by id would show.
    ASSERT_NO_FATAL_FAILURE(CreateVersion4(
        db_path(), {{"p-z", kNow - 60}, {"p-b", kNow}, {"p-c", kNow}, {"p-a", kNow}}));
    {
        RawDatabase raw(db_path());
        raw.Exec("INSERT INTO refunds VALUES ('rf-1', 'p-c', 'st_shibuya', 450, 0, 0, " +
                 std::to_string(kNow + 5) + ", 0, 'sha256:rf')");
        raw.Exec("INSERT INTO refund_lines VALUES ('rf-1', 1, 'p-c', 1, 1, 450)");
        raw.Exec(
            "INSERT INTO lots (member_id, program_id, store_id, purchase_id, earned,"
            " remaining, earned_at, expires_at) VALUES ('1000000001', 'pg_ekimae',"
            " 'st_shibuya', 'p-b', 0, 0, 0, 0)");
    }
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Status wrote = storage->Write([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(storage::testing::SamplePurchase(
            "p-0", "1000000001", "st_shibuya", "pg_ekimae", kNow)));
        return txn.InsertRefund(core::Refund{"rf-2",
                                             "p-0",
                                             "st_shibuya",
                                             300,
                                             0,
                                             0,
                                             At(kNow + 9),
                                             0,
                                             "sha256:rf2",
                                             {{.purchase_line = 1, .quantity = 1, .amount = 300}},
                                             0,
                                             "",
                                             ""});
    });
    ASSERT_TRUE(wrote.ok()) << Describe(wrote);
    const std::vector<std::string> expected = {"p-0", "p-a", "p-c", "p-b", "p-z"};
    for (std::optional<std::string_view> program :
         {std::optional<std::string_view>(), std::optional<std::string_view>("pg_ekimae")}) {
        std::vector<std::string> ids;
        std::vector<std::size_t> lines;
        Status read = storage->Read([&](ReadTxn& txn) -> Status {
            KZ_ASSIGN_OR_RETURN(auto purchases, txn.PurchasesOf("1000000001", program, 10));
            for (const auto& p : purchases) {
                ids.push_back(p.purchase_id);
                lines.push_back(p.lines.size());
            }
            return Status::Ok();
        });
        ASSERT_TRUE(read.ok()) << Describe(read);
        EXPECT_EQ(ids, expected);
        EXPECT_EQ(lines, (std::vector<std::size_t>{3, 1, 1, 1, 1}));
    }
    Status found = storage->Read([](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(auto p, txn.FindPurchase("st_shibuya", "p-c"));
        EXPECT_TRUE(p.has_value());
        if (!p) return Status::Ok();
        EXPECT_EQ(p->fingerprint, "sha256:p-c");
        EXPECT_EQ(p->occurred_at, At(kNow));
        EXPECT_EQ(p->lines.size(), 1u);
        for (const char* id : {"p-c", "p-0"}) {
            KZ_ASSIGN_OR_RETURN(auto refunds, txn.RefundsOf("st_shibuya", id));
            EXPECT_EQ(refunds.size(), 1u) << id;
            if (refunds.size() != 1) continue;
            EXPECT_EQ(refunds[0].lines.size(), 1u) << id;
            if (refunds[0].lines.empty()) continue;
            EXPECT_EQ(refunds[0].lines[0].purchase_line, id == std::string("p-c") ? 0 : 1);
        }
        return Status::Ok();
    });
    ASSERT_TRUE(found.ok()) << Describe(found);
    // Foreign keys are on again after the migration.
    Status orphan = storage->Write([](WriteTxn& txn) -> Status {
        return StatusOf(txn.InsertLot(
            SampleLot("1000000001", "pg_ekimae", "st_shibuya", "p-missing", 1, kNow + 100)));
    });
    ASSERT_FALSE(orphan.ok());
    EXPECT_NE(orphan.error().message.find("FOREIGN KEY"), std::string::npos);
    storage.reset();
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT MIN(version) FROM schema_migrations WHERE version >= 5"), "5");
    EXPECT_EQ(raw.Column("SELECT purchase_id FROM purchases ORDER BY purchase_no", 0),
              (std::vector<std::string>{"p-z", "p-b", "p-c", "p-a", "p-0"}));
    EXPECT_EQ(raw.Text("SELECT group_concat(name) FROM pragma_table_info('purchase_lines')"
                       " WHERE pk > 0"),
              "purchase_no,line_no");
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM purchase_lines"), "7");
    EXPECT_EQ(raw.Text("SELECT group_concat(purchase_no) FROM refund_lines"), "3,5");
    EXPECT_EQ(raw.Text("PRAGMA foreign_key_check"), "");
}

// The rebuild keeps every row or none, and every reference it computes anew holds: a line of a
// missing purchase, or a refund line naming a line its purchase does not have (left by an older
// Kizuna, or by hand), stops the migration, and the database stays at version 4 as it was.
TEST_F(SqliteStorageTest, PurchaseLinesMigrationRefusesRowsOfMissingPurchases) {
    const std::vector<std::pair<std::string, std::string>> damages = {
        {"INSERT INTO purchase_lines VALUES ('p-gone', 1, 'Coffee', '', '', 1, 450)",
         "NOT NULL constraint failed: purchase_lines_rebuilt.purchase_no"},
        {"INSERT INTO refunds VALUES ('rf-1', 'p-1', 'st_shibuya', 450, 0, 0, 0, 0, 'sha256:rf');"
         "INSERT INTO refund_lines VALUES ('rf-1', 1, 'p-1', 2, 1, 450)",
         "a row of refund_lines refers to a missing row of purchase_lines"},
    };
    for (const auto& [damage, why] : damages) {
        std::filesystem::remove(db_path());
        ASSERT_NO_FATAL_FAILURE(CreateVersion4(db_path(), {{"p-1", kNow}}));
        { RawDatabase(db_path()).Exec(damage); }
        auto opened = SqliteStorage::Open(DatabaseLocation{db_path().string(), false}, {});
        ASSERT_FALSE(opened.has_value()) << damage;
        EXPECT_NE(opened.error().message.find("schema migration 5"), std::string::npos)
            << opened.error().message;
        EXPECT_NE(opened.error().message.find(why), std::string::npos) << opened.error().message;
        RawDatabase raw(db_path());
        EXPECT_EQ(raw.Text("SELECT MAX(version) FROM schema_migrations"), "4");
        EXPECT_EQ(raw.Text("SELECT group_concat(name) FROM pragma_table_info('purchase_lines')"
                           " WHERE pk > 0"),
                  "purchase_id,line_no");
        EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM purchase_lines WHERE purchase_id = 'p-1'"), "1");
    }
}

// Migration 6 scopes purchase, redemption and refund ids to their store and counts each
// purchase's expired points. A database at version 5 with: purchases p-1 (300 points, its lot
// expired) and p-2 (100 points) at st_shibuya, a refund of p-2 made by st_ebisu of the same
// program (allowed before) with one line, and a redemption.
TEST_F(SqliteStorageTest, IdsPerStoreMigrationKeepsRowsAndCountsExpiredPoints) {
    {
        DatabaseLocation location{db_path().string(), false};
        auto writer = Connection::Open(location, Connection::Role::kWriter);
        ASSERT_TRUE(writer.has_value()) << writer.error().message;
        Connection& connection = **writer;
        ASSERT_TRUE(MigrateTo(connection, At(kNow), 5).ok());
        ASSERT_TRUE(connection.Run("BEGIN").ok());
        SqliteTxn txn(connection);
        ASSERT_TRUE(txn.InsertProgram(SampleProgram("pg_ekimae")).ok());
        ASSERT_TRUE(txn.InsertStore(SampleStore("st_shibuya", "pg_ekimae", "h1")).ok());
        ASSERT_TRUE(txn.InsertStore(SampleStore("st_ebisu", "pg_ekimae", "h2")).ok());
        ASSERT_TRUE(connection.Run(kOldSchemaMember).ok());
        ASSERT_TRUE(connection.Run("COMMIT").ok());
    }
    {
        RawDatabase raw(db_path());
        const std::string t = std::to_string(kNow);
        for (const auto& [id, points] : {std::pair{"p-1", 300}, std::pair{"p-2", 100}}) {
            raw.Exec(std::string("INSERT INTO purchases (purchase_id, member_id, card_number,"
                                 " store_id, program_id, occurred_at, recorded_at, currency,"
                                 " total, points_earned, rule_version, balance_after,"
                                 " fingerprint) VALUES ('") +
                     id + "', '1000000001', '', 'st_shibuya', 'pg_ekimae', " + t + ", " + t +
                     ", 'JPY', 30000, " + std::to_string(points) + ", 1, 0, 'sha256:" + id + "')");
            raw.Exec(std::string("INSERT INTO purchase_lines SELECT purchase_no, 1, 'Book', 'B-1',"
                                 " '', 1, 30000 FROM purchases WHERE purchase_id = '") +
                     id + "'");
            raw.Exec(std::string("INSERT INTO ledger_entries (member_id, program_id, store_id,"
                                 " delta, kind, ref, occurred_at, note) VALUES ('1000000001',"
                                 " 'pg_ekimae', 'st_shibuya', ") +
                     std::to_string(points) + ", 'earn', '" + id + "', " + t + ", 'earned')");
        }
        raw.Exec(
            "INSERT INTO lots VALUES (7, '1000000001', 'pg_ekimae', 'st_shibuya', 'p-1', 300,"
            " 0, " +
            t + ", " + t + ")");
        raw.Exec(
            "INSERT INTO lots VALUES (8, '1000000001', 'pg_ekimae', 'st_shibuya', 'p-2', 100,"
            " 100, " +
            t + ", " + std::to_string(kNow + 86400) + ")");
        raw.Exec(
            "INSERT INTO ledger_entries (member_id, program_id, store_id, delta, kind, ref,"
            " occurred_at, note) VALUES ('1000000001', 'pg_ekimae', NULL, -300, 'expire',"
            " '7', " +
            t + ", 'expired')");
        raw.Exec("INSERT INTO balances VALUES ('1000000001', 'pg_ekimae', 100)");
        raw.Exec("INSERT INTO refunds VALUES ('rf-1', 'p-2', 'st_ebisu', 30000, 0, 0, " + t +
                 ", 100, 'sha256:rf')");
        raw.Exec(
            "INSERT INTO refund_lines SELECT 'rf-1', 1, purchase_no, 1, 1, 30000"
            " FROM purchases WHERE purchase_id = 'p-2'");
        raw.Exec(
            "INSERT INTO redemptions VALUES ('r-1', '1000000001', 'st_shibuya', 'pg_ekimae',"
            " 0, " +
            t + ", 100, 'sha256:r')");
    }
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Status read = storage->Read([](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(auto p1, txn.FindPurchase("st_shibuya", "p-1"));
        KZ_ASSIGN_OR_RETURN(auto p2, txn.FindPurchase("st_shibuya", "p-2"));
        EXPECT_TRUE(p1 && p2);
        if (!p1 || !p2) return Status::Ok();
        EXPECT_EQ(p1->points_expired, 300);
        EXPECT_EQ(p2->points_expired, 0);
        EXPECT_EQ(p1->lines.size(), 1u);
        KZ_ASSIGN_OR_RETURN(auto elsewhere, txn.FindPurchase("st_ebisu", "p-1"));
        EXPECT_FALSE(elsewhere.has_value());
        KZ_ASSIGN_OR_RETURN(auto refunds, txn.RefundsOf("st_shibuya", "p-2"));
        EXPECT_EQ(refunds.size(), 1u);
        if (refunds.size() == 1) {
            EXPECT_EQ(refunds[0].refund_id, "rf-1");
            EXPECT_EQ(refunds[0].store_id, "st_ebisu");  // kept: made before ids were per store
            EXPECT_EQ(refunds[0].purchase_id, "p-2");
            EXPECT_EQ(refunds[0].lines.size(), 1u);
        }
        KZ_ASSIGN_OR_RETURN(auto refund, txn.FindRefund("st_ebisu", "rf-1"));
        EXPECT_TRUE(refund.has_value() && refund->purchase_id == "p-2");
        KZ_ASSIGN_OR_RETURN(auto redemption, txn.FindRedemption("st_shibuya", "r-1"));
        EXPECT_TRUE(redemption.has_value());
        KZ_ASSIGN_OR_RETURN(auto problems, txn.CheckLedgerInvariants());
        EXPECT_TRUE(problems.empty());
        return Status::Ok();
    });
    ASSERT_TRUE(read.ok()) << Describe(read);
    // The same ids are free at another store, and still taken at their own.
    Status wrote = storage->Write([](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertPurchase(
            storage::testing::SamplePurchase("p-1", "1000000001", "st_ebisu", "pg_ekimae", kNow)));
        return txn.InsertRedemption(core::Redemption{"r-1", "1000000001", "st_ebisu", "pg_ekimae",
                                                     0, At(kNow), 100, "sha256:r2", "", ""});
    });
    ASSERT_TRUE(wrote.ok()) << Describe(wrote);
    Status again = storage->Write([](WriteTxn& txn) -> Status {
        return txn.InsertPurchase(
            storage::testing::SamplePurchase("p-1", "1000000001", "st_shibuya", "pg_ekimae", kNow));
    });
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
    storage.reset();
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT MIN(version) FROM schema_migrations WHERE version >= 6"), "6");
    EXPECT_EQ(raw.Text("PRAGMA foreign_key_check"), "");
    EXPECT_EQ(raw.Text("SELECT lot_id || ':' || purchase_id FROM lots WHERE lot_id = 7"), "7:p-1");
}

TEST_F(SqliteStorageTest, ForeignKeysAreEnforced) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    Status orphan = storage->Write([](WriteTxn& txn) -> Status {
        return StatusOf(
            txn.InsertLot(SampleLot("1000000099", "pg_ekimae", "st_shibuya", "", 1, kNow)));
    });
    ASSERT_FALSE(orphan.ok());
    EXPECT_EQ(orphan.error().code, ErrorCode::kInternal) << orphan.error().message;
    EXPECT_NE(orphan.error().message.find("FOREIGN KEY"), std::string::npos);
}

TEST_F(SqliteStorageTest, ReadConnectionsRefuseWrites) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Status s = storage->Read([](ReadTxn& txn) -> Status {
        auto* writable = dynamic_cast<WriteTxn*>(&txn);
        if (writable == nullptr) return Status::Ok();
        return writable->InsertProgram(SampleProgram("pg_sneaky"));
    });
    EXPECT_FALSE(s.ok());
}

TEST_F(SqliteStorageTest, UsageReadsWalkIndexesInOrderWithoutSorting) {
    { ASSERT_NE(Open(), nullptr); }
    RawDatabase raw(db_path());
    // The check itself notices a sort and a scan.
    EXPECT_EQ(SlowPlanSteps(raw, "SELECT * FROM purchases WHERE member_id = ?1 ORDER BY total"),
              std::vector<std::string>{"USE TEMP B-TREE FOR ORDER BY"});
    EXPECT_EQ(SlowPlanSteps(raw, "SELECT * FROM purchases WHERE card_number = ?1").size(), 1u);

    std::vector<std::string_view> queries = SqliteTxn::UsageQueries();
    EXPECT_GE(queries.size(), 6u);
    for (std::string_view sql : queries) {
        EXPECT_EQ(SlowPlanSteps(raw, std::string(sql)), std::vector<std::string>()) << sql;
    }
}

TEST(OpenStorage, RefusesUnsupportedSchemesNamingTheSupportedOnesButNoSecrets) {
    for (std::string url :
         {"postgresql://kizuna:s3cret@db.example/kizuna", "mysql://x", "/var/lib/kizuna.db", ""}) {
        auto opened = OpenStorage(url);
        ASSERT_FALSE(opened.has_value()) << url;
        EXPECT_EQ(opened.error().code, ErrorCode::kInvalidArgument) << url;
        EXPECT_NE(opened.error().message.find("unsupported storage scheme"), std::string::npos);
        EXPECT_NE(opened.error().message.find("sqlite::memory:"), std::string::npos);
        EXPECT_EQ(opened.error().message.find("s3cret"), std::string::npos);
    }
    auto empty_path = OpenStorage("sqlite://");
    ASSERT_FALSE(empty_path.has_value());
    EXPECT_EQ(empty_path.error().code, ErrorCode::kInvalidArgument);
    auto bad_options = OpenStorage("sqlite::memory:", StorageOptions{0, 512});
    ASSERT_FALSE(bad_options.has_value());
    EXPECT_EQ(bad_options.error().code, ErrorCode::kInvalidArgument);
}

TEST(OpenStorage, OpensAbsoluteAndRelativePathsAndReportsAMissingDirectory) {
    storage::testing::TempDir dir;
    auto absolute = OpenStorage("sqlite://" + (dir.path() / "abs.db").string());
    ASSERT_TRUE(absolute.has_value()) << absolute.error().message;
    EXPECT_EQ((*absolute)->BackendName(), "sqlite");
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "abs.db"));

    auto previous = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    auto relative = OpenStorage("sqlite://rel.db");
    std::filesystem::current_path(previous);
    ASSERT_TRUE(relative.has_value()) << relative.error().message;
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "rel.db"));

    auto missing = OpenStorage("sqlite://" + (dir.path() / "no" / "such" / "k.db").string());
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ErrorCode::kUnavailable);
}

// Regression: storages of one process opening the same new file at once; the late ones were
// refused as if another process had the file (a lock upgrade SQLite will not wait for).
TEST(OpenStorage, StoragesOfOneProcessOpeningTheSameNewFileAtOnceAllOpen) {
    constexpr int kRounds = 10;
    constexpr int kStorages = 6;
    for (int round = 0; round < kRounds; ++round) {
        storage::testing::TempDir dir;
        const DatabaseLocation location{(dir.path() / "kizuna.db").string(), false};
        std::vector<std::unique_ptr<SqliteStorage>> opened(kStorages);
        std::vector<std::string> errors(kStorages);
        std::vector<std::thread> threads;
        for (int i = 0; i < kStorages; ++i) {
            threads.emplace_back([&, i] {
                auto storage = SqliteStorage::Open(location, StorageOptions{});
                if (storage.has_value()) {
                    opened[i] = std::move(storage).value();
                } else {
                    errors[i] = storage.error().message;
                }
            });
        }
        for (std::thread& thread : threads) thread.join();
        for (int i = 0; i < kStorages; ++i) {
            ASSERT_NE(opened[i], nullptr) << "round " << round << ": " << errors[i];
        }
    }
}

TEST(OpenStorage, RefusesAFileThatIsNotADatabaseAsUnavailable) {
    storage::testing::TempDir dir;
    std::filesystem::path path = dir.path() / "notes.txt";
    {
        std::FILE* file = std::fopen(path.c_str(), "w");
        ASSERT_NE(file, nullptr);
        for (int i = 0; i < 200; ++i) std::fputs("these are not the pages of a database\n", file);
        std::fclose(file);
    }
    auto opened = OpenStorage("sqlite://" + path.string());
    ASSERT_FALSE(opened.has_value());
    EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(opened.error().message.find("not a database"), std::string::npos)
        << opened.error().message;
}

TEST(OpenStorage, EachMemoryDatabaseIsSeparateAndSharedByItsConnections) {
    auto a = OpenStorage("sqlite::memory:", StorageOptions{3, 16});
    auto b = OpenStorage("sqlite::memory:");
    ASSERT_TRUE(a.has_value() && b.has_value());
    Status written =
        (*a)->Write([](WriteTxn& txn) { return txn.InsertProgram(SampleProgram("pg_a")); });
    ASSERT_TRUE(written.ok()) << Describe(written);
    // Several reads at once, so more than one reader connection is used.
    std::vector<std::thread> readers;
    std::atomic<int> seen{0};
    for (int i = 0; i < 6; ++i) {
        readers.emplace_back([&] {
            Status s = (*a)->Read([&](ReadTxn& txn) -> Status {
                KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram("pg_a"));
                if (program) ++seen;
                return Status::Ok();
            });
            EXPECT_TRUE(s.ok()) << Describe(s);
        });
    }
    for (auto& reader : readers) reader.join();
    EXPECT_EQ(seen.load(), 6);
    Status other = (*b)->Read([](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram("pg_a"));
        EXPECT_FALSE(program.has_value());
        return Status::Ok();
    });
    EXPECT_TRUE(other.ok()) << Describe(other);
}

// The WAL write buffer keeps the whole of a commit in memory until the commit frame; a
// transaction far larger than the buffer (4 MiB) must still commit whole, be read back by
// another connection, and survive a reopen (which replays or checkpoints the log).
TEST_F(SqliteStorageTest, TransactionLargerThanTheLogBufferCommitsWhole) {
    constexpr int kEntries = 20000;  // ~6 MiB of log frames with their index pages
    {
        auto storage = Open();
        ASSERT_NE(storage, nullptr);
        Seed(*storage);
        Status big = storage->Write([&](WriteTxn& txn) -> Status {
            KZ_RETURN_IF_ERROR(txn.InsertLot(
                SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", kEntries, kNow + 100)));
            for (int i = 0; i < kEntries; ++i) {
                auto entry = SampleEntry("1000000001", "pg_ekimae", 1, core::EntryKind::kEarn,
                                         "big/" + std::to_string(i));
                entry.note = std::string(200, 'x');  // fatter rows, more pages
                KZ_RETURN_IF_ERROR(StatusOf(txn.AppendEntry(entry)));
            }
            return Status::Ok();
        });
        ASSERT_TRUE(big.ok()) << Describe(big);
        Status read = storage->Read([&](ReadTxn& txn) -> Status {
            KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf("1000000001", "pg_ekimae"));
            EXPECT_EQ(balance, kEntries);
            return Status::Ok();
        });
        EXPECT_TRUE(read.ok()) << Describe(read);
        EXPECT_TRUE(Problems(*storage).empty());
    }
    auto reopened = Open();
    ASSERT_NE(reopened, nullptr);
    Status read = reopened->Read([&](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf("1000000001", "pg_ekimae"));
        EXPECT_EQ(balance, kEntries);
        return Status::Ok();
    });
    EXPECT_TRUE(read.ok()) << Describe(read);
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
}

// When writes stop, the checkpointer copies the rest of the log into the database after
// idle_checkpoint_ms even though the log is far below checkpoint_pages, and the next commit
// starts the log again from its beginning; with idle_checkpoint_ms 0 the log is left alone.
TEST_F(SqliteStorageTest, IdleCheckpointCopiesTheLogWhenWritesStop) {
    for (const int idle_ms : {0, 50}) {
        SCOPED_TRACE("idle_checkpoint_ms " + std::to_string(idle_ms));
        std::filesystem::remove(db_path());
        std::filesystem::remove(db_path().string() + "-wal");
        std::filesystem::remove(db_path().string() + "-shm");
        StorageOptions options;
        options.idle_checkpoint_ms = idle_ms;
        auto storage = Open(options);
        ASSERT_NE(storage, nullptr);
        Seed(*storage);
        for (int i = 0; i < 50; ++i) {
            Status s = Earn(*storage, 1, "idle/" + std::to_string(i));
            ASSERT_TRUE(s.ok()) << Describe(s);
        }
        const uint64_t before = storage->Stats().checkpoints;
        for (int i = 0; i < 100 && storage->Stats().checkpoints == before; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (idle_ms == 0) {
            EXPECT_EQ(storage->Stats().checkpoints, before);
            continue;
        }
        ASSERT_EQ(storage->Stats().checkpoints, before + 1);
        // Once per log: idle time without commits does not repeat the round.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        EXPECT_EQ(storage->Stats().checkpoints, before + 1);
        const uint64_t restarts = storage->Stats().log_restarts;
        Status s = Earn(*storage, 1, "idle/after");
        ASSERT_TRUE(s.ok()) << Describe(s);
        EXPECT_EQ(storage->Stats().log_restarts, restarts + 1);
        Status read = storage->Read([&](ReadTxn& txn) -> Status {
            KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf("1000000001", "pg_ekimae"));
            EXPECT_EQ(balance, 51);
            return Status::Ok();
        });
        ASSERT_TRUE(read.ok()) << Describe(read);
        EXPECT_TRUE(Problems(*storage).empty());
    }
}

// Checkpoints run beside the writer: after enough commits the log has been copied back into
// the database file at least once, readers always see every acknowledged write, and the file
// stays intact.
TEST_F(SqliteStorageTest, CheckpointsRunBesideTheWriter) {
    StorageOptions options;
    options.checkpoint_pages = 100;    // rounds every few dozen commits...
    options.log_restart_pages = 1000;  // ...and the writer restarts the log now and then
    auto storage = Open(options);
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    constexpr int kWrites = 3000;  // each commit adds a few pages: many thousands in all
    for (int i = 0; i < kWrites; ++i) {
        Status s = Earn(*storage, 1, "cp/" + std::to_string(i));
        ASSERT_TRUE(s.ok()) << Describe(s);
        if (i % 500 == 499) {
            Status read = storage->Read([&](ReadTxn& txn) -> Status {
                KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf("1000000001", "pg_ekimae"));
                EXPECT_EQ(balance, i + 1);
                return Status::Ok();
            });
            ASSERT_TRUE(read.ok()) << Describe(read);
        }
    }
    // The checkpointer works asynchronously: give it a moment to finish its round.
    for (int i = 0; i < 100 && storage->Stats().checkpoints == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_GE(storage->Stats().checkpoints, 10u);
    // The log restarted instead of growing: it holds far fewer frames than were written.
    EXPECT_LT(std::filesystem::file_size(db_path().string() + "-wal"), 4096u * 4000u);
    EXPECT_TRUE(Problems(*storage).empty());
    storage.reset();
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(raw.Text("SELECT points FROM balances WHERE member_id = '1000000001'"),
              std::to_string(kWrites));
}

// WriteAsync: every unit is answered exactly once, after its commit, with its own outcome; a
// failing unit fails alone; the caller's thread is never blocked.
TEST_F(SqliteStorageTest, WriteAsyncAnswersEachUnitOnceWithItsOwnOutcome) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    constexpr int kUnits = 400;
    std::mutex mutex;
    std::condition_variable all_answered;
    std::vector<int> answers(kUnits, 0);
    std::vector<std::optional<ErrorCode>> outcomes(kUnits);
    int answered = 0;
    for (int i = 0; i < kUnits; ++i) {
        const bool overdraw = i % 10 == 9;  // every tenth unit asks for points nobody has
        storage->WriteAsync(
            [i, overdraw](WriteTxn& txn) -> Status {
                if (overdraw) {
                    return StatusOf(txn.AppendEntry(
                        SampleEntry("1000000001", "pg_ekimae", -1000000, core::EntryKind::kRedeem,
                                    "async/over/" + std::to_string(i))));
                }
                KZ_RETURN_IF_ERROR(txn.InsertLot(
                    SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", 1, kNow + 100)));
                return StatusOf(txn.AppendEntry(SampleEntry("1000000001", "pg_ekimae", 1,
                                                            core::EntryKind::kEarn,
                                                            "async/" + std::to_string(i))));
            },
            [&, i](Status status) {
                std::lock_guard lock(mutex);
                ++answers[i];
                if (!status.ok()) outcomes[i] = status.error().code;
                if (++answered == kUnits) all_answered.notify_all();
            });
    }
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(all_answered.wait_for(lock, std::chrono::seconds(30),
                                          [&] { return answered == kUnits; }));
    }
    int earned = 0;
    for (int i = 0; i < kUnits; ++i) {
        EXPECT_EQ(answers[i], 1) << "unit " << i;
        if (i % 10 == 9) {
            EXPECT_EQ(outcomes[i], ErrorCode::kInsufficientPoints) << "unit " << i;
        } else {
            EXPECT_FALSE(outcomes[i].has_value()) << "unit " << i;
            ++earned;
        }
    }
    Status read = storage->Read([&](ReadTxn& txn) -> Status {
        KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf("1000000001", "pg_ekimae"));
        EXPECT_EQ(balance, earned);
        return Status::Ok();
    });
    EXPECT_TRUE(read.ok()) << Describe(read);
    EXPECT_TRUE(Problems(*storage).empty());
    // The overdrafts failed before writing anything: no batch had to run again.
    EXPECT_EQ(storage->Stats().rerun_batches, 0u);
}

// Units run without a savepoint each; a unit that fails after writing sends its batch round
// again, isolated. Its batch-mates still commit with their own outcomes, and nothing it wrote
// stays, whether it returned an error, hit a constraint or threw.
TEST_F(SqliteStorageTest, UnitFailingAfterItWroteFailsAloneInItsBatch) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    // The writer is held inside a first unit until every other unit is queued behind it, so
    // that those all share the next batch.
    std::mutex mutex;
    std::condition_variable changed;
    bool holding = false;
    bool release = false;
    storage->WriteAsync(
        [&](WriteTxn&) -> Status {
            std::unique_lock lock(mutex);
            holding = true;
            changed.notify_all();
            changed.wait(lock, [&] { return release; });
            return Status::Ok();
        },
        [](Status) {});
    {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(30), [&] { return holding; }));
    }
    constexpr int kUnits = 30;
    std::vector<std::optional<Status>> outcomes(kUnits);
    int answered = 0;
    auto earn = [](WriteTxn& txn, const std::string& ref) -> Status {
        KZ_RETURN_IF_ERROR(
            txn.InsertLot(SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", 1, kNow + 100)));
        return StatusOf(txn.AppendEntry(
            SampleEntry("1000000001", "pg_ekimae", 1, core::EntryKind::kEarn, ref)));
    };
    for (int i = 0; i < kUnits; ++i) {
        const std::string ref = (i % 3 == 1 ? "bad/" : "good/") + std::to_string(i);
        storage->WriteAsync(
            [i, ref, earn](WriteTxn& txn) -> Status {
                KZ_RETURN_IF_ERROR(earn(txn, ref));
                if (i % 3 != 1) return Status::Ok();
                // Each failure comes after the unit's own lot, entry and balance were written.
                if (i % 9 == 1) {
                    return core::MakeError(ErrorCode::kRuleViolation, "refused after writing");
                }
                if (i % 9 == 4) throw std::runtime_error("thrown after writing");
                return StatusOf(txn.InsertLot(
                    SampleLot("1000000001", "pg_nowhere", "st_shibuya", "", 1, kNow + 100)));
            },
            [&, i](Status status) {
                std::lock_guard lock(mutex);
                outcomes[i] = std::move(status);
                if (++answered == kUnits) changed.notify_all();
            });
    }
    {
        std::unique_lock lock(mutex);
        release = true;
        changed.notify_all();
        ASSERT_TRUE(
            changed.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kUnits; }));
    }
    StorageStats stats = storage->Stats();
    EXPECT_EQ(stats.largest_batch, static_cast<uint64_t>(kUnits));
    EXPECT_EQ(stats.rerun_batches, 1u);
    EXPECT_EQ(stats.failed_write_units, static_cast<uint64_t>(kUnits / 3));
    int good = 0;
    for (int i = 0; i < kUnits; ++i) {
        ASSERT_TRUE(outcomes[i].has_value()) << "unit " << i;
        const Status& status = *outcomes[i];
        if (i % 3 != 1) {
            EXPECT_TRUE(status.ok()) << "unit " << i << ": " << Describe(status);
            ++good;
            continue;
        }
        ASSERT_FALSE(status.ok()) << "unit " << i;
        const ErrorCode expected = i % 9 == 1 ? ErrorCode::kRuleViolation : ErrorCode::kInternal;
        EXPECT_EQ(status.error().code, expected) << "unit " << i << ": " << status.error().message;
    }
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM ledger_entries WHERE ref LIKE 'good/%'"),
              std::to_string(good));
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM ledger_entries WHERE ref LIKE 'bad/%'"), "0");
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM lots"), std::to_string(good));
    EXPECT_EQ(raw.Text("SELECT points FROM balances WHERE member_id = '1000000001'"),
              std::to_string(good));
    EXPECT_TRUE(Problems(*storage).empty());
}

// A unit queued while the storage shuts down is still answered (drained, not dropped).
TEST_F(SqliteStorageTest, WriteAsyncUnitsQueuedAtShutdownAreAnswered) {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    std::atomic<int> answered{0};
    for (int i = 0; i < 200; ++i) {
        storage->WriteAsync(
            [i](WriteTxn& txn) -> Status {
                KZ_RETURN_IF_ERROR(txn.InsertLot(
                    SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", 1, kNow + 100)));
                return StatusOf(txn.AppendEntry(SampleEntry("1000000001", "pg_ekimae", 1,
                                                            core::EntryKind::kEarn,
                                                            "drain/" + std::to_string(i))));
            },
            [&](Status) { ++answered; });
    }
    storage.reset();  // destructor drains the queue and the answers
    EXPECT_EQ(answered.load(), 200);
}

// The power-loss hole of the deferred log syncs: when the log restarts, SQLite rewrites its
// header and syncs it before new frames overwrite the old ones (wal.c, ticket ff5be73dee). The
// writer used to swallow that sync inside its commit; the power-loss VFS counts every frame
// written while a new header was not yet durable.
TEST_F(SqliteStorageTest, RestartedLogHeaderIsDurableBeforeNewFramesOverwriteTheOldLog) {
    testing::PowerLossVfs vfs;  // never loses power here: it only watches the order
    DatabaseLocation location{db_path().string()};
    location.base_vfs = vfs.name();
    StorageOptions options;
    options.checkpoint_pages = 8;
    options.log_restart_pages = 16;
    auto opened = SqliteStorage::Open(location, options);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    std::unique_ptr<SqliteStorage> storage = std::move(opened).value();
    Seed(*storage);
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(Earn(*storage, 1, "r" + std::to_string(i)).ok());
    storage.reset();
    const testing::PowerLossVfs::Counters counters = vfs.counters();
    EXPECT_GE(counters.log_header_writes, 3u) << "the log did not restart";
    EXPECT_EQ(counters.frames_before_header_synced, 0u);
}

// A VFS over unix-excl that watches the database files (not the log): per file, the most bytes
// written between two syncs, and the syncs that reached the disk. It can fail one sync of a
// database file.
class DatabaseSyncWatcher {
  public:
    struct Counters {
        int64_t written = 0;                // bytes written to database files
        int64_t most_written_unsynced = 0;  // most bytes one file had written since its sync
        int64_t syncs = 0;                  // syncs of database files that reached the disk
        int64_t syncs_after_failure = 0;    // of them, after the failed one
    };

    DatabaseSyncWatcher() {
        shim_ = ShimVfs{sqlite3_vfs_find("unix-excl"), this};
        name_ = "database-sync-watcher-" + std::to_string(reinterpret_cast<uintptr_t>(this));
        InitShimVfs(vfs_, &shim_, name_.c_str(), kFileBytes);
        vfs_.xOpen = Open;
        vfs_.xDelete = [](sqlite3_vfs* vfs, const char* name, int sync_dir) {
            return ShimOf(vfs)->base->xDelete(ShimOf(vfs)->base, name, sync_dir);
        };
        EXPECT_EQ(sqlite3_vfs_register(&vfs_, 0), SQLITE_OK);
    }
    ~DatabaseSyncWatcher() { sqlite3_vfs_unregister(&vfs_); }
    const char* name() const { return name_.c_str(); }

    Counters counters() {
        std::lock_guard lock(mutex_);
        return counters_;
    }
    // The next sync of a database file fails with SQLITE_IOERR_FSYNC without reaching the disk.
    void FailNextDatabaseSync() {
        std::lock_guard lock(mutex_);
        fail_next_ = true;
    }
    bool failed() {
        std::lock_guard lock(mutex_);
        return failed_;
    }

  private:
    struct File {
        ShimFile shim;
        DatabaseSyncWatcher* owner;
        bool is_database;
        int64_t unsynced;
    };
    static constexpr int kFileBytes = ShimFileBytes(sizeof(File));
    static File* Of(sqlite3_file* file) { return reinterpret_cast<File*>(file); }

    static int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
        File* f = Of(file);
        const int rc = f->shim.real->pMethods->xWrite(f->shim.real, data, amount, offset);
        if (rc == SQLITE_OK && f->is_database) {
            std::lock_guard lock(f->owner->mutex_);
            f->unsynced += amount;
            f->owner->counters_.written += amount;
            f->owner->counters_.most_written_unsynced =
                std::max(f->owner->counters_.most_written_unsynced, f->unsynced);
        }
        return rc;
    }
    static int Sync(sqlite3_file* file, int flags) {
        File* f = Of(file);
        if (f->is_database) {
            std::lock_guard lock(f->owner->mutex_);
            if (f->owner->fail_next_) {
                f->owner->fail_next_ = false;
                f->owner->failed_ = true;
                return SQLITE_IOERR_FSYNC;
            }
        }
        const int rc = f->shim.real->pMethods->xSync(f->shim.real, flags);
        if (rc == SQLITE_OK && f->is_database) {
            std::lock_guard lock(f->owner->mutex_);
            f->unsynced = 0;
            ++f->owner->counters_.syncs;
            if (f->owner->failed_) ++f->owner->counters_.syncs_after_failure;
        }
        return rc;
    }
    static sqlite3_io_methods MethodsFor(int version) {
        sqlite3_io_methods m = ForwardingIoMethods(version);
        m.xWrite = Write;
        m.xSync = Sync;
        return m;
    }
    static int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                    int* out_flags) {
        static const sqlite3_io_methods kMethods[] = {MethodsFor(1), MethodsFor(2), MethodsFor(3)};
        File* f = Of(file);
        f->owner = static_cast<DatabaseSyncWatcher*>(ShimOf(vfs)->owner);
        f->is_database = (flags & SQLITE_OPEN_MAIN_DB) != 0;
        f->unsynced = 0;
        return OpenShimFile(ShimOf(vfs)->base, name, &f->shim, kFileBytes, flags, out_flags,
                            kMethods);
    }

    ShimVfs shim_{};
    sqlite3_vfs vfs_{};
    std::string name_;
    std::mutex mutex_;
    Counters counters_;
    bool fail_next_ = false;
    bool failed_ = false;
};

// Members in batches of 100 with scattered ids, so that every batch dirties pages all over the
// members table and its indexes: a checkpoint then has many pages to copy.
void InsertScatteredMembers(Storage& storage, int batches) {
    for (int batch = 0; batch < batches; ++batch) {
        Status s = storage.Write([batch](WriteTxn& txn) -> Status {
            for (int i = 0; i < 100; ++i) {
                const uint64_t id =
                    1000000000ull + (uint64_t(batch * 100 + i) * 2654435761ull) % 8999999999ull;
                KZ_RETURN_IF_ERROR(txn.InsertMember(SampleMember(std::to_string(id))));
            }
            return Status::Ok();
        });
        ASSERT_TRUE(s.ok()) << Describe(s);
    }
}

// SQLite syncs the database only at the end of a checkpoint that copied the whole log, so the
// checkpointer's copy used to reach the disk in one burst, at the sync of the writer's last
// stretch before a log restart (tens of MiB under the benchmark's purchases, while every
// purchase waited for the writer and every log sync behind it on the disk). The checkpointer's
// copy is now synced every StorageOptions::checkpoint_sync_bytes (1 MiB by default).
TEST_F(SqliteStorageTest, CheckpointerSyncsItsCopyIntoTheDatabaseInSlices) {
    DatabaseSyncWatcher watcher;
    DatabaseLocation location{db_path().string()};
    location.base_vfs = watcher.name();
    StorageOptions options;
    options.checkpoint_pages = 4000;  // rounds of up to 16 MiB of log
    options.log_restart_pages =
        1000000;  // the writer never copies: every copy is the checkpointer's
    options.idle_checkpoint_ms = 20;
    auto opened = SqliteStorage::Open(location, options);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    std::unique_ptr<SqliteStorage> storage = std::move(opened).value();
    InsertScatteredMembers(*storage, 150);
    // The idle round copies the rest, so the last close has nothing left to copy.
    const uint64_t checkpoints = storage->Stats().checkpoints;
    for (int i = 0; i < 400 && storage->Stats().checkpoints == checkpoints; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GT(storage->Stats().checkpoints, checkpoints);
    storage.reset();
    const DatabaseSyncWatcher::Counters counters = watcher.counters();
    // Without slices the copy would have gone to the disk in far larger bursts than one slice.
    EXPECT_GT(counters.written, 4 * options.checkpoint_sync_bytes);
    EXPECT_LE(counters.most_written_unsynced, options.checkpoint_sync_bytes);
    EXPECT_GE(counters.syncs, counters.written / options.checkpoint_sync_bytes);
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM members"), "15000");
}

// After a failed sync of the database the kernel may have dropped the copied pages and report
// the next sync as a success; a checkpoint that then completed would let the log restart over
// pages that are not on the disk. So no sync of the database reaches the disk after a failed
// one, no checkpoint completes, the log stops restarting and keeps every commit: writes go on,
// and a reopened storage has them all.
TEST_F(SqliteStorageTest, AfterAFailedDatabaseSyncNoCheckpointCompletesAndTheLogKeepsEveryWrite) {
    {
        DatabaseSyncWatcher watcher;
        DatabaseLocation location{db_path().string()};
        location.base_vfs = watcher.name();
        StorageOptions options;
        options.checkpoint_pages = 8;
        options.log_restart_pages = 16;
        auto opened = SqliteStorage::Open(location, options);
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        std::unique_ptr<SqliteStorage> storage = std::move(opened).value();
        Seed(*storage);
        for (int i = 0; i < 100; ++i) ASSERT_TRUE(Earn(*storage, 1, "a" + std::to_string(i)).ok());
        ASSERT_GE(storage->Stats().log_restarts, 3u) << "the log did not restart";
        watcher.FailNextDatabaseSync();
        for (int i = 0; i < 1000 && !watcher.failed(); ++i) {
            ASSERT_TRUE(Earn(*storage, 1, "b" + std::to_string(i)).ok());
        }
        ASSERT_TRUE(watcher.failed());
        const uint64_t restarts = storage->Stats().log_restarts;
        for (int i = 0; i < 200; ++i) ASSERT_TRUE(Earn(*storage, 1, "c" + std::to_string(i)).ok());
        // A checkpoint completed just before the failure may restart the log once more.
        EXPECT_LE(storage->Stats().log_restarts, restarts + 1);
        EXPECT_EQ(watcher.counters().syncs_after_failure, 0);
        EXPECT_TRUE(Problems(*storage).empty());
    }
    auto reopened = OpenDurable();
    ASSERT_NE(reopened, nullptr);
    RawDatabase raw(db_path());
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM ledger_entries WHERE ref LIKE 'c%'"), "200");
    EXPECT_EQ(raw.Text("SELECT COUNT(*) FROM ledger_entries WHERE ref LIKE 'a%'"), "100");
    EXPECT_TRUE(Problems(*reopened).empty());
}

// Log syncs the test holds back until it lets go, counting the syncs made.
class HeldSync {
  public:
    int Hook() {
        std::unique_lock lock(mutex_);
        ++started_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return !held_; });
        return 0;
    }
    bool WaitForStarted(int count) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return started_ >= count; });
    }
    int started() {
        std::lock_guard lock(mutex_);
        return started_;
    }
    void Release() {
        std::lock_guard lock(mutex_);
        held_ = false;
        changed_.notify_all();
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = true;
    int started_ = 0;
};

// Pipelined commit: while the log sync of one batch is under way, the writer already runs the
// next units. A batch as large as the one being synced commits at once, ahead of the sync; one
// commit at most waits ahead, so later units stay in a batch kept open until the log is free.
// No unit is answered before a sync that began after its commit has finished.
TEST_F(SqliteStorageTest, WritesAreAnsweredOnlyAfterTheLogSyncThatFollowsTheirCommit) {
    testing::PowerLossVfs vfs;  // never loses power here: it only holds the log's syncs
    auto storage = OpenDurable(vfs.name());
    ASSERT_NE(storage, nullptr);
    Seed(*storage);
    const uint64_t syncs_before = storage->Stats().log_syncs;
    const uint64_t commits_before = storage->Stats().commits;
    const uint64_t ahead_before = storage->Stats().commits_ahead;
    const uint64_t sync_micros_before = storage->Stats().log_sync_micros;
    HeldSync held;
    vfs.SetLogSyncHook([&held] { return held.Hook(); });
    std::atomic<int> ran{0};
    std::atomic<int> answered{0};
    auto earn = [&ran](std::string ref) {
        return [&ran, ref](WriteTxn& txn) -> Status {
            ++ran;
            KZ_RETURN_IF_ERROR(txn.InsertLot(
                SampleLot("1000000001", "pg_ekimae", "st_shibuya", "", 1, kNow + 100)));
            return StatusOf(txn.AppendEntry(
                SampleEntry("1000000001", "pg_ekimae", 1, core::EntryKind::kEarn, ref)));
        };
    };
    auto count = [&](Status status) {
        EXPECT_TRUE(status.ok()) << Describe(status);
        ++answered;
    };
    auto balance = [&] {
        int64_t points = -1;
        Status read = storage->Read([&](ReadTxn& txn) -> Status {
            KZ_ASSIGN_OR_RETURN(points, txn.BalanceOf("1000000001", "pg_ekimae"));
            return Status::Ok();
        });
        EXPECT_TRUE(read.ok()) << Describe(read);
        return points;
    };
    auto wait_for = [](auto done) {
        for (int i = 0; i < 1000 && !done(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return done();
    };
    storage->WriteAsync(earn("first"), count);
    ASSERT_TRUE(held.WaitForStarted(1));  // the first batch is committed, its sync held
    EXPECT_EQ(balance(), 1);              // (visible to readers before it is durable)
    // A batch as large as the one syncing (one unit) commits ahead of the held sync...
    storage->WriteAsync(earn("second"), count);
    EXPECT_TRUE(wait_for([&] { return storage->Stats().commits == commits_before + 2; }));
    EXPECT_EQ(balance(), 2);
    EXPECT_EQ(storage->Stats().commits_ahead, ahead_before + 1);
    // ...but no further one: the third unit runs in a batch kept open.
    storage->WriteAsync(earn("third"), count);
    EXPECT_TRUE(wait_for([&] { return ran.load() == 3; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(balance(), 2);
    EXPECT_EQ(storage->Stats().commits, commits_before + 2);
    // Nothing is answered before its sync has finished, and the commit ahead waits its turn.
    EXPECT_EQ(answered.load(), 0);
    EXPECT_EQ(held.started(), 1);
    held.Release();
    EXPECT_TRUE(wait_for([&] { return answered.load() == 3; }));
    EXPECT_EQ(balance(), 3);
    EXPECT_EQ(storage->Stats().commits, commits_before + 3);
    // The held sync lasted at least the 50 ms slept above.
    EXPECT_GE(storage->Stats().log_sync_micros - sync_micros_before, 50000u);
    // The second and third commits had a sync each, or one for both when the third was handed
    // over before the second's sync began.
    EXPECT_GE(storage->Stats().log_syncs, syncs_before + 2);
    EXPECT_LE(storage->Stats().log_syncs, syncs_before + 3);
    storage.reset();
}

// After a log sync fails, the operating system may have dropped frames: nothing written
// before or after may be acknowledged, and writes are refused until the storage is reopened.
TEST_F(SqliteStorageTest, FailedLogSyncFailsTheWriteAndRefusesLaterOnes) {
    {
        testing::PowerLossVfs vfs;  // never loses power here: it only fails the log's syncs
        auto storage = OpenDurable(vfs.name());
        ASSERT_NE(storage, nullptr);
        Seed(*storage);
        vfs.SetLogSyncHook([] { return SQLITE_IOERR_FSYNC; });
        Status first = Earn(*storage, 5, "lost?");
        vfs.SetLogSyncHook(nullptr);
        ASSERT_FALSE(first.ok());
        EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
        EXPECT_NE(first.error().message.find("fdatasync"), std::string::npos)
            << first.error().message;
        EXPECT_NE(first.error().message.find("restarted"), std::string::npos);
        Status later = Earn(*storage, 1, "later");
        ASSERT_FALSE(later.ok());
        EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
        // Reads go on.
        EXPECT_TRUE(Problems(*storage).empty());
    }
    auto reopened = OpenDurable();
    ASSERT_NE(reopened, nullptr);
    EXPECT_TRUE(Earn(*reopened, 1, "after restart").ok());
    EXPECT_TRUE(Problems(*reopened).empty());
}

}  // namespace
}  // namespace kizuna::storage::sqlite
