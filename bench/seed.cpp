// bench/seed: fills a hub's data directory with stores, members (each with a card), member
// sessions and, for the scale test, ledger history — fast, and as far as speed allows through
// the hub's own code: stores through AdminService (API keys and rules exactly as the API makes
// them), members, cards and sessions through Storage::Write units of thousands of rows each
// (the real group-commit path, one fsync per unit). Ledger history (10M entries for the scale
// test) goes through LedgerBulkLoader straight into the file, because through Storage::Write it
// takes minutes. Then writes the seed file bench/loadgen reads.
//
//   seed --data DIR [--members 100000] [--stores 4] [--sessions 1000]
//        [--entries-per-member 0] --out seed.txt
//
// Run it while no hub serves DIR (it opens the storage itself). Every member's password is
// kBenchPassword (hashed once: Argon2id per member would take hours for a million).

#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/time.hpp"
#include "crypto/crypto.hpp"
#include "hub/admin_service.hpp"
#include "hub/auth_service.hpp"
#include "hub/caller.hpp"
#include "hub/hub.hpp"
#include "ledger_bulk_loader.hpp"
#include "seed_file.hpp"
#include "storage/storage.hpp"

namespace kizuna::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kBenchPassword = "bench-password-1";
constexpr int kMembersPerUnit = 2000;
constexpr int kUnitsInFlight = 2;  // producers: one builds rows while the writer commits

struct Options {
    std::string data_dir;
    std::string out;
    int members = 100000;
    int stores = 4;
    int sessions = 1000;
    int entries_per_member = 0;
};

double SecondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Sequential ids from a random start: unique within a run, valid check digits, and
// (with overwhelming likelihood) not colliding with an earlier seed of the same directory.
class IdSequence {
  public:
    IdSequence(core::Random& random, int count) {
        member_base_ = 100000000 + random.Uniform(800000000 - static_cast<uint64_t>(count));
        card_base_ = random.Uniform(100000000000ULL - static_cast<uint64_t>(count));
    }
    std::string MemberId(int i) const {
        std::string digits = std::to_string(member_base_ + static_cast<uint64_t>(i));
        digits += core::DammCheckDigit(digits);
        return digits;
    }
    std::string CardNumber(int i) const {
        char body[32];
        std::snprintf(body, sizeof body, "%s%011llu", std::string(core::kCardPrefix).c_str(),
                      static_cast<unsigned long long>(card_base_ + static_cast<uint64_t>(i)));
        std::string number = body;
        number += core::LuhnCheckDigit(number);
        return number;
    }

  private:
    uint64_t member_base_ = 0;
    uint64_t card_base_ = 0;
};

