#include "hub/dispatch_runner.hpp"

#include <algorithm>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "core/backoff.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

namespace {

constexpr int kLookbackDays = 365;
constexpr int kCapPeriodDays = 30;

// SMTP authentication refused (RFC 4954): the hub's credentials, not the recipient's fault.
bool IsAuthenticationRefusal(int smtp_code) {
    return smtp_code == 530 || smtp_code == 534 || smtp_code == 535 || smtp_code == 538;
}

std::string_view RowChannel(core::Channel channel) {
    return channel == core::Channel::kEmail ? "email" : "print";
}

std::vector<storage::SentOffer> OffersOf(const storage::DispatchRecipient& row,
                                         const std::vector<DispatchItem>& items,
                                         core::Timestamp at) {
    std::vector<storage::SentOffer> sent;
    for (const DispatchItem& item : items) {
        if (item.kind == "offer" && !item.offer_id.empty()) {
            sent.push_back({row.member_id, item.offer_id, row.channel, row.dispatch_id, at});
        }
    }
    return sent;
}

}  // namespace

struct DispatchRunner::Plan {
    std::optional<core::OfferSelection> selection;
    DispatchNames names;
    std::map<std::string, core::Offer> offers;  // current at the run's creation, by id
};

DispatchRunner::DispatchRunner(HubContext& context, DispatchService& service,
                               mail::MailSender* sender, mail::TickClock& clock)
    : context_(context),
      service_(service),
      sender_(sender),
      limiter_(service.options().per_second, std::max(1.0, service.options().per_second / 5),
               clock),
      breaker_(service.options().breaker_limit) {}

DispatchRunner::~DispatchRunner() = default;

int DispatchRunner::BatchSize() const {
    return std::clamp(static_cast<int>(service_.options().per_second / 5), 1, 50);
}

core::Result<int> DispatchRunner::RecoverInterrupted() {
    int recovered = 0;
    std::vector<storage::DispatchRun> runs;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(runs, txn.UnfinishedDispatches());
        return core::Status::Ok();
    }));
    const core::Timestamp now = context_.Now();
    for (const storage::DispatchRun& run : runs) {
        while (true) {
            std::vector<storage::DispatchRecipient> rows;
            KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
                KZ_ASSIGN_OR_RETURN(rows, txn.DispatchRecipientsInState(run.dispatch_id, "email",
                                                                        "sending", now, 500));
                return core::Status::Ok();
            }));
            if (rows.empty()) break;
            KZ_RETURN_IF_ERROR(
                context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
                    for (storage::DispatchRecipient row : rows) {
                        KZ_ASSIGN_OR_RETURN(auto items, ItemsFromJson(row.items));
                        row.state = "unknown";
                        row.updated_at = now;
                        row.reason =
                            "the hub stopped while this message was with the SMTP server; "
                            "whether it arrived is unknown, and it is not sent again";
                        KZ_RETURN_IF_ERROR(txn.UpdateDispatchRecipient(row));
                        for (const storage::SentOffer& sent : OffersOf(row, items, now)) {
                            KZ_RETURN_IF_ERROR(txn.InsertSentOffer(sent));
                        }
                    }
                    return core::Status::Ok();
                }));
            recovered += static_cast<int>(rows.size());
        }
    }
    if (recovered > 0) {
        spdlog::warn("dispatch: {} message(s) were in flight when the hub stopped; marked unknown",
                     recovered);
    }
    return recovered;
}

