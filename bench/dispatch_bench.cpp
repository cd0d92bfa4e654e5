// Offer dispatch at scale (issue 18), in-process on a hub data directory in a temp dir:
//   selection  — a dry run over N members (each with purchases in one of four categories, a
//                quarter with postal consent), timed from Create to "done" (the hub's worker);
//   letters    — the PDF letters of a print-only run over the first L members;
//   email      — a real email run to the SMTP server --smtp (bench/dispatch_run starts aiosmtpd)
//                over the first E members, messages per second from Create to "done".
// Members and purchases are written straight through Storage::Write in batches (one fixed
// password hash: Argon2id per member would time the seeding, not the dispatch).
// Not part of `make test`; bench/dispatch_run runs it.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/ids.hpp"
#include "crypto/crypto.hpp"
#include "hub/hub.hpp"

namespace {

using namespace kizuna;
using Clock = std::chrono::steady_clock;

core::Timestamp Now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

double Seconds(Clock::time_point since) {
    return std::chrono::duration<double>(Clock::now() - since).count();
}

template <typename T>
T Must(core::Result<T> result, const char* what) {
    if (!result) {
        std::cerr << what << ": " << result.error().message << "\n";
        std::exit(1);
    }
    return std::move(*result);
}

storage::DispatchRun WaitDone(hub::Hub& hub, const std::string& id) {
    while (true) {
        auto view = Must(hub.dispatches().Get(hub::Caller::Operator(), id), "get dispatch");
        if (view.run.status == "done" || view.run.status == "failed") return view.run;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Offer dispatch benchmark (selection, letters, email)");
    int members = 100000, letters = 10000, emails = 2000;
    std::string smtp, data;
    app.add_option("--members", members, "members to seed and select over")->capture_default_str();
    app.add_option("--letters", letters, "letters to render (0: skip)")->capture_default_str();
    app.add_option("--emails", emails, "emails to send (0: skip)")->capture_default_str();
    app.add_option("--smtp", smtp, "smtp://127.0.0.1:PORT for the email part");
    app.add_option("--data", data, "data directory (default: a new temp dir)");
    CLI11_PARSE(app, argc, argv);
    if (data.empty()) {
        data = (std::filesystem::temp_directory_path() /
                ("kizuna-dispatch-bench-" + std::to_string(::getpid())))
                   .string();
    }

    hub::HubOptions options;
    options.data_dir = data;
    options.dispatch.run_worker = true;
    options.dispatch.poll_interval = std::chrono::milliseconds(20);
    options.dispatch.smtp.url = smtp;
    options.dispatch.sender.from = {"Kizuna", "offers@example.jp"};
    options.dispatch.sender.name = "Kizuna";
    options.dispatch.sender.contact = "support@example.jp";
    options.dispatch.public_url = "http://127.0.0.1:8080";
    options.dispatch.per_second = 100000;  // the bench measures the pipeline, not the limiter
    auto hub = Must(hub::Hub::Open(options), "open hub");
    const hub::Caller op = hub::Caller::Operator();

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
        hub::Caller store{hub::Role::kStore, created.store.store_id, program.program_id, {}, {}};
        core::Offer offer;
        offer.title = std::string("おすすめ ") + category;
        offer.body = "期間中、対象商品がお得です。";
        offer.categories = {category};
        offer.valid_to = Now() + std::chrono::days(90);
        Must(hub->offers().CreateOffer(store, offer), "offer");
    }

    // Members with one purchase each, in batches.
    const auto seed_start = Clock::now();
    crypto::SystemRandom random;
    const std::string password_hash = crypto::HashPassword("bench password 42");
    const core::Timestamp now = Now();
    constexpr int kBatch = 2000;
    for (int first = 0; first < members; first += kBatch) {
        std::vector<core::Member> batch_members;
        std::vector<core::Purchase> batch_purchases;
        for (int i = first; i < std::min(members, first + kBatch); ++i) {
            core::Member m;
            m.member_id = core::NewMemberId(random);
            m.password_hash = password_hash;
            m.profile.name = "会員 " + std::to_string(i);
            m.profile.email = "m" + std::to_string(i) + "@example.jp";
            m.profile.postal_code = "150-0043";
            m.profile.address = "東京都渋谷区道玄坂1-2-" + std::to_string(i % 100);
            m.consents.email_offers = true;
            m.consents.postal_offers = i < letters;  // the letters part prints these
            m.created_at = now;
            const core::Store& store = stores[static_cast<std::size_t>(i % 4)];
            core::Purchase p;
            p.purchase_id = "bench-" + std::to_string(i);
            p.member_id = m.member_id;
            p.store_id = store.store_id;
            p.program_id = program.program_id;
            p.occurred_at = p.recorded_at = now - std::chrono::days(1 + i % 60);
            p.currency = "JPY";
            p.lines = {core::PurchaseLine{"品物", "", categories[i % 4], 2, 1500}};
            p.total = 3000;
            p.rule_version = 1;
            p.fingerprint = "bench";
            batch_members.push_back(std::move(m));
            batch_purchases.push_back(std::move(p));
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
    std::printf("seeded %d members with one purchase each in %.1f s\n", members,
                Seconds(seed_start));

    // Selection over every member (dry run: nothing sent or recorded).
    auto start = Clock::now();
    auto run =
        Must(hub->dispatches().Create(op, {{"email", "print"}, true, "", 3, false}), "dry run");
    auto done = WaitDone(*hub, run.dispatch_id);
    auto view = Must(hub->dispatches().Get(op, run.dispatch_id), "view");
    std::printf("selection: %lld members, %lld recipient rows in %.2f s (%s)\n",
                static_cast<long long>(done.members), static_cast<long long>(view.counts.selected),
                Seconds(start), done.status.c_str());

    if (letters > 0) {
        // The letters of the dry run's print rows, the first `letters` members by id.
        start = Clock::now();
        auto pdf = Must(hub->dispatches().Letters(op, run.dispatch_id), "letters");
        std::printf("letters: %lld pages (%.1f MB) in %.2f s\n",
                    static_cast<long long>(view.by_channel[1].second.planned), pdf.size() / 1e6,
                    Seconds(start));
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
        start = Clock::now();
        auto email_run =
            Must(hub->dispatches().Create(op, {{"email"}, false, "", 1, false}), "email run");
        auto email_done = WaitDone(*hub, email_run.dispatch_id);
        auto email_view = Must(hub->dispatches().Get(op, email_run.dispatch_id), "view");
        const double seconds = Seconds(start);
        std::printf(
            "email: %lld sent, %lld failed in %.2f s = %.0f messages/s (%s, selection "
            "included)\n",
            static_cast<long long>(email_view.counts.sent),
            static_cast<long long>(email_view.counts.failed), seconds,
            email_view.counts.sent / seconds, email_done.status.c_str());
    }
    hub.reset();
    std::filesystem::remove_all(data);
    return 0;
}
