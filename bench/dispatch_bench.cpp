// Offer dispatch at scale (issue 18), in-process on a hub data directory in a temp dir:
//   selection  — a dry run over N members (each with --purchases-per-member purchases over the
//                last 60 days, mostly in one of four categories; the first L with postal
//                consent), timed from Create to "done" (the hub's worker);
//   letters    — the PDF letters of the dry run's print rows (the L members with postal consent);
//   email      — a real email run to the SMTP server --smtp (bench/dispatch_run starts aiosmtpd)
//                over the first E members by id, messages per second from Create to "done".
// The dispatch worker runs at --nice (default 0, not the hub's 19: the phases time the dispatch,
// not the other work on a shared machine). Every phase reports wall time, the process's CPU time
// (user + system, every thread: the dispatch worker does the work, the main thread polls every 20
// ms) and the 1-minute load average at its end; --json FILE appends them as bench/run's JSON lines.
// Members and purchases are written straight through Storage::Write in batches (one fixed
// password hash: Argon2id per member would time the seeding, not the dispatch).
// --seed-only keeps the seeded directory and writes a loadgen seed file (--seed-out) instead:
// bench/dispatch_run --throughput serves it with `kizuna hub serve` and measures purchases
// with and without a dispatch run going on.
// Not part of `make test`; bench/dispatch_run runs it.
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <unordered_set>

#include "core/ids.hpp"
#include "crypto/crypto.hpp"
#include "hub/hub.hpp"
#include "seed_file.hpp"

namespace {

using namespace kizuna;
using Clock = std::chrono::steady_clock;

core::Timestamp Now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

double Seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
}

// User + system CPU seconds of the whole process (every thread).
double CpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double LoadAverage() {
    double load = 0;
    std::ifstream("/proc/loadavg") >> load;
    return load;
}

// One phase's wall and CPU time from its start to now, printed and kept for --json.
struct Phase {
    Clock::time_point wall = Clock::now();
    double cpu = CpuSeconds();
};

struct Figures {
    std::string json_path;
    void Record(const std::string& name, const std::string& fields) const {
        if (json_path.empty()) return;
        std::ofstream(json_path, std::ios::app)
            << R"({"name":")" << name << R"(","result":{)" << fields << "}}\n";
    }
};

std::string Fixed(double value, int digits = 3) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, value);
    return text;
}

template <typename T>
T Must(core::Result<T> result, const char* what) {
    if (!result) {
        std::cerr << what << ": " << result.error().message << "\n";
        std::exit(1);
    }
    return std::move(*result);
}

