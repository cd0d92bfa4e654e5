// A quick in-process figure for the SQLite group-commit writer: N threads each run purchase-like
// units of work (a purchase with two lines, its lot, its ledger entry) through Storage::Write,
// durable as the storage makes every write (src/storage/README.md, "Durability": the log synced
// before a unit is answered), and the program prints units per second and how they were batched.
//
// Usage: storage_write_bench [threads=32] [units_per_thread=200] [database_path]
// Without a path the database goes to a fresh temporary directory, removed at the end.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/sqlite_storage.hpp"
#include "storage_test_support.hpp"

namespace kizuna::storage {
namespace {

using storage::testing::kNow;

int Run(int threads, int units_per_thread, const std::string& path) {
    auto opened = sqlite::SqliteStorage::Open(sqlite::DatabaseLocation{path}, StorageOptions{});
    if (!opened) {
        std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), opened.error().message.c_str());
        return 1;
    }
    sqlite::SqliteStorage& storage = **opened;
    Status seeded = storage.Write([&](WriteTxn& txn) -> Status {
        KZ_RETURN_IF_ERROR(txn.InsertProgram(testing::SampleProgram("pg_bench")));
        KZ_RETURN_IF_ERROR(txn.InsertStore(testing::SampleStore("st_bench", "pg_bench", "k")));
        for (int t = 0; t < threads; ++t) {
            KZ_RETURN_IF_ERROR(txn.InsertMember(testing::SampleMember(std::to_string(t))));
        }
        return Status::Ok();
    });
    if (!seeded.ok()) {
        std::fprintf(stderr, "seeding failed: %s\n", seeded.error().message.c_str());
        return 1;
    }
    auto before = storage.Stats();
    std::atomic<int> failures{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::string member = std::to_string(t);
            for (int i = 0; i < units_per_thread; ++i) {
                std::string id = "b-" + member + "-" + std::to_string(i);
                Status s = storage.Write([&](WriteTxn& txn) -> Status {
                    auto purchase =
                        testing::SamplePurchase(id, member, "st_bench", "pg_bench", kNow);
                    purchase.lines.resize(2);
                    KZ_RETURN_IF_ERROR(txn.InsertPurchase(purchase));
                    KZ_RETURN_IF_ERROR(txn.InsertLot(
                        testing::SampleLot(member, "pg_bench", "st_bench", id, 10, kNow + 1000)));
                    auto entry =
                        testing::SampleEntry(member, "pg_bench", 10, core::EntryKind::kEarn, id);
                    entry.store_id = "st_bench";
                    KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
                    return Status::Ok();
                });
                if (!s.ok() && failures++ == 0) {
                    std::fprintf(stderr, "first failure: %s\n", s.error().message.c_str());
                }
            }
        });
    }
    for (auto& worker : workers) worker.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto after = storage.Stats();
    uint64_t units = after.write_units - before.write_units;
    uint64_t commits = after.commits - before.commits;
    std::printf(
        "threads=%d units=%llu failures=%d seconds=%.2f units/s=%.0f commits=%llu "
        "units/commit=%.1f largest_batch=%llu (WAL, log synced before each answer, %s)\n",
        threads, static_cast<unsigned long long>(units), failures.load(), seconds,
        static_cast<double>(units) / seconds, static_cast<unsigned long long>(commits),
        commits ? static_cast<double>(units) / static_cast<double>(commits) : 0.0,
        static_cast<unsigned long long>(after.largest_batch), path.c_str());
    return failures.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace kizuna::storage

int main(int argc, char** argv) {
    int threads = argc > 1 ? std::atoi(argv[1]) : 32;
    int units = argc > 2 ? std::atoi(argv[2]) : 200;
    if (threads < 1 || units < 1) {
        std::fprintf(stderr, "usage: storage_write_bench [threads] [units_per_thread] [db]\n");
        return 2;
    }
    if (argc > 3) return kizuna::storage::Run(threads, units, argv[3]);
    kizuna::storage::testing::TempDir dir;
    return kizuna::storage::Run(threads, units, (dir.path() / "bench.db").string());
}
