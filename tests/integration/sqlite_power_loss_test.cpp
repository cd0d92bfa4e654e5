// The SQLite storage's durability contract under power loss (src/storage/README.md,
// "Durability"), proven in the manner of SQLite's crash tests (src/test6.c) and LevelDB's
// fault_injection_test: the real storage runs purchases from several threads over a VFS that
// records every write and sync (power_loss_vfs.hpp), the power goes at a chosen operation, and
// the disk is left as it could be after a power cut (writes not yet synced landed, lost, torn,
// reordered or garbage). The database is then reopened from that disk with the normal code, and
// must open, pass PRAGMA integrity_check, hold every purchase acknowledged before the cut, and
// keep the ledger's invariants.
//
// Small checkpoint and log-restart thresholds make the log checkpoint and restart every few
// commits, and half of the crash points are placed just after a log header write (the log
// restarting) and a quarter just after a write to the database file (a checkpoint copying), so
// those windows are hit many times; the test asserts that they were.
//
// KIZUNA_POWER_LOSS_RUNS sets the number of crash runs (default 600).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "power_loss_loop.hpp"
#include "power_loss_vfs.hpp"
#include "storage/sqlite/sqlite_storage.hpp"
#include "storage_test_support.hpp"

namespace kizuna::storage::sqlite {
namespace {

using storage::testing::Describe;
using storage::testing::kNow;
using storage::testing::StatusOf;
using testing::AnsweredWrites;
using testing::PowerLossVfs;

constexpr int kMembers = 60;
constexpr int kThreads = 4;
constexpr int kUnitsPerThread = 48;
constexpr int64_t kPointsPerPurchase = 7;
// As long as a sync takes on a fast disk: long enough for the writer to commit the next batch
// while the answerer waits for the previous one's sync (the pipelined commit).
constexpr std::chrono::microseconds kSyncTime{150};

std::string MemberId(int i) { return "10000000" + std::to_string(10 + i); }

StorageOptions SmallLogOptions() {
    StorageOptions options;
    options.read_connections = 2;
    options.max_batch = 16;
    // A purchase dirties a handful of pages: the log checkpoints every few commits and
    // restarts every few more.
    options.checkpoint_pages = 8;
    options.log_restart_pages = 40;
    // The checkpointer's copy synced every 16 pages, so that crashes land between its slices
    // too (every 8 pages slowed the checkpointer enough, with a sync costing 150 us, that the
    // run without a crash sometimes restarted the log fewer than the 10 times required).
    options.checkpoint_sync_bytes = 65536;
    return options;
}

Status Purchase(WriteTxn& txn, const std::string& id, const std::string& member) {
    auto purchase = storage::testing::SamplePurchase(id, member, "st_power", "pg_power", kNow);
    purchase.lines.resize(1);
    KZ_RETURN_IF_ERROR(txn.InsertPurchase(purchase));
    KZ_RETURN_IF_ERROR(txn.InsertLot(storage::testing::SampleLot(member, "pg_power", "st_power", id,
                                                                 kPointsPerPurchase, kNow + 1000)));
    auto entry = storage::testing::SampleEntry(member, "pg_power", kPointsPerPurchase,
                                               core::EntryKind::kEarn, id);
    entry.store_id = "st_power";
    return StatusOf(txn.AppendEntry(entry));
}

// What a run acknowledged: purchase id -> member, recorded when Write returned ok.
struct Acknowledged {
    std::mutex mutex;
    std::map<std::string, std::string> purchases;
    std::size_t size() const { return purchases.size(); }
};

// One run: the storage over `vfs` on the database at `path`, purchases from several threads until
// the power goes (or every unit is done).
void RunPurchases(const std::filesystem::path& path, PowerLossVfs& vfs, int run,
                  Acknowledged& acknowledged) {
    DatabaseLocation location{path.string()};
    location.base_vfs = vfs.name();
    auto opened = SqliteStorage::Open(location, SmallLogOptions());
    if (!opened) {
        // The power may go while the storage opens; then nothing was acknowledged.
        ASSERT_TRUE(vfs.crashed()) << "run " << run << ": " << opened.error().message;
        return;
    }
    std::unique_ptr<SqliteStorage> storage = std::move(opened).value();
    auto acknowledge = [&acknowledged](const std::string& id, const std::string& member) {
        std::lock_guard lock(acknowledged.mutex);
        acknowledged.purchases[id] = member;
    };
    // Ids and members spread over the B-trees, so that batches of different sizes dirty
    // different numbers of pages and commits vary in length.
    auto unit = [run](int t, int i) {
        const std::size_t spread =
            std::hash<std::string>{}(std::to_string(run * 1000 + t * 100 + i));
        return std::make_pair("p" + std::to_string(spread % 1000000007) + "-" +
                                  std::to_string(run) + "-" + std::to_string(t) + "-" +
                                  std::to_string(i),
                              MemberId(static_cast<int>(spread % kMembers)));
    };
    std::vector<std::thread> threads;
    // Threads that each wait for their write...
    for (int t = 0; t + 1 < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kUnitsPerThread && !vfs.crashed(); ++i) {
                const auto [id, member] = unit(t, i);
                Status done = storage->Write(
                    [&](WriteTxn& txn) -> Status { return Purchase(txn, id, member); });
                if (done.ok()) acknowledge(id, member);
            }
        });
    }
    // ...and one that queues bursts with WriteAsync (larger batches), acknowledged in the
    // callbacks.
    threads.emplace_back([&] {
        const int t = kThreads - 1;
        std::mt19937 burst_sizes(static_cast<unsigned>(run));
        for (int i = 0, burst = 0; i < kUnitsPerThread && !vfs.crashed(); i += burst) {
            burst = 1 + static_cast<int>(burst_sizes() % 16);
            AnsweredWrites writes;
            for (int b = i; b < i + burst && b < kUnitsPerThread; ++b) {
                const auto [id, member] = unit(t, b);
                writes.Queued();
                storage->WriteAsync(
                    [id, member](WriteTxn& txn) -> Status { return Purchase(txn, id, member); },
                    [&, id, member](Status done) {
                        if (done.ok()) acknowledge(id, member);
                        writes.Answered();
                    });
            }
            writes.Wait();
        }
    });
    for (auto& thread : threads) thread.join();
    storage.reset();  // after a crash every write and sync fails: nothing more becomes durable
}