// Polls the run's own row every 20 ms (not DispatchService::Get, whose counts scan the run's
// recipient rows: polled that often, the bench timed its own polling).
storage::DispatchRun WaitDone(hub::Hub& hub, const std::string& id) {
    while (true) {
        std::optional<storage::DispatchRun> run;
        auto read = hub.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(run, txn.FindDispatch(id));
            return core::Status::Ok();
        });
        if (!read.ok() || !run) {
            std::cerr << "get dispatch " << id << ": "
                      << (read.ok() ? "not found" : read.error().message) << "\n";
            std::exit(1);
        }
        if (run->status == "done" || run->status == "failed") return *run;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Offer dispatch benchmark (selection, letters, email)");
    int members = 100000, purchases_per_member = 10, letters = 10000, emails = 2000;
    std::string smtp, data, seed_out;
    Figures figures;
    bool seed_only = false;
    int nice = 0;
    app.add_option("--members", members, "members to seed and select over")->capture_default_str();
    app.add_option("--purchases-per-member", purchases_per_member, "purchases seeded per member")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_option("--letters", letters,
                   "members with postal consent, whose letters are rendered (0: skip)")
        ->capture_default_str();
    app.add_option("--emails", emails, "emails to send (0: skip)")->capture_default_str();
    app.add_option("--smtp", smtp, "smtp://127.0.0.1:PORT for the email part");
    app.add_option("--data", data, "data directory (default: a new temp dir)");
    app.add_option("--json", figures.json_path, "append each phase's figures as JSON lines");
    app.add_option("--nice", nice,
                   "the dispatch worker's nice value (the hub's default is 19, which lets every "
                   "other process on the machine go first: on a shared machine the phases "
                   "would time the others)")
        ->capture_default_str()
        ->check(CLI::Range(0, 19));
    app.add_flag("--seed-only", seed_only,
                 "seed --data, write --seed-out for loadgen and keep the directory; no phases");
    app.add_option("--seed-out", seed_out, "the loadgen seed file --seed-only writes");
    CLI11_PARSE(app, argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each phase's line as it ends, also into a pipe
    if (seed_only && (data.empty() || seed_out.empty())) {
        std::cerr << "--seed-only needs --data and --seed-out\n";
        return 2;
    }
    if (data.empty()) {
        data = (std::filesystem::temp_directory_path() /
                ("kizuna-dispatch-bench-" + std::to_string(::getpid())))
                   .string();
    }

    hub::HubOptions options;
    options.data_dir = data;
    options.dispatch.run_worker = !seed_only;
    options.dispatch.poll_interval = std::chrono::milliseconds(20);
    options.dispatch.smtp.url = smtp;
    options.dispatch.sender.from = {"Kizuna", "offers@example.jp"};
    options.dispatch.sender.name = "Kizuna";
    options.dispatch.sender.contact = "support@example.jp";
    options.dispatch.public_url = "http://127.0.0.1:8080";
    options.dispatch.per_second = 100000;  // the bench measures the pipeline, not the limiter
    options.dispatch.worker_nice = nice;
    auto hub = Must(hub::Hub::Open(options), "open hub");
    const hub::Caller op = hub::Caller::Operator();
    bench::SeedFile seed;

    // One program, four stores, one offer per store category.
    const auto program = Must(hub->admin().CreateProgram(op, "駅前チェーン"), "program");
    const char* categories[] = {"books", "coffee", "food", "toys"};
    std::vector<core::Store> stores;
    for (const char* category : categories) {
        auto created = Must(
            hub->admin().CreateStore(op, {std::string("店 ") + category, core::StoreKind::kPhysical,
                                          program.program_id, "JPY"}),
            "store");
        stores.push_back(created.store);
        seed.stores.push_back({created.store.store_id, created.api_key});
        hub::Caller store{hub::Role::kStore, created.store.store_id, program.program_id, {}, {}};
        core::Offer offer;
        offer.title = std::string("おすすめ ") + category;
        offer.body = "期間中、対象商品がお得です。";
        offer.categories = {category};
        offer.valid_to = Now() + std::chrono::days(90);
        Must(hub->offers().CreateOffer(store, offer), "offer");
    }

    // Members with their purchases, in batches. Member i buys mostly in category i % 4, every
    // third purchase in the next one; purchase j is j * 6 + i % 6 days old (within 60 days).
    const Phase seed_phase;
    crypto::SystemRandom random;
    const std::string password_hash = crypto::HashPassword("bench password 42");
    const core::Timestamp now = Now();
    constexpr int kBatch = 1000;
    std::unordered_set<std::string> member_ids;
    for (int first = 0; first < members; first += kBatch) {
        std::vector<core::Member> batch_members;
        std::vector<core::Purchase> batch_purchases;
        for (int i = first; i < std::min(members, first + kBatch); ++i) {
            core::Member m;
            do {
                m.member_id = core::NewMemberId(random);  // random: ids not in seeding order
            } while (!member_ids.insert(m.member_id).second);
            m.password_hash = password_hash;
            m.profile.name = "会員 " + std::to_string(i);
            m.profile.email = "m" + std::to_string(i) + "@example.jp";
            m.email_confirmed = true;  // core::MayMailOffers mails confirmed addresses only
            m.profile.postal_code = "150-0043";
            m.profile.address = "東京都渋谷区道玄坂1-2-" + std::to_string(i % 100);
            m.consents.email_offers = true;
            m.consents.postal_offers = i < letters;  // the letters part prints these
            m.created_at = now;
            for (int j = 0; j < purchases_per_member; ++j) {
                const int category = (i + (j % 3 == 2 ? 1 : 0)) % 4;
                const core::Store& store = stores[static_cast<std::size_t>(category)];
                core::Purchase p;
                p.purchase_id = "bench-" + std::to_string(i) + "-" + std::to_string(j);
                p.member_id = m.member_id;
                p.store_id = store.store_id;
                p.program_id = program.program_id;
                p.occurred_at = p.recorded_at = now - std::chrono::days(1 + (j * 6 + i % 6) % 60);
                p.currency = "JPY";
                p.lines = {core::PurchaseLine{"品物", "", categories[category], 2, 1500}};
                p.total = 3000;
                p.rule_version = 1;
                p.fingerprint = "bench";
                batch_purchases.push_back(std::move(p));
            }
            seed.members.push_back({m.member_id, ""});
            batch_members.push_back(std::move(m));
        }
        auto written = hub->storage().Write([&](storage::WriteTxn& txn) -> core::Status {
            for (const core::Member& m : batch_members) KZ_RETURN_IF_ERROR(txn.InsertMember(m));
            for (const core::Purchase& p : batch_purchases) {
                KZ_RETURN_IF_ERROR(txn.InsertPurchase(p));
            }
            return core::Status::Ok();
        });
        if (!written.ok()) {
            std::cerr << "seed: " << written.error().message << "\n";
            return 1;
        }
    }
    std::printf("seeded %d members with %d purchases each in %.1f s\n", members,
                purchases_per_member, Seconds(seed_phase.wall));

    if (seed_only) {
        std::ifstream token_file(hub->operator_token_path());
        std::getline(token_file, seed.operator_token);
        std::string error;
        if (seed.operator_token.empty() || !seed.Save(seed_out, error)) {
            std::cerr << "seed file: " << (error.empty() ? "no operator token" : error) << "\n";
            return 1;
        }
        std::printf("seed file for loadgen: %s (data kept in %s)\n", seed_out.c_str(),
                    data.c_str());
        return 0;
    }

    // Selection over every member (dry run: nothing sent or recorded).
    Phase phase;
    auto run =
        Must(hub->dispatches().Create(op, {{"email", "print"}, true, "", 3, false}), "dry run");
    auto done = WaitDone(*hub, run.dispatch_id);
    double wall = Seconds(phase.wall), cpu = CpuSeconds() - phase.cpu, load = LoadAverage();
    auto view = Must(hub->dispatches().Get(op, run.dispatch_id), "view");
    std::printf(
        "selection: %lld members (%d purchases each), %lld recipient rows in %.2f s, CPU %.2f s "
        "(%.1f µs per member), load average %.2f (%s)\n",
        static_cast<long long>(done.members), purchases_per_member,
        static_cast<long long>(view.counts.selected), wall, cpu, cpu / done.members * 1e6, load,
        done.status.c_str());
    figures.Record("dispatch_selection",
                   "\"members\":" + std::to_string(done.members) +
                       ",\"purchases_per_member\":" + std::to_string(purchases_per_member) +
                       ",\"rows\":" + std::to_string(view.counts.selected) +
                       ",\"seconds\":" + Fixed(wall) + ",\"cpu_seconds\":" + Fixed(cpu) +
                       ",\"load1\":" + Fixed(load, 2) + ",\"nice\":" + std::to_string(nice) +
                       ",\"ok\":" + (done.status == "done" ? "true" : "false"));

    if (letters > 0) {
        // The letters of the dry run's print rows: the members with postal consent.
        phase = Phase();
        auto pdf = Must(hub->dispatches().Letters(op, run.dispatch_id), "letters");
        wall = Seconds(phase.wall), cpu = CpuSeconds() - phase.cpu, load = LoadAverage();
        const long long pages = view.by_channel[1].second.planned;
        std::printf(
            "letters: %lld pages (%.1f MB) in %.2f s, CPU %.2f s (%.2f ms per letter), load "
            "average %.2f\n",
            pages, pdf.size() / 1e6, wall, cpu, cpu / static_cast<double>(pages) * 1e3, load);
        figures.Record("dispatch_letters", "\"letters\":" + std::to_string(pages) +
                                               ",\"bytes\":" + std::to_string(pdf.size()) +
                                               ",\"seconds\":" + Fixed(wall) + ",\"cpu_seconds\":" +
                                               Fixed(cpu) + ",\"load1\":" + Fixed(load, 2));
    }

    if (emails > 0 && !smtp.empty()) {
        // Withdraw email consent beyond the first `emails` members, then a real email run.
        auto withdrawn = hub->storage().Write([&](storage::WriteTxn& txn) -> core::Status {
            std::string after;
            int seen = 0;
            while (true) {
                KZ_ASSIGN_OR_RETURN(auto page, txn.DispatchMembersAfter(after, 5000));
                if (page.empty()) return core::Status::Ok();
                for (const auto& dm : page) {
                    if (++seen <= emails) continue;
                    KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(dm.member_id));
                    member->consents.email_offers = false;
                    KZ_RETURN_IF_ERROR(txn.UpdateMember(*member));
                }
                after = page.back().member_id;
            }
        });
        if (!withdrawn.ok()) {
            std::cerr << "consents: " << withdrawn.error().message << "\n";
            return 1;
        }
        phase = Phase();
        auto email_run =
            Must(hub->dispatches().Create(op, {{"email"}, false, "", 1, false}), "email run");
        auto email_done = WaitDone(*hub, email_run.dispatch_id);
        auto email_view = Must(hub->dispatches().Get(op, email_run.dispatch_id), "view");
        wall = Seconds(phase.wall), cpu = CpuSeconds() - phase.cpu, load = LoadAverage();
        const long long sent = email_view.counts.sent;
        std::printf(
            "email: %lld sent, %lld failed in %.2f s = %.0f messages/s (%s, selection over %lld "
            "members included), CPU %.2f s (%.0f µs per message), load average %.2f\n",
            sent, static_cast<long long>(email_view.counts.failed), wall, sent / wall,
            email_done.status.c_str(), static_cast<long long>(email_done.members), cpu,
            sent > 0 ? cpu / static_cast<double>(sent) * 1e6 : 0.0, load);
        figures.Record("dispatch_email",
                       "\"sent\":" + std::to_string(sent) +
                           ",\"failed\":" + std::to_string(email_view.counts.failed) +
                           ",\"seconds\":" + Fixed(wall) + ",\"cpu_seconds\":" + Fixed(cpu) +
                           ",\"load1\":" + Fixed(load, 2) + ",\"nice\":" + std::to_string(nice) +
                           ",\"ok\":" + (email_done.status == "done" ? "true" : "false"));
    }
    hub.reset();
    std::filesystem::remove_all(data);
    return 0;
}
