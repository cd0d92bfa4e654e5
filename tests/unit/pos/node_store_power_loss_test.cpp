// NodeStore's durability contract under power loss (node_store.hpp; src/pos/README.md,
// "Durability"): what a store node answered 202 for is on its disk. The real NodeStore takes
// offline sales (an outbox event and the answer kept for retries, in one unit) from several
// threads, some waiting in Write and one queueing bursts with WriteAsync, over a VFS that records
// every write and sync (tests/integration/power_loss_vfs.hpp); the power goes at a chosen
// operation and the disk is left as it could be after a power cut (writes not yet synced landed,
// lost, torn or reordered). The node's database is then reopened from that disk with the normal
// code and must hold every sale acknowledged before the cut, each whole (its event and its
// answer, or neither).
//
// A small auto-checkpoint threshold makes the log checkpoint every few commits, so crashes land
// in checkpoints too. KIZUNA_NODE_POWER_LOSS_RUNS sets the number of crash runs (default 120).

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pos/node_store.hpp"
#include "power_loss_loop.hpp"
#include "power_loss_vfs.hpp"
#include "storage_test_support.hpp"

namespace kizuna::pos {
namespace {

using storage::sqlite::testing::AnsweredWrites;
using storage::sqlite::testing::PowerLossVfs;

constexpr int kThreads = 4;
constexpr int kSalesPerThread = 60;
constexpr std::chrono::microseconds kSyncTime{150};

int RunsWanted() {
    const char* runs = std::getenv("KIZUNA_NODE_POWER_LOSS_RUNS");
    return runs != nullptr && std::atoi(runs) > 0 ? std::atoi(runs) : 120;
}

// One offline sale as the node writes it: the event and the answer a retry gets.
core::Status Sale(NodeTxn& txn, const std::string& id) {
    KZ_RETURN_IF_ERROR(txn.AppendOutbox({0, "ev-" + id, "purchase.created", "2026-12-07T16:00:00Z",
                                         R"({"purchase_id":")" + id + R"(","lines":[]})"}));
    return txn.PutOfflineAnswer("purchase", id, R"({"purchase_id":")" + id + R"("})");
}

struct Acknowledged {
    std::mutex mutex;
    std::set<std::string> sales;
    void Add(const std::string& id) {
        std::lock_guard lock(mutex);
        sales.insert(id);
    }
    std::size_t size() const { return sales.size(); }
};

// One run: the node's store over `vfs`, sales from several threads until the power goes (or
// every sale is done).
void RunSales(const std::filesystem::path& path, PowerLossVfs& vfs, int run,
              Acknowledged& acknowledged) {
    NodeStoreOptions options;
    options.base_vfs = vfs.name();
    options.max_batch = 16;
    options.checkpoint_pages = 16;
    auto opened = NodeStore::Open(path.string(), options);
    if (!opened) {
        // The power may go while the store opens; then nothing was acknowledged.
        ASSERT_TRUE(vfs.crashed()) << "run " << run << ": " << opened.error().message;
        return;
    }
    std::unique_ptr<NodeStore> store = std::move(opened).value();
    auto id_of = [run](int t, int i) {
        return "s" + std::to_string(run) + "-" + std::to_string(t) + "-" + std::to_string(i);
    };
    std::vector<std::thread> threads;
    for (int t = 0; t + 1 < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kSalesPerThread && !vfs.crashed(); ++i) {
                const std::string id = id_of(t, i);
                if (store->Write([&](NodeTxn& txn) { return Sale(txn, id); }).ok()) {
                    acknowledged.Add(id);
                }
            }
        });
    }
    // Bursts through WriteAsync (as the node's I/O threads queue offline sales), acknowledged in
    // the completions.
    threads.emplace_back([&] {
        const int t = kThreads - 1;
        std::mt19937 burst_sizes(static_cast<unsigned>(run + 1));
        for (int i = 0, burst = 0; i < kSalesPerThread && !vfs.crashed(); i += burst) {
            burst = 1 + static_cast<int>(burst_sizes() % 12);
            AnsweredWrites writes;
            for (int b = i; b < i + burst && b < kSalesPerThread; ++b) {
                const std::string id = id_of(t, b);
                writes.Queued();
                store->WriteAsync([id](NodeTxn& txn) { return Sale(txn, id); },
                                  [&, id](core::Status status) {
                                      if (status.ok()) acknowledged.Add(id);
                                      writes.Answered();
                                  });
            }
            writes.Wait();
        }
    });
    for (auto& thread : threads) thread.join();
}

