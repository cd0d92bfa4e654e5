// bench/settlement_bench: how long a month's settlement statement takes on a big program, and
// whether purchases go on meanwhile. Not part of `make test`.
//
//   bench/seed --data DIR --members 1000000 --stores 1 --entries-per-member 10 --out seed.txt
//   bench/settlement_bench --data DIR --seed seed.txt [--period YYYY-MM] [--rounds 5]
//
// The seed writes the members and their ledger entries straight into SQLite (bench/bulk_loader,
// which also fills the per-day settlement totals the hub keeps beside each entry); with one
// store, its program has every member and every entry. This opens the hub on DIR, runs a stream
// of purchases from one thread (through PointsService, group commit and fsync as in the
// server), and meanwhile computes the operator's statement of the period `rounds` times through
// SettlementService, printing each time, the purchases committed per second before and during
// the statements, and the slowest purchase while they ran.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "hub/hub.hpp"
#include "seed_file.hpp"

namespace kizuna::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The slow way, for comparison and as a check: sums the period's entries by scanning the ledger
// (by booking time, as the statement counts them) and compares with the statement's totals.
int VerifyByScan(const std::string& db_path, const std::string& program_id, core::Period period,
                 int64_t stated_in, int64_t stated_out) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        std::cerr << "settlement_bench: cannot open " << db_path << "\n";
        sqlite3_close(db);
        return 1;
    }
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(
        db,
        "SELECT COALESCE(SUM(MAX(delta, 0)), 0), COALESCE(SUM(MAX(-delta, 0)), 0),"
        " COUNT(*) FROM ledger_entries WHERE program_id = ?1"
        " AND (COALESCE(recorded_at, occurred_at) + 32400) / 86400 BETWEEN ?2 AND ?3",
        -1, &statement, nullptr);
    sqlite3_bind_text(statement, 1, program_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(statement, 2, core::FirstDayOf(period));
    sqlite3_bind_int64(statement, 3, core::LastDayOf(period));
    const auto start = Clock::now();
    int64_t in = -1, out = -1, entries = 0;
    if (sqlite3_step(statement) == SQLITE_ROW) {
        in = sqlite3_column_int64(statement, 0);
        out = sqlite3_column_int64(statement, 1);
        entries = sqlite3_column_int64(statement, 2);
    }
    const double seconds = Seconds(Clock::now() - start);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    const bool same = in == stated_in && out == stated_out;
    std::printf(
        "check by scanning the ledger: %lld entries in %s, points in %lld / out %lld (%s the "
        "statement) in %.1f s\n",
        static_cast<long long>(entries), core::FormatPeriod(period).c_str(),
        static_cast<long long>(in), static_cast<long long>(out),
        same ? "same as" : "DIFFERENT from", seconds);
    return same ? 0 : 1;
}