int Run(const Options& o) {
    const auto start = Clock::now();
    crypto::InitCrypto();
    crypto::SystemRandom random;

    hub::HubOptions hub_options;
    hub_options.data_dir = o.data_dir;
    auto opened = hub::Hub::Open(hub_options);
    if (!opened) {
        std::cerr << "seed: cannot open the hub in " << o.data_dir << ": " << opened.error().message
                  << '\n';
        return 1;
    }
    hub::Hub& hub = **opened;
    storage::Storage& storage = hub.storage();

    SeedFile seed;
    {
        std::ifstream token_file(hub.operator_token_path());
        std::getline(token_file, seed.operator_token);
        if (seed.operator_token.empty()) {
            std::cerr << "seed: cannot read " << hub.operator_token_path() << '\n';
            return 1;
        }
    }

    std::vector<core::Store> stores;
    for (int s = 0; s < o.stores; ++s) {
        hub::NewStore request;
        request.name = "Bench Store " + std::to_string(s + 1);
        auto created = hub.admin().CreateStore(hub::Caller::Operator(), request);
        if (!created) {
            std::cerr << "seed: creating a store failed: " << created.error().message << '\n';
            return 1;
        }
        seed.stores.push_back({created->store.store_id, created->api_key});
        stores.push_back(created->store);
    }
    std::printf("seed: %d stores (%.1f s)\n", o.stores, SecondsSince(start));

    const std::string password_hash = crypto::HashPassword(kBenchPassword);
    const IdSequence ids(random, o.members);
    const core::Timestamp now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());

    seed.members.reserve(static_cast<size_t>(o.members));
    for (int i = 0; i < o.members; ++i)
        seed.members.push_back({ids.MemberId(i), ids.CardNumber(i)});

    // Members (with their card and, for the scale test, their ledger history) in units of
    // kMembersPerUnit, from a few threads so building rows overlaps committing them.
    const int units = (o.members + kMembersPerUnit - 1) / kMembersPerUnit;
    std::atomic<int> next_unit{0};
    std::atomic<int> members_done{0};
    std::atomic<bool> failed{false};
    std::mutex report_mutex;
    const auto members_start = Clock::now();
    auto producer = [&] {
        while (!failed) {
            const int unit = next_unit++;
            if (unit >= units) return;
            const int from = unit * kMembersPerUnit;
            const int to = std::min(o.members, from + kMembersPerUnit);
            auto status = storage.Write([&](storage::WriteTxn& txn) -> core::Status {
                for (int i = from; i < to; ++i) {
                    const SeedMember& sm = seed.members[static_cast<size_t>(i)];
                    core::Member m;
                    m.member_id = sm.member_id;
                    m.password_hash = password_hash;
                    m.profile.name = "Bench Member " + std::to_string(i + 1);
                    m.created_at = now;
                    KZ_RETURN_IF_ERROR(txn.InsertMember(m));
                    core::Card card;
                    card.card_number = sm.card_number;
                    card.member_id = sm.member_id;
                    card.issued_at = now;
                    KZ_RETURN_IF_ERROR(txn.InsertCard(card));
                }
                return core::Status::Ok();
            });
            if (!status.ok()) {
                std::lock_guard lock(report_mutex);
                std::cerr << "seed: writing members " << from << ".." << to - 1
                          << " failed: " << status.error().message << '\n';
                failed = true;
                return;
            }
            const int done = members_done += (to - from);
            if (done / 100000 != (done - (to - from)) / 100000 || done == o.members) {
                std::lock_guard lock(report_mutex);
                std::printf("seed: %d members (%.1f s)\n", done, SecondsSince(members_start));
                std::fflush(stdout);
            }
        }
    };
    std::vector<std::thread> producers;
    for (int t = 0; t < kUnitsInFlight; ++t) producers.emplace_back(producer);
    for (auto& t : producers) t.join();
    if (failed) return 1;

    // Sessions as AuthService::Login makes them (a digest of a prefixed secret), without the
    // Argon2id check per member that a log-in costs.
    const int sessions = std::min(o.sessions, o.members);
    auto status = storage.Write([&](storage::WriteTxn& txn) -> core::Status {
        for (int i = 0; i < sessions; ++i) {
            std::string token = std::string(hub::kSessionTokenPrefix) + crypto::NewSecretToken();
            storage::MemberSession session;
            session.token_hash = crypto::Digest(token);
            session.member_id = seed.members[static_cast<size_t>(i)].member_id;
            session.created_at = now;
            session.expires_at = now + std::chrono::hours(24);
            KZ_RETURN_IF_ERROR(txn.InsertSession(session));
            seed.sessions.push_back({session.member_id, std::move(token)});
        }
        return core::Status::Ok();
    });
    if (!status.ok()) {
        std::cerr << "seed: writing sessions failed: " << status.error().message << '\n';
        return 1;
    }

    // History for the scale test, straight into the file once the hub has closed it.
    if (o.entries_per_member > 0) {
        const std::filesystem::path db_path = std::filesystem::path(o.data_dir) / "kizuna.db";
        opened->reset();
        const auto ledger_start = Clock::now();
        std::vector<BulkStore> homes;
        for (const core::Store& store : stores) homes.push_back({store.store_id, store.program_id});
        LedgerBulkLoader loader(db_path.string());
        if (!loader.Load(homes, o.entries_per_member, core::ToUnixSeconds(now))) {
            std::cerr << "seed: loading ledger history failed: " << loader.error() << '\n';
            return 1;
        }
        std::printf("seed: %lld ledger entries, %d lots and balances (%.1f s)\n",
                    static_cast<long long>(o.members) * o.entries_per_member, o.members,
                    SecondsSince(ledger_start));
    }

    std::string error;
    if (!seed.Save(o.out, error)) {
        std::cerr << "seed: " << error << '\n';
        return 1;
    }
    std::printf(
        "seed: done: %d members, %lld ledger entries, %d sessions, %d stores in %.1f s -> %s\n",
        o.members, static_cast<long long>(o.members) * o.entries_per_member, sessions, o.stores,
        SecondsSince(start), o.out.c_str());
    return 0;
}

}  // namespace
}  // namespace kizuna::bench

int main(int argc, char** argv) {
    kizuna::bench::Options o;
    CLI::App app{"Seeds a hub data directory with stores, members and history for benchmarks"};
    app.add_option("--data", o.data_dir, "the hub's data directory (created if missing)")
        ->required();
    app.add_option("--out", o.out, "seed file for bench/loadgen")->required();
    app.add_option("--members", o.members, "members to create")
        ->capture_default_str()
        ->check(CLI::Range(1, 50000000));
    app.add_option("--stores", o.stores, "stores to create (each its own program)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--sessions", o.sessions, "member sessions to open (usage reads use them)")
        ->capture_default_str()
        ->check(CLI::Range(0, 50000000));
    app.add_option("--entries-per-member", o.entries_per_member,
                   "ledger entries of history per member (scale test: 10)")
        ->capture_default_str()
        ->check(CLI::Range(0, 1000));
    CLI11_PARSE(app, argc, argv);
    try {
        return kizuna::bench::Run(o);
    } catch (const std::exception& e) {
        std::cerr << "seed: " << e.what() << '\n';
        return 1;
    }
}