// What the reopened store holds, against what was acknowledged: problems found, or none.
std::vector<std::string> CheckAfterCrash(const std::filesystem::path& path,
                                         const std::set<std::string>& acknowledged) {
    std::vector<std::string> problems;
    auto opened = NodeStore::Open(path.string());
    if (!opened) return {"cannot reopen: " + opened.error().message};
    std::set<std::string> events;
    std::set<std::string> answers;
    core::Status read = (*opened)->Read([&](NodeTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto outbox, txn.PeekOutbox(1 << 20));
        for (const OutboxEvent& e : outbox) events.insert(e.event_id.substr(3));
        for (const std::string& id : events) {
            KZ_ASSIGN_OR_RETURN(auto answer, txn.FindOfflineAnswer("purchase", id));
            if (answer) answers.insert(id);
        }
        for (const std::string& id : acknowledged) {
            KZ_ASSIGN_OR_RETURN(auto answer, txn.FindOfflineAnswer("purchase", id));
            if (!answer) problems.push_back("acknowledged sale " + id + " has no answer");
        }
        return core::Status::Ok();
    });
    if (!read.ok()) return {"cannot read: " + read.error().message};
    for (const std::string& id : acknowledged) {
        if (!events.count(id)) problems.push_back("acknowledged sale " + id + " is not queued");
    }
    for (const std::string& id : events) {
        if (!answers.count(id)) problems.push_back("sale " + id + " queued without its answer");
    }
    return problems;
}

TEST(NodeStorePowerLoss, SalesAnsweredBeforeThePowerWentAreOnTheDisk) {
    storage::testing::TempDir dir;
    const storage::sqlite::testing::PowerLossWorkload<Acknowledged> workload{
        [](const std::filesystem::path& run_dir, PowerLossVfs& vfs, int run,
           Acknowledged& acknowledged) { RunSales(run_dir / "node.db", vfs, run, acknowledged); },
        [](const std::filesystem::path& after_dir, const Acknowledged& acknowledged) {
            return CheckAfterCrash(after_dir / "node.db", acknowledged.sales);
        }};
    storage::sqlite::testing::PowerLossLoop loop;
    loop.dir = dir.path();
    loop.sync_time = kSyncTime;
    loop.runs = RunsWanted();
    loop.choose = [](int run, const PowerLossVfs::Counters& whole, std::mt19937_64& random,
                     PowerLossVfs::Plan& plan) {
        if (run % 4 == 3) {  // a quarter during a checkpoint's copy
            plan.after = PowerLossVfs::Plan::After::kDatabaseWrite;
            plan.ordinal = 1 + random() % (whole.database_writes * 4 / 5);
            plan.then = random() % 12;
        } else {
            plan.after = PowerLossVfs::Plan::After::kOperation;
            plan.ordinal = 1 + random() % (whole.operations * 4 / 5);
        }
    };

    // A run without a crash counts the operations a run makes, to spread the crash points over
    // the first four fifths of them (a run that ends before its crash point proves nothing).
    Acknowledged all;
    const PowerLossVfs::Counters whole =
        storage::sqlite::testing::RunWithoutCrash(loop, workload, all);
    EXPECT_EQ(all.size(), std::size_t{kThreads * kSalesPerThread});
    ASSERT_GT(whole.database_writes, 10u) << "nothing was checkpointed";

    const int runs = loop.runs;
    const storage::sqlite::testing::PowerLossTally tally =
        storage::sqlite::testing::RunCrashPoints(loop, whole, workload);
    std::printf(
        "node power-loss runs: %d, crashes: %d (during a checkpoint: %d), sales "
        "acknowledged before the cuts: %zu\n",
        runs, tally.crashes, tally.during_checkpoint, tally.acknowledged);
    EXPECT_EQ(tally.failed_runs, 0);
    EXPECT_GT(tally.crashes, runs / 2);
    EXPECT_GT(tally.during_checkpoint, 0);
    EXPECT_GT(tally.acknowledged, std::size_t{0});
}

}  // namespace
}  // namespace kizuna::pos