std::string IntegrityCheck(const std::filesystem::path& path) {
    sqlite3* db = nullptr;
    std::string result;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        result = std::string("cannot open: ") + sqlite3_errmsg(db);
    } else {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
            result = std::string("cannot check: ") + sqlite3_errmsg(db);
        }
        while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(stmt, 0);
            if (!result.empty()) result += "; ";
            result += text != nullptr ? reinterpret_cast<const char*>(text) : "";
        }
        sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return result;
}

// Reopens the database left on the disk after the crash with the normal code and returns what
// is wrong with it (empty when nothing is).
std::vector<std::string> CheckAfterCrash(const std::filesystem::path& path,
                                         const std::map<std::string, std::string>& acknowledged) {
    std::vector<std::string> problems;
    const std::string integrity = IntegrityCheck(path);
    if (integrity != "ok") problems.push_back("integrity_check: " + integrity);
    auto opened = SqliteStorage::Open(DatabaseLocation{path.string()}, StorageOptions{});
    if (!opened) {
        problems.push_back("cannot reopen: " + opened.error().message);
        return problems;
    }
    Status read = (*opened)->Read([&](ReadTxn& txn) -> Status {
        std::map<std::string, int64_t> acknowledged_points;
        for (const auto& [id, member] : acknowledged) {
            KZ_ASSIGN_OR_RETURN(auto purchase, txn.FindPurchase("st_power", id));
            if (!purchase) problems.push_back("acknowledged purchase " + id + " is missing");
            acknowledged_points[member] += kPointsPerPurchase;
        }
        for (const auto& [member, points] : acknowledged_points) {
            KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf(member, "pg_power"));
            if (balance < points) {
                problems.push_back("balance of " + member + " is " + std::to_string(balance) +
                                   ", less than the " + std::to_string(points) +
                                   " points acknowledged");
            }
        }
        KZ_ASSIGN_OR_RETURN(auto broken, txn.CheckLedgerInvariants());
        for (const std::string& problem : broken) problems.push_back("invariant: " + problem);
        return Status::Ok();
    });
    if (!read.ok()) problems.push_back("cannot read: " + Describe(read));
    return problems;
}

int RunsWanted() {
    const char* runs = std::getenv("KIZUNA_POWER_LOSS_RUNS");
    return runs != nullptr && std::atoi(runs) > 0 ? std::atoi(runs) : 600;
}