core::Result<DispatchRunner::Plan*> DispatchRunner::PlanFor(const storage::DispatchRun& run) {
    if (auto it = plans_.find(run.dispatch_id); it != plans_.end()) return it->second.get();
    auto plan = std::make_unique<Plan>();
    std::vector<core::SelectableOffer> selectable;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto stores, txn.ListStores());
        KZ_ASSIGN_OR_RETURN(auto programs, txn.ListPrograms());
        std::unordered_map<std::string, std::string> program_of;
        for (const core::Store& store : stores) {
            plan->names.stores[store.store_id] = store.name;
            program_of[store.store_id] = store.program_id;
        }
        for (const core::Program& program : programs) {
            plan->names.programs[program.program_id] = program.name;
        }
        // Offers current when the run was created, so a resumed selection sees the same ones.
        KZ_ASSIGN_OR_RETURN(auto offers, txn.CurrentOffers(run.created_at, {}));
        for (core::Offer& offer : offers) {
            const std::string& program_id = program_of[offer.store_id];
            if (!run.program_id.empty() && program_id != run.program_id) continue;
            selectable.push_back(core::SelectableOffer{offer.offer_id, offer.store_id, program_id,
                                                       offer.categories, offer.valid_from,
                                                       offer.valid_to, offer.categories.empty()});
            plan->offers.emplace(offer.offer_id, std::move(offer));
        }
        return core::Status::Ok();
    }));
    core::SelectionOptions options;
    options.now = run.created_at;
    options.channels.clear();
    for (const std::string& channel : run.channels) {
        options.channels.push_back(channel == "email" ? core::Channel::kEmail
                                                      : core::Channel::kPostal);
    }
    options.max_per_member = run.max_per_member;
    options.lookback_days = kLookbackDays;
    options.include_members_without_purchases = run.include_general;
    KZ_ASSIGN_OR_RETURN(core::OfferSelection selection,
                        core::OfferSelection::Create(selectable, options));
    plan->selection.emplace(std::move(selection));
    Plan* raw = plan.get();
    plans_[run.dispatch_id] = std::move(plan);
    return raw;
}

