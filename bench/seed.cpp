// bench/seed: fills a hub's data directory with stores, members (each with a card), member
// sessions and, for the scale test, ledger history — fast, and as far as speed allows through
// the hub's own code:
//   1. stores through AdminService (API keys and rules exactly as the API makes them), and the
//      first member, its card and history through Storage::Write (AppendEntry, InsertLot);
//   2. every other member and card through BulkLoader: the hub's row code (SqliteTxn) on one
//      private connection in one transaction without journal or fsync, ledger history generated
//      by INSERT ... SELECT, each table compared column by column with the first member's rows
//      (the group-commit path took 28 s of the 107 s that 1M members + 10M entries took on
//      the loaded bench machine; the target is under 60 s), then one fsync;
//   3. sessions through Storage::Write again, once the hub has reopened the loaded file.
// Then writes the seed file bench/loadgen reads.
//
//   seed --data DIR [--members 100000] [--stores 4] [--sessions 1000]
//        [--entries-per-member 0] --out seed.txt
//
// Run it on a fresh directory while no hub serves DIR (it opens the storage itself). A seed
// that fails or crashes leaves DIR unusable: seed a fresh directory again. Every member's
// password is kBenchPassword (hashed once: Argon2id per member would take hours for a million).

#include <sqlite3.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bulk_loader.hpp"
#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "core/member.hpp"
#include "core/time.hpp"
#include "crypto/crypto.hpp"
#include "hub/admin_service.hpp"
#include "hub/auth_service.hpp"
#include "hub/caller.hpp"
#include "hub/hub.hpp"
#include "seed_file.hpp"
#include "storage/storage.hpp"

namespace kizuna::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kBenchPassword = "bench-password-1";

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

constexpr const char* kMemberNamePrefix = "Bench Member ";

core::Member MakeMember(const SeedMember& sm, int i, const std::string& password_hash,
                        core::Timestamp now) {
    core::Member m;
    m.member_id = sm.member_id;
    m.password_hash = password_hash;
    m.profile.name = kMemberNamePrefix + std::to_string(i + 1);
    m.created_at = now;
    return m;
}

core::Card MakeCard(const SeedMember& sm, core::Timestamp now) {
    core::Card card;
    card.card_number = sm.card_number;
    card.member_id = sm.member_id;
    card.issued_at = now;
    return card;
}

// The first member, its card and its history, written by the hub itself (Storage::Write,
// AppendEntry, InsertLot): the reference the bulk-loaded rows are compared with.
core::Status WriteReferenceMember(storage::Storage& storage, const core::Member& member,
                                  const core::Card& card, const core::Store& home,
                                  const History& history) {
    return storage.Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_RETURN_IF_ERROR(txn.InsertMember(member));
        KZ_RETURN_IF_ERROR(txn.InsertCard(card));
        int64_t total = 0;
        for (int n = 1; n <= history.entries; ++n) {
            core::LedgerEntry entry;
            entry.member_id = member.member_id;
            entry.program_id = home.program_id;
            entry.store_id = home.store_id;
            entry.delta = History::Delta(0, n);
            entry.kind = core::EntryKind::kAdjustment;
            entry.ref = History::Ref(n);
            entry.occurred_at = history.OccurredAt(n);
            entry.note = History::kNote;
            KZ_ASSIGN_OR_RETURN(int64_t entry_id, txn.AppendEntry(entry));
            (void)entry_id;
            total += entry.delta;
        }
        if (history.entries == 0) return core::Status::Ok();
        core::Lot lot;
        lot.member_id = member.member_id;
        lot.program_id = home.program_id;
        lot.store_id = home.store_id;
        lot.earned = total;
        lot.remaining = total;
        lot.earned_at = history.now;
        lot.expires_at = history.ExpiresAt();
        KZ_ASSIGN_OR_RETURN(int64_t lot_id, txn.InsertLot(lot));
        (void)lot_id;
        return core::Status::Ok();
    });
}

