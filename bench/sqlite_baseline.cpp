// bench/sqlite_baseline: the purchase transaction (insert purchase, insert ledger entry, update
// balance) in-process on SQLite, WAL, synchronous=FULL — the baseline the hub's group commit is
// measured against. By default one purchase per transaction (one fsync each); --batch K puts K
// purchases in each transaction, to show the ceiling that grouping allows.
//
//   sqlite_baseline --db /tmp/x/baseline.db [--members 100000] [--duration 20] [--batch 1] [--json]

#include <sqlite3.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>

#include "latency_histogram.hpp"

namespace kizuna::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS purchases (
  purchase_id TEXT PRIMARY KEY,
  member_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  program_id TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  total INTEGER NOT NULL,
  points_earned INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_entries (
  entry_id INTEGER PRIMARY KEY,
  member_id TEXT NOT NULL,
  program_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  delta INTEGER NOT NULL,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  occurred_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_entries_by_member
  ON ledger_entries (member_id, program_id, entry_id);
CREATE TABLE IF NOT EXISTS balances (
  member_id TEXT NOT NULL,
  program_id TEXT NOT NULL,
  points INTEGER NOT NULL,
  PRIMARY KEY (member_id, program_id)
) WITHOUT ROWID;
)sql";

class Db {
  public:
    explicit Db(const std::string& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) Die("open");
    }
    ~Db() {
        for (auto* s : statements_) sqlite3_finalize(s);
        sqlite3_close(db_);
    }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void Exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : "unknown error";
            sqlite3_free(message);
            throw std::runtime_error(std::string("sqlite: ") + text + " in: " + sql);
        }
    }
    sqlite3_stmt* Prepare(const char* sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) Die(sql);
        statements_.push_back(s);
        return s;
    }
    void Step(sqlite3_stmt* s) {
        if (sqlite3_step(s) != SQLITE_DONE) Die(sqlite3_sql(s));
        sqlite3_reset(s);
    }
    [[noreturn]] void Die(const char* what) {
        throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_) + " (" + what + ")");
    }

  private:
    sqlite3* db_ = nullptr;
    std::vector<sqlite3_stmt*> statements_;
};

std::string MemberId(int i) {
    std::string id = "m";  // appended, not "m" + ..., which trips g++ 12's -Wrestrict at -O3
    id += std::to_string(1000000000 + i);
    return id;
}

struct Options {
    std::string db;
    int members = 100000;
    double duration = 20;
    int batch = 1;
    bool json = false;
};

int Run(const Options& o) {
    std::filesystem::remove(o.db);
    std::filesystem::remove(o.db + "-wal");
    std::filesystem::remove(o.db + "-shm");
    Db db(o.db);
    db.Exec("PRAGMA journal_mode=WAL");
    db.Exec("PRAGMA synchronous=FULL");
    db.Exec(kSchema);

    // Every member starts with a balance row, as on the hub after their first purchase.
    {
        db.Exec("BEGIN");
        auto* insert = db.Prepare("INSERT INTO balances VALUES (?1, 'pr_bench', 0)");
        for (int i = 0; i < o.members; ++i) {
            const std::string id = MemberId(i);
            sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_TRANSIENT);
            db.Step(insert);
        }
        db.Exec("COMMIT");
    }

    auto* begin = db.Prepare("BEGIN IMMEDIATE");
    auto* commit = db.Prepare("COMMIT");
    auto* insert_purchase =
        db.Prepare("INSERT INTO purchases VALUES (?1, ?2, 'st_bench', 'pr_bench', ?3, ?4, ?5)");
    auto* insert_entry = db.Prepare(
        "INSERT INTO ledger_entries (member_id, program_id, store_id, delta, kind, ref, "
        "occurred_at) VALUES (?1, 'pr_bench', 'st_bench', ?2, 'earn', ?3, ?4)");
    auto* update_balance = db.Prepare(
        "UPDATE balances SET points = points + ?2 WHERE member_id = ?1 AND program_id = "
        "'pr_bench'");

    std::mt19937_64 random(12345);
    std::uniform_int_distribution<int> member_dist(0, o.members - 1);
    std::uniform_int_distribution<int> price_dist(1, 400);
    LatencyHistogram latency;
    uint64_t purchases = 0;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(o.duration));
    auto now = start;
    while (now < deadline) {
        const auto txn_start = now;
        db.Step(begin);
        for (int k = 0; k < o.batch; ++k) {
            std::string purchase_id = "bp-";
            purchase_id += std::to_string(purchases + static_cast<uint64_t>(k));
            const std::string member_id = MemberId(member_dist(random));
            const int64_t total = price_dist(random) * 50;
            const int64_t points = total / 100;
            const int64_t at = std::time(nullptr);
            sqlite3_bind_text(insert_purchase, 1, purchase_id.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_text(insert_purchase, 2, member_id.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_int64(insert_purchase, 3, at);
            sqlite3_bind_int64(insert_purchase, 4, total);
            sqlite3_bind_int64(insert_purchase, 5, points);
            db.Step(insert_purchase);
            sqlite3_bind_text(insert_entry, 1, member_id.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_int64(insert_entry, 2, points);
            sqlite3_bind_text(insert_entry, 3, purchase_id.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_int64(insert_entry, 4, at);
            db.Step(insert_entry);
            sqlite3_bind_text(update_balance, 1, member_id.c_str(), -1, SQLITE_STATIC);
            sqlite3_bind_int64(update_balance, 2, points);
            db.Step(update_balance);
        }
        db.Step(commit);
        now = Clock::now();
        const auto micros = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - txn_start).count());
        // Every purchase of a batch waits for the batch's commit.
        for (int k = 0; k < o.batch; ++k) latency.Record(micros);
        purchases += static_cast<uint64_t>(o.batch);
    }
    const double seconds = std::chrono::duration<double>(now - start).count();
    const double rate = static_cast<double>(purchases) / seconds;
    const auto ms = [&](double q) {
        return static_cast<double>(latency.PercentileMicros(q)) / 1e3;
    };
    if (o.json) {
        std::printf(
            R"({"baseline":"sqlite","batch":%d,"members":%d,"seconds":%.3f,"purchases":%llu,)"
            R"("throughput":%.1f,"latency":{"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f}})"
            "\n",
            o.batch, o.members, seconds, static_cast<unsigned long long>(purchases), rate, ms(0.5),
            ms(0.99), ms(0.999));
    } else {
        std::printf("sqlite baseline: %d purchase(s) per transaction, WAL, synchronous=FULL\n",
                    o.batch);
        std::printf("  purchases  %llu in %.1f s (%.0f/s)\n",
                    static_cast<unsigned long long>(purchases), seconds, rate);
        std::printf("  latency    p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms\n", ms(0.5), ms(0.99),
                    ms(0.999));
    }
    return 0;
}

}  // namespace
}  // namespace kizuna::bench

int main(int argc, char** argv) {
    kizuna::bench::Options o;
    CLI::App app{"The purchase transaction on in-process SQLite, for comparison with the hub"};
    app.add_option("--db", o.db, "database file (replaced)")->required();
    app.add_option("--members", o.members, "members with a balance row")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000000));
    app.add_option("-d,--duration", o.duration, "seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--batch", o.batch, "purchases per transaction")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000));
    app.add_flag("--json", o.json, "print one JSON object");
    CLI11_PARSE(app, argc, argv);
    try {
        return kizuna::bench::Run(o);
    } catch (const std::exception& e) {
        std::cerr << "sqlite_baseline: " << e.what() << '\n';
        return 1;
    }
}