core::Status DispatchRunner::SelectPage(storage::DispatchRun run, Plan& plan) {
    const core::Timestamp at = run.created_at;
    const core::Timestamp since = at - std::chrono::days(kLookbackDays);
    const core::Timestamp period_start = at - std::chrono::days(kCapPeriodDays);
    std::vector<storage::DispatchMember> members;
    std::vector<storage::PurchaseSpend> spend;
    std::vector<storage::SentOffer> sent;
    std::vector<storage::OpenLotSummary> lots;
    std::vector<storage::MemberProgram> programs;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(
            members, txn.DispatchMembersAfter(run.select_after, service_.options().page_size));
        if (members.empty()) return core::Status::Ok();
        const std::string& first = members.front().member_id;
        const std::string& last = members.back().member_id;
        KZ_ASSIGN_OR_RETURN(spend, txn.PurchaseSpendBetween(first, last, since));
        KZ_ASSIGN_OR_RETURN(sent, txn.SentOffersBetween(first, last));
        KZ_ASSIGN_OR_RETURN(lots, txn.OpenLotsBetween(first, last));
        KZ_ASSIGN_OR_RETURN(programs, txn.MemberProgramsBetween(first, last));
        return core::Status::Ok();
    }));
    if (members.empty()) {
        const bool sends = !run.dry_run && std::find(run.channels.begin(), run.channels.end(),
                                                     "email") != run.channels.end();
        spdlog::info("dispatch {}: selection done over {} members", run.dispatch_id, run.members);
        return Finish(std::move(run), sends ? "running" : "done", "");
    }

    // Histories by member, assembled from the page's bulk reads.
    std::unordered_map<std::string, core::MemberHistory> histories;
    std::unordered_map<std::string, std::set<std::string>> program_sets;
    for (const storage::DispatchMember& m : members) {
        core::MemberHistory& h = histories[m.member_id];
        h.member.member_id = m.member_id;
        const bool active = m.status == core::MemberStatus::kActive;
        h.member.consents = m.consents;
        h.member.has_email = active && !m.email.empty();
        h.member.has_postal_address = active && !m.postal_code.empty() && !m.address.empty();
    }
    std::unordered_map<int64_t, std::pair<std::string, std::size_t>> purchase_at;  // no -> index
    for (const storage::PurchaseSpend& line : spend) {
        auto h = histories.find(line.member_id);
        if (h == histories.end()) continue;
        auto [it, added] =
            purchase_at.try_emplace(line.purchase_no, line.member_id, h->second.purchases.size());
        if (added) {
            h->second.purchases.push_back(
                core::PurchaseSummary{line.occurred_at, line.store_id, line.program_id, {}});
            program_sets[line.member_id].insert(line.program_id);
        }
        h->second.purchases[it->second.second].spend.push_back(
            core::CategorySpend{line.category, std::max<int64_t>(0, line.amount)});
    }
    for (const storage::SentOffer& s : sent) {
        auto h = histories.find(s.member_id);
        if (h == histories.end()) continue;
        h->second.offers_sent.push_back(s.offer_id);
        if (s.sent_at >= period_start) {
            ++(s.channel == "email" ? h->second.sent_in_period_email
                                    : h->second.sent_in_period_postal);
        }
    }
    for (const storage::OpenLotSummary& lot : lots) {
        auto h = histories.find(lot.member_id);
        if (h == histories.end()) continue;
        if (!run.program_id.empty() && lot.program_id != run.program_id) continue;
        h->second.expiring.push_back(
            core::ExpiringPoints{lot.program_id, lot.remaining, lot.expires_at});
    }
    for (const storage::MemberProgram& mp : programs)
        program_sets[mp.member_id].insert(mp.program_id);

    std::vector<storage::DispatchRecipient> rows;
    std::vector<storage::SentOffer> printed;
    const core::Timestamp now = context_.Now();
    for (const storage::DispatchMember& m : members) {
        core::MemberHistory& h = histories[m.member_id];
        for (const std::string& program_id : program_sets[m.member_id]) {
            if (run.program_id.empty() || program_id == run.program_id) {
                h.member.program_ids.push_back(program_id);
            }
        }
        const core::MemberSelection chosen = plan.selection->ForMember(h);
        for (const std::string& channel : run.channels) {
            std::vector<DispatchItem> items;
            for (const core::ChosenItem& item : chosen.items) {
                if (RowChannel(item.channel) == channel) {
                    items.push_back(MakeDispatchItem(item, plan.names, plan.offers));
                }
            }
            if (items.empty()) continue;
            storage::DispatchRecipient row;
            row.dispatch_id = run.dispatch_id;
            row.member_id = m.member_id;
            row.channel = channel;
            row.state = run.dry_run ? "planned" : channel == "email" ? "pending" : "ready";
            row.items = ItemsToJson(items);
            row.next_attempt_at = now;
            row.updated_at = now;
            if (row.state == "ready") {
                // The letters are the run's output: once selected, the offer is the member's.
                for (storage::SentOffer& s : OffersOf(row, items, now)) {
                    printed.push_back(std::move(s));
                }
            }
            rows.push_back(std::move(row));
        }
    }
    storage::DispatchRun updated = run;
    updated.select_after = members.back().member_id;
    updated.members = run.members + static_cast<int64_t>(members.size());
    updated.updated_at = now;
    return context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        // The run and its cursor are read again: only the page after the stored cursor counts.
        KZ_ASSIGN_OR_RETURN(auto stored, txn.FindDispatch(run.dispatch_id));
        if (!stored || stored->select_after != run.select_after) {
            return MakeError(ErrorCode::kInternal,
                             "dispatch " + run.dispatch_id + " moved while a page was selected");
        }
        for (const storage::DispatchRecipient& row : rows) {
            KZ_RETURN_IF_ERROR(txn.InsertDispatchRecipient(row));
        }
        for (const storage::SentOffer& s : printed) KZ_RETURN_IF_ERROR(txn.InsertSentOffer(s));
        return txn.UpdateDispatch(updated);
    });
}

core::Status DispatchRunner::Finish(storage::DispatchRun run, const std::string& status,
                                    const std::string& error) {
    run.status = status;
    run.error = error;
    run.updated_at = context_.Now();
    if (status == "done" || status == "failed") run.finished_at = run.updated_at;
    if (status != "paused") run.paused_until.reset();
    return context_.storage().Write(
        [&](storage::WriteTxn& txn) -> core::Status { return txn.UpdateDispatch(run); });
}