int Run(const std::string& data_dir, const std::string& seed_path, const std::string& period_text,
        int rounds) {
    SeedFile seed;
    std::string error;
    if (!seed.Load(seed_path, error)) {
        std::cerr << "settlement_bench: " << error << "\n";
        return 1;
    }
    if (seed.stores.empty() || seed.members.empty()) {
        std::cerr << "settlement_bench: the seed file names no store or no member\n";
        return 1;
    }
    hub::HubOptions options;
    options.data_dir = data_dir;
    auto opened = hub::Hub::Open(options);
    if (!opened) {
        std::cerr << "settlement_bench: " << opened.error().message << "\n";
        return 1;
    }
    hub::Hub& hub = **opened;
    const hub::Caller op = hub::Caller::Operator();
    std::optional<core::Store> store;
    auto stores = hub.admin().ListStores(op);
    if (!stores) {
        std::cerr << "settlement_bench: " << stores.error().message << "\n";
        return 1;
    }
    for (const core::Store& s : *stores) {
        if (s.store_id == seed.stores[0].store_id) store = s;
    }
    if (!store) {
        std::cerr << "settlement_bench: no store " << seed.stores[0].store_id << "\n";
        return 1;
    }
    const hub::Caller store_caller{hub::Role::kStore, store->store_id, store->program_id, {}, {}};
    std::optional<core::Period> period;
    if (!period_text.empty()) {
        auto parsed = core::ParsePeriod(period_text, "--period");
        if (!parsed) {
            std::cerr << "settlement_bench: " << parsed.error().message << "\n";
            return 2;
        }
        period = *parsed;
    }

    std::atomic<bool> stop{false};
    std::atomic<int64_t> committed{0};
    std::atomic<int64_t> slowest_us{0};
    std::atomic<bool> measuring_slowest{false};
    std::thread buyer([&] {
        int64_t n = 0;
        while (!stop.load()) {
            hub::PurchaseRequest request;
            request.purchase_id = "settle-bench-" + std::to_string(n);
            request.member.member_id =
                seed.members[static_cast<size_t>(n) % seed.members.size()].member_id;
            request.lines.push_back({"Item", "", "", 1, 1000});
            const auto start = Clock::now();
            auto receipt = hub.points().RecordPurchase(store_caller, request);
            const auto us =
                std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
            if (!receipt) {
                std::cerr << "settlement_bench: purchase failed: " << receipt.error().message
                          << "\n";
                stop = true;
                return;
            }
            if (measuring_slowest.load()) {
                int64_t seen = slowest_us.load();
                while (us > seen && !slowest_us.compare_exchange_weak(seen, us)) {
                }
            }
            ++committed;
            ++n;
        }
    });

    // Purchases alone for two seconds.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const int64_t before_start = committed.load();
    const auto alone_start = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const double alone_rate =
        (committed.load() - before_start) / Seconds(Clock::now() - alone_start);

    measuring_slowest = true;
    const int64_t during_start = committed.load();
    const auto statements_start = Clock::now();
    std::vector<double> times;
    core::Period stated_period{};
    int64_t stated_in = 0;   // points added by the period's entries
    int64_t stated_out = 0;  // points taken by them
    for (int i = 0; i < rounds; ++i) {
        const auto start = Clock::now();
        auto statement = hub.settlements().GetStatement(op, store->program_id, period);
        const double seconds = Seconds(Clock::now() - start);
        if (!statement) {
            std::cerr << "settlement_bench: statement failed: " << statement.error().message
                      << "\n";
            stop = true;
            buyer.join();
            return 1;
        }
        times.push_back(seconds);
        const core::ProgramTotals& t = statement->statement.program;
        int64_t issued = 0;
        stated_period = statement->statement.period;
        stated_in = 0;
        stated_out = 0;
        for (const auto& row : statement->statement.rows) {
            issued += row.points.issued;
            stated_in += row.points.issued;
            stated_out += row.points.redeemed + row.points.reversed + row.points.expired;
        }
        std::printf(
            "statement %s: %.3f ms; %zu store rows, points issued %lld, outstanding %lld -> %lld, "
            "balanced %s\n",
            core::FormatPeriod(statement->statement.period).c_str(), seconds * 1000,
            statement->statement.rows.size(), static_cast<long long>(issued),
            static_cast<long long>(t.opening_points), static_cast<long long>(t.closing_points),
            t.sum_net - t.deposit_change - t.kept == 0 ? "yes" : "NO");
    }
    const double during_seconds = Seconds(Clock::now() - statements_start);
    const int64_t during = committed.load() - during_start;
    measuring_slowest = false;
    stop = true;
    buyer.join();
    std::sort(times.begin(), times.end());
    const std::string program_id = store->program_id;
    opened->reset();  // the hub lets go of the file: the check below reads it directly
    std::printf(
        "statement time: min %.3f ms, median %.3f ms, max %.3f ms over %d rounds\n"
        "purchases: %.0f/s alone, %lld committed in the %.3f s of the statements (%.0f/s), "
        "slowest %.1f ms\n",
        times.front() * 1000, times[times.size() / 2] * 1000, times.back() * 1000, rounds,
        alone_rate, static_cast<long long>(during), during_seconds,
        during_seconds > 0 ? during / during_seconds : 0.0, slowest_us.load() / 1000.0);
    return VerifyByScan(data_dir + "/kizuna.db", program_id, stated_period, stated_in, stated_out);
}

}  // namespace
}  // namespace kizuna::bench

int main(int argc, char** argv) {
    CLI::App app{"Time a settlement statement on a seeded hub while purchases go on"};
    std::string data_dir, seed_path, period;
    int rounds = 5;
    app.add_option("--data", data_dir, "The hub's data directory (seeded by bench/seed)")
        ->required();
    app.add_option("--seed", seed_path, "The seed file bench/seed wrote")->required();
    app.add_option("--period", period, "YYYY-MM (default: the current month, Japan time)");
    app.add_option("--rounds", rounds, "Statements to compute")->check(CLI::Range(1, 1000));
    CLI11_PARSE(app, argc, argv);
    return kizuna::bench::Run(data_dir, seed_path, period, rounds);
}