TEST(SqlitePowerLoss, AcknowledgedPurchasesSurvivePowerLossAtHundredsOfPoints) {
    storage::testing::TempDir dir;
    // A closed, synced database with the program, store and members: every run starts from a
    // copy of it.
    const std::filesystem::path seeded = dir.path() / "seeded.db";
    {
        auto opened = SqliteStorage::Open(DatabaseLocation{seeded.string()}, StorageOptions{});
        ASSERT_TRUE(opened.has_value()) << opened.error().message;
        Status s = (*opened)->Write([](WriteTxn& txn) -> Status {
            KZ_RETURN_IF_ERROR(txn.InsertProgram(storage::testing::SampleProgram("pg_power")));
            KZ_RETURN_IF_ERROR(
                txn.InsertStore(storage::testing::SampleStore("st_power", "pg_power", "k")));
            for (int m = 0; m < kMembers; ++m) {
                KZ_RETURN_IF_ERROR(txn.InsertMember(storage::testing::SampleMember(MemberId(m))));
            }
            return Status::Ok();
        });
        ASSERT_TRUE(s.ok()) << Describe(s);
    }
    ASSERT_FALSE(std::filesystem::exists(seeded.string() + "-wal"));

    // Every run starts from a copy of the seeded database.
    const testing::PowerLossWorkload<Acknowledged> workload{
        [&seeded](const std::filesystem::path& run_dir, PowerLossVfs& vfs, int run,
                  Acknowledged& acknowledged) {
            std::filesystem::copy_file(seeded, run_dir / "kizuna.db");
            RunPurchases(run_dir / "kizuna.db", vfs, run, acknowledged);
        },
        [](const std::filesystem::path& after_dir, const Acknowledged& acknowledged) {
            return CheckAfterCrash(after_dir / "kizuna.db", acknowledged.purchases);
        }};
    testing::PowerLossLoop loop;
    loop.dir = dir.path();
    loop.sync_time = kSyncTime;
    loop.runs = RunsWanted();
    // A quarter anywhere; half just after the log's header is rewritten (the restart: the
    // header, its sync, the first frames and their sync are the next few operations); a quarter
    // during a checkpoint's copy.
    loop.choose = [](int run, const PowerLossVfs::Counters& whole, std::mt19937_64& random,
                     PowerLossVfs::Plan& plan) {
        switch (run % 4) {
            case 0:
                plan.after = PowerLossVfs::Plan::After::kOperation;
                plan.ordinal = 1 + random() % (whole.operations * 4 / 5);
                break;
            case 1:
            case 2:
                // The first header write creates the log; later ones restart it.
                plan.after = PowerLossVfs::Plan::After::kLogHeaderWrite;
                plan.ordinal = 2 + random() % (whole.log_header_writes * 4 / 5 - 1);
                plan.then = random() % (run % 4 == 1 ? 4 : 8);
                break;
            default:
                plan.after = PowerLossVfs::Plan::After::kDatabaseWrite;
                plan.ordinal = 1 + random() % (whole.database_writes * 4 / 5);
                plan.then = random() % 12;
                break;
        }
    };

    // A run without a crash measures how many operations, log header writes and database writes
    // a run makes, to spread the crash points over them (over the first four fifths: runs vary,
    // and a run that ends before its crash point proves nothing).
    Acknowledged all;
    const PowerLossVfs::Counters whole = testing::RunWithoutCrash(loop, workload, all);
    EXPECT_EQ(all.size(), std::size_t{kThreads * kUnitsPerThread});
    ASSERT_GT(whole.log_header_writes, 10u) << "the log never restarted";
    // Every restart, not only those a crash lands on: the new header is durable before frames
    // overwrite the old log.
    EXPECT_EQ(whole.frames_before_header_synced, 0u);
    ASSERT_GT(whole.database_writes, 10u) << "nothing was checkpointed";

    const int runs = loop.runs;
    const testing::PowerLossTally tally = testing::RunCrashPoints(loop, whole, workload);
    std::printf(
        "power-loss runs: %d, crashes: %d (during a checkpoint: %d, during a log restart: %d), "
        "acknowledged purchases checked: %zu, failed runs: %d, log frames written before their "
        "header was synced: %llu\n",
        runs, tally.crashes, tally.during_checkpoint, tally.during_log_restart, tally.acknowledged,
        tally.failed_runs, static_cast<unsigned long long>(tally.frames_before_header_synced));
    EXPECT_EQ(tally.failed_runs, 0);
    EXPECT_EQ(tally.frames_before_header_synced, 0u);
    EXPECT_GE(tally.crashes, runs * 9 / 10);
    EXPECT_GE(tally.during_checkpoint, runs / 10);
    EXPECT_GE(tally.during_log_restart, runs / 10);
}

}  // namespace
}  // namespace kizuna::storage::sqlite