core::Result<bool> DispatchRunner::SendBatch(storage::DispatchRun run, Plan& plan,
                                             const std::function<bool()>& stopping) {
    if (sender_ == nullptr) return false;
    const DispatchOptions& options = service_.options();
    const core::Timestamp now = context_.Now();
    struct Work {
        storage::DispatchRecipient row;
        std::vector<DispatchItem> items;
        std::optional<core::Member> member;
        bool attempted = false;
    };
    std::vector<Work> batch;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        batch.clear();
        KZ_ASSIGN_OR_RETURN(auto rows, txn.DispatchRecipientsInState(run.dispatch_id, "email",
                                                                     "pending", now, BatchSize()));
        for (storage::DispatchRecipient& row : rows) {
            Work work;
            KZ_ASSIGN_OR_RETURN(work.items, ItemsFromJson(row.items));
            KZ_ASSIGN_OR_RETURN(work.member, txn.FindMember(row.member_id));
            for (const DispatchItem& item : work.items) {
                if (item.offer_id.empty() || plan.offers.contains(item.offer_id)) continue;
                KZ_ASSIGN_OR_RETURN(auto offer, txn.FindOffer(item.offer_id));
                if (offer) plan.offers.emplace(item.offer_id, std::move(*offer));
            }
            work.row = std::move(row);
            batch.push_back(std::move(work));
        }
        return core::Status::Ok();
    }));
    if (batch.empty()) return false;

    // The first message's turn is waited for before the claim, so a hub stopped while it waits
    // leaves nothing "unknown" (at a low rate the batch is that one message).
    limiter_.Acquire();
    bool first_paid = true;
    // Claim the batch: after this commit no process sends these rows again.
    for (Work& work : batch) {
        work.row.state = "sending";
        work.row.attempts += 1;
        work.row.updated_at = now;
    }
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        for (const Work& work : batch) KZ_RETURN_IF_ERROR(txn.UpdateDispatchRecipient(work.row));
        return core::Status::Ok();
    }));

    const std::string domain =
        options.sender.from.address.substr(options.sender.from.address.find('@') + 1);
    std::string last_failure;
    for (Work& work : batch) {
        if (stopping() || breaker_.tripped()) break;
        work.attempted = true;
        storage::DispatchRecipient& row = work.row;
        row.updated_at = context_.Now();
        const core::Member* member = work.member ? &*work.member : nullptr;
        // core::MayMailOffers: active, consenting, and an email confirmed from its mailbox.
        if (member == nullptr || !core::MayMailOffers(*member)) {
            row.state = "skipped";
            row.reason = member == nullptr ? "the member no longer exists"
                         : member->status != core::MemberStatus::kActive ? "the member is closed"
                         : member->profile.email.empty() ? "the member has no email address"
                         : !member->consents.email_offers
                             ? "the member withdrew consent to email offers"
                             : "the member's email address is not confirmed";
            continue;
        }
        mail::MailMessage message =
            BuildOfferMail(member->profile.name, member->profile.email, work.items, plan.offers,
                           options.sender, service_.UnsubscribeUrl(row.member_id, "email"));
        message.message_id = run.dispatch_id + "." + row.member_id + "@" + domain;
        if (!first_paid) limiter_.Acquire();
        first_paid = false;
        mail::SendOutcome outcome = sender_->Send(message);
        row.updated_at = context_.Now();
        if (outcome.result == mail::SendResult::kPermanentFailure &&
            IsAuthenticationRefusal(outcome.smtp_code)) {
            outcome.result = mail::SendResult::kTemporaryFailure;
        }
        switch (outcome.result) {
            case mail::SendResult::kSent:
                breaker_.RecordSuccess();
                row.state = "sent";
                row.reason.clear();
                break;
            case mail::SendResult::kPermanentFailure:
                breaker_.RecordFailure();
                row.state = "failed";
                row.reason = outcome.reason;
                last_failure = outcome.reason;
                break;
            case mail::SendResult::kTemporaryFailure: {
                breaker_.RecordFailure();
                last_failure = outcome.reason;
                if (row.attempts >= options.max_attempts) {
                    row.state = "failed";
                    row.reason = "gave up after " + std::to_string(row.attempts) +
                                 " attempts; the last answer: " + outcome.reason;
                    break;
                }
                // Exact, as the mail spool's (mail_delivery.cpp says why not RetryDelay).
                const auto wait =
                    core::BackoffDelay(options.retry_base, options.retry_cap, row.attempts);
                row.state = "pending";
                row.reason = "deferred: " + outcome.reason;
                row.next_attempt_at = context_.Now() + wait;
                break;
            }
        }
    }
    // Rows of the batch not attempted (stopping, or the breaker tripped) are not sent: pending.
    for (Work& work : batch) {
        if (work.attempted) continue;
        work.row.state = "pending";
        work.row.attempts -= 1;
    }
    storage::DispatchRun updated = run;
    if (breaker_.tripped()) {
        updated.status = "paused";
        updated.paused_until = context_.Now() + options.breaker_pause;
        updated.error = std::to_string(breaker_.consecutive_failures()) +
                        " failures in a row; paused until " +
                        core::FormatRfc3339(*updated.paused_until) + ". Last: " + last_failure;
        updated.updated_at = context_.Now();
        spdlog::warn("dispatch {}: {}", run.dispatch_id, updated.error);
    }
    const core::Timestamp settled_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        for (const Work& work : batch) {
            KZ_RETURN_IF_ERROR(txn.UpdateDispatchRecipient(work.row));
            if (work.row.state == "sent") {
                for (const storage::SentOffer& s : OffersOf(work.row, work.items, settled_at)) {
                    KZ_RETURN_IF_ERROR(txn.InsertSentOffer(s));
                }
            }
        }
        if (updated.status != run.status) KZ_RETURN_IF_ERROR(txn.UpdateDispatch(updated));
        return core::Status::Ok();
    }));
    return true;
}