// Members 2..N (with their cards and, for the scale test, their history) through BulkLoader,
// each table checked against the reference member's rows.
core::Status BulkLoad(const std::filesystem::path& db_path, const SeedFile& seed,
                      const std::vector<core::Store>& stores, const std::string& password_hash,
                      const History& history, Clock::time_point start) {
    KZ_ASSIGN_OR_RETURN(auto loader, BulkLoader::Open(db_path.string()));
    const size_t members = seed.members.size();
    BulkMembers bulk_members;
    bulk_members.ids = &seed.members;
    bulk_members.name_prefix = kMemberNamePrefix;
    if (members > 1) {
        bulk_members.like = MakeMember(seed.members[1], 1, password_hash, history.now);
        bulk_members.card_like = MakeCard(seed.members[1], history.now);
    }
    const auto members_start = Clock::now();
    constexpr size_t kReportEvery = 100000;
    for (size_t from = 1; from < members;) {
        const size_t to = std::min(members, (from / kReportEvery + 1) * kReportEvery);
        KZ_RETURN_IF_ERROR(loader->InsertMembers(bulk_members, from, to));
        std::printf("seed: %zu members (%.1f s)\n", to, SecondsSince(members_start));
        std::fflush(stdout);
        from = to;
    }
    if (members > 1) {
        const std::string& reference = seed.members[0].member_id;
        const std::string& bulk = seed.members[1].member_id;
        KZ_RETURN_IF_ERROR(
            loader->CheckLikeReference("members", "rowid", reference, bulk, {"member_id", "name"}));
        KZ_RETURN_IF_ERROR(loader->CheckLikeReference("cards", "rowid", reference, bulk,
                                                      {"card_number", "member_id"}));
        if (history.entries > 0) {
            const auto ledger_start = Clock::now();
            std::vector<BulkStore> homes;
            for (const core::Store& store : stores) {
                homes.push_back({store.store_id, store.program_id});
            }
            KZ_ASSIGN_OR_RETURN(int64_t first_rowid, loader->MemberRowId(bulk));
            KZ_RETURN_IF_ERROR(loader->LoadLedger(homes, first_rowid, history));
            std::printf("seed: %lld ledger entries, %zu lots and balances (%.1f s)\n",
                        static_cast<long long>(members) * history.entries, members,
                        SecondsSince(ledger_start));
            KZ_RETURN_IF_ERROR(loader->CheckLikeReference(
                "ledger_entries", "entry_id", reference, bulk,
                {"entry_id", "member_id", "program_id", "store_id", "delta"}));
            KZ_RETURN_IF_ERROR(loader->CheckLikeReference(
                "lots", "lot_id", reference, bulk,
                {"lot_id", "member_id", "program_id", "store_id", "earned", "remaining"}));
            KZ_RETURN_IF_ERROR(loader->CheckLikeReference("balances", "program_id", reference, bulk,
                                                          {"member_id", "program_id", "points"}));
        }
    }
    const auto commit_start = Clock::now();
    KZ_RETURN_IF_ERROR(loader->Finish());
    std::printf("seed: committed and synced (%.1f s; %.1f s in all)\n", SecondsSince(commit_start),
                SecondsSince(start));
    return core::Status::Ok();
}

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

    SeedFile seed;
    {
        std::ifstream token_file((*opened)->operator_token_path());
        std::getline(token_file, seed.operator_token);
        if (seed.operator_token.empty()) {
            std::cerr << "seed: cannot read " << (*opened)->operator_token_path() << '\n';
            return 1;
        }
    }

    std::vector<core::Store> stores;
    for (int s = 0; s < o.stores; ++s) {
        hub::NewStore request;
        request.name = "Bench Store " + std::to_string(s + 1);
        auto created = (*opened)->admin().CreateStore(hub::Caller::Operator(), request);
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
    const History history{o.entries_per_member, now};

    seed.members.reserve(static_cast<size_t>(o.members));
    for (int i = 0; i < o.members; ++i)
        seed.members.push_back({ids.MemberId(i), ids.CardNumber(i)});

    auto status = WriteReferenceMember((*opened)->storage(),
                                       MakeMember(seed.members[0], 0, password_hash, now),
                                       MakeCard(seed.members[0], now), stores[0], history);
    if (!status.ok()) {
        std::cerr << "seed: writing the first member failed: " << status.error().message << '\n';
        return 1;
    }
    opened->reset();  // the bulk load needs the file to itself

    const std::filesystem::path db_path = std::filesystem::path(o.data_dir) / "kizuna.db";
    status = BulkLoad(db_path, seed, stores, password_hash, history, start);
    if (!status.ok()) {
        std::cerr << "seed: bulk loading " << db_path.string() << " failed (seed a fresh directory"
                  << " again): " << status.error().message << '\n';
        return 1;
    }

    // Sessions as AuthService::Login makes them (a digest of a prefixed secret), without the
    // Argon2id check per member that a log-in costs, through the hub again: it must open the
    // bulk-loaded file like any other.
    opened = hub::Hub::Open(hub_options);
    if (!opened) {
        std::cerr << "seed: the hub cannot open the seeded " << o.data_dir << ": "
                  << opened.error().message << '\n';
        return 1;
    }
    const int sessions = std::min(o.sessions, o.members);
    status = (*opened)->storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        seed.sessions.clear();  // a unit of work may run more than once (storage.hpp)
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
    opened->reset();
    std::printf("seed: %d sessions through the hub (%.1f s in all)\n", sessions,
                SecondsSince(start));

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
    // SQLite's allocation statistics take a global mutex on every malloc and free: 14 % of the
    // seed's CPU time went to locking. Nothing here reads the statistics. Must precede the first
    // use of SQLite; it changes nothing else.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    kizuna::bench::Options o;
    CLI::App app{
        "Seeds a fresh hub data directory with stores, members (each with a card), sessions and\n"
        "ledger history for benchmarks, then writes the seed file bench/loadgen reads. Run it\n"
        "while no hub serves the directory; a seed that fails leaves it unusable."};
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