core::Result<std::optional<std::chrono::nanoseconds>> DispatchRunner::Step(
    const std::function<bool()>& stopping) {
    std::vector<storage::DispatchRun> runs;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(runs, txn.UnfinishedDispatches());
        return core::Status::Ok();
    }));
    std::erase_if(plans_, [&](const auto& entry) {
        return std::none_of(runs.begin(), runs.end(), [&](const storage::DispatchRun& run) {
            return run.dispatch_id == entry.first;
        });
    });
    std::optional<std::chrono::nanoseconds> wait;
    auto wait_at_most = [&](std::chrono::nanoseconds w) {
        w = std::max(w, std::chrono::nanoseconds::zero());
        if (!wait || w < *wait) wait = w;
    };
    const core::Timestamp now = context_.Now();
    const auto zero = std::chrono::nanoseconds::zero();
    // One piece of work for each run, so a dry run is not held up behind a long real one.
    for (storage::DispatchRun& run : runs) {
        if (stopping()) break;
        auto plan = PlanFor(run);
        if (!plan) {
            spdlog::error("dispatch {}: cannot plan: {}", run.dispatch_id, plan.error().message);
            KZ_RETURN_IF_ERROR(Finish(run, "failed", plan.error().message));
            wait_at_most(zero);
            continue;
        }
        if (run.status == "selecting") {
            KZ_RETURN_IF_ERROR(SelectPage(run, **plan));
            wait_at_most(zero);
            continue;
        }
        if (run.status == "paused") {
            if (run.paused_until && now < *run.paused_until) {
                wait_at_most(*run.paused_until - now);
                continue;
            }
            breaker_ = mail::FailureBreaker(service_.options().breaker_limit);
            KZ_RETURN_IF_ERROR(Finish(run, "running", ""));
            wait_at_most(zero);
            continue;
        }
        // running
        KZ_ASSIGN_OR_RETURN(bool progressed, SendBatch(run, **plan, stopping));
        if (progressed) {
            wait_at_most(zero);
            continue;
        }
        std::optional<core::Timestamp> next;
        KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(next, txn.NextDispatchAttempt(run.dispatch_id));
            return core::Status::Ok();
        }));
        if (!next) {
            spdlog::info("dispatch {}: done", run.dispatch_id);
            KZ_RETURN_IF_ERROR(Finish(run, "done", ""));
            wait_at_most(zero);
            continue;
        }
        if (sender_ != nullptr) wait_at_most(*next - now);
    }
    return wait;
}

}  // namespace kizuna::hub
