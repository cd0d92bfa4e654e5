#include "hub/sync_service.hpp"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/ids.hpp"
#include "core/member.hpp"
#include "hub/access.hpp"
#include "hub/auth_service.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"
#include "hub/id_lease.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

constexpr int kMaxConflictList = 1000;

// A unit's result: what the node is answered and, when flagged, the conflicts to record.
struct Outcome {
    std::string status = "applied";
    int http_status = 200;
    std::string body;
    std::vector<storage::SyncConflict> conflicts;
};

// Writes the sync record (and conflicts) of `event` with `outcome`, in the unit of its effect.
core::Status RecordOutcome(storage::WriteTxn& txn, const std::string& store_id,
                           const SyncEvent& event, const Outcome& outcome, core::Timestamp now) {
    KZ_RETURN_IF_ERROR(txn.InsertSyncRecord(storage::SyncRecord{
        store_id, event.event_id, event.type, event.occurred_at, event.terminal_id, outcome.status,
        outcome.http_status, outcome.body, now}));
    for (storage::SyncConflict conflict : outcome.conflicts) {
        conflict.store_id = store_id;
        conflict.event_id = event.event_id;
        conflict.created_at = now;
        KZ_ASSIGN_OR_RETURN(int64_t conflict_id, txn.InsertSyncConflict(conflict));
        (void)conflict_id;
    }
    return core::Status::Ok();
}

SyncResult FromRecord(const storage::SyncRecord& record) {
    return SyncResult{record.event_id, "duplicate", record.http_status, record.body};
}

// A failure that says nothing about the event itself (the storage, a bug): not recorded, so
// the node's next push tries the event again.
bool IsTransient(const core::Error& error) {
    return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kInternal;
}

// Counts units queued and waits until storage has answered them all.
class Pending {
  public:
    void Add() {
        std::lock_guard lock(mutex_);
        ++left_;
    }
    void Done() {
        std::lock_guard lock(mutex_);
        if (--left_ == 0) zero_.notify_all();
    }
    void Wait() {
        std::unique_lock lock(mutex_);
        zero_.wait(lock, [this] { return left_ == 0; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable zero_;
    std::size_t left_ = 0;
};

}  // namespace

// One event ready to be written: `effect` runs inside the unit of work after the duplicate
// check and fills the outcome; none when planning already failed (`refused`).
struct SyncService::Planned {
    std::function<core::Result<Outcome>(storage::WriteTxn&)> effect;
    std::optional<core::Error> refused;
    // Reservations are written by ReservationService's own unit (idempotent by reservation id
    // and status, so a replay after a lost sync record changes nothing); the sync record
    // follows in a unit of its own.
    std::function<core::Result<Outcome>()> before;
};

SyncService::Planned SyncService::Plan(const Caller& caller, const core::Store& store,
                                       SyncEvent& event, const SyncRendering& rendering) {
    Planned planned;
    auto refuse = [&](core::Error error) {
        planned.refused = std::move(error);
        return std::move(planned);
    };
    if (auto* error = std::get_if<core::Error>(&event.request)) return refuse(*error);
    OfflineOptions offline;
    offline.occurred_at = event.occurred_at;

    if (auto* purchase = std::get_if<PurchaseRequest>(&event.request)) {
        offline.accept_revoked_card = true;
        if (!purchase->occurred_at) purchase->occurred_at = event.occurred_at;
        auto unit = points_.PreparePurchase(caller, *purchase, offline);
        if (!unit) return refuse(unit.error());
        planned.effect =
            [unit = std::move(*unit), rendering = &rendering,
             card = purchase->member.card_number](storage::WriteTxn& txn) -> core::Result<Outcome> {
            KZ_ASSIGN_OR_RETURN(PurchaseReceipt receipt, unit(txn));
            Outcome outcome{
                "applied", receipt.replayed ? 200 : 201, rendering->purchase(receipt), {}};
            if (receipt.revoked_card) {
                outcome.status = "flagged";
                storage::SyncConflict conflict;
                conflict.kind = "revoked_card";
                conflict.member_id = receipt.member_id;
                conflict.card_number = card;
                conflict.detail = "sale " + receipt.purchase_id + " was made offline on card " +
                                  card + ", revoked before the sale; booked";
                outcome.conflicts.push_back(std::move(conflict));
            }
            return outcome;
        };
        return planned;
    }
    if (auto* refund = std::get_if<RefundRequest>(&event.request)) {
        auto unit = points_.PrepareRefund(caller, *refund, offline);
        if (!unit) return refuse(unit.error());
        planned.effect = [unit = std::move(*unit),
                          rendering = &rendering](storage::WriteTxn& txn) -> core::Result<Outcome> {
            KZ_ASSIGN_OR_RETURN(RefundReceipt receipt, unit(txn));
            return Outcome{"applied", receipt.replayed ? 200 : 201, rendering->refund(receipt), {}};
        };
        return planned;
    }
    if (auto* redemption = std::get_if<RedemptionRequest>(&event.request)) {
        offline.redeem_what_is_there = true;
        auto unit = points_.PrepareRedemption(caller, *redemption, offline);
        if (!unit) return refuse(unit.error());
        planned.effect = [unit = std::move(*unit), rendering = &rendering,
                          asked =
                              redemption->points](storage::WriteTxn& txn) -> core::Result<Outcome> {
            KZ_ASSIGN_OR_RETURN(RedemptionReceipt receipt, unit(txn));
            Outcome outcome{
                "applied", receipt.replayed ? 200 : 201, rendering->redemption(receipt), {}};
            if (receipt.points_short > 0) {
                outcome.status = "flagged";
                storage::SyncConflict conflict;
                conflict.kind = "overspend";
                conflict.member_id = receipt.member_id;
                conflict.points_short = receipt.points_short;
                conflict.detail = "redemption " + receipt.redemption_id + " asked " +
                                  std::to_string(asked) + " points offline; the balance at sync " +
                                  "held " + std::to_string(receipt.points) + ", which was booked";
                outcome.conflicts.push_back(std::move(conflict));
            }
            return outcome;
        };
        return planned;
    }
    if (auto* enrollment = std::get_if<OfflineEnrollment>(&event.request)) {
        if (auto allowed = RequireRole(caller, {Role::kStore}, "enroll offline"); !allowed.ok()) {
            return refuse(allowed.error());
        }
        if (!core::IsValidMemberId(enrollment->member_id)) {
            return refuse(MakeError(ErrorCode::kInvalidArgument,
                                    "not a member id (10 digits with a valid check digit)",
                                    "member_id"));
        }
        if (!core::IsValidCardNumber(enrollment->card_number)) {
            return refuse(MakeError(ErrorCode::kInvalidArgument,
                                    "not a card number (16 digits with a valid check digit)",
                                    "card_number"));
        }
        auto profile = core::ValidateProfile(enrollment->member.profile, event.occurred_at);
        if (!profile) return refuse(profile.error());
        if (auto ok = core::ValidatePassword(enrollment->member.password, *profile); !ok.ok()) {
            return refuse(ok.error());
        }
        core::Member member;
        member.member_id = enrollment->member_id;
        member.password_hash = auth_.HashPassword(enrollment->member.password);
        member.profile = std::move(*profile);
        member.consents = enrollment->member.consents;
        member.created_at = event.occurred_at;
        core::Card card;
        card.card_number = enrollment->card_number;
        card.member_id = member.member_id;
        card.generation = 1;
        card.medium = enrollment->member.medium;
        card.issued_by_store = store.store_id;
        card.issued_at = event.occurred_at;
        planned.effect = [this, member = std::move(member), card = std::move(card),
                          program_id = store.program_id, store_id = store.store_id,
                          rendering =
                              &rendering](storage::WriteTxn& txn) mutable -> core::Result<Outcome> {
            const core::Timestamp now = context_.Now();
            KZ_RETURN_IF_ERROR(txn.UseIdLease(kLeaseMemberId, member.member_id, store_id, now));
            KZ_RETURN_IF_ERROR(txn.UseIdLease(kLeaseCardNumber, card.card_number, store_id, now));
            Outcome outcome;
            core::Member stored = member;  // the unit may run again: start from the request
            std::set<std::string> others;
            std::string why;
            if (!stored.profile.email.empty()) {
                KZ_ASSIGN_OR_RETURN(auto owner, txn.FindMemberByEmail(stored.profile.email));
                if (owner) {
                    others.insert(owner->member_id);
                    why = "email " + stored.profile.email;
                    // The email stays with its first member (it is unique); this one is
                    // enrolled without it until somebody sorts the two out.
                    stored.profile.email.clear();
                }
            }
            if (!stored.profile.phone.empty()) {
                KZ_ASSIGN_OR_RETURN(auto owners, txn.FindMembersByPhone(stored.profile.phone));
                for (const auto& owner : owners) {
                    if (others.insert(owner.member_id).second && why.find("phone") == why.npos) {
                        why += (why.empty() ? "" : " and ") + std::string("phone ") +
                               stored.profile.phone;
                    }
                }
            }
            KZ_RETURN_IF_ERROR(txn.InsertMember(stored));
            KZ_RETURN_IF_ERROR(txn.InsertCard(card));
            KZ_RETURN_IF_ERROR(RecordEvent(txn, "member.enrolled", program_id, stored.member_id,
                                           stored.created_at,
                                           {{"member_id", stored.member_id},
                                            {"store_id", store_id},
                                            {"program_id", program_id},
                                            {"card_generation", card.generation},
                                            {"card_number", card.card_number},
                                            {"enrolled_at", EventTime(stored.created_at)}}));
            Enrollment enrollment;
            enrollment.member_id = stored.member_id;
            enrollment.card.card = card;
            KZ_ASSIGN_OR_RETURN(enrollment.card.record, context_.SignCardRecord(card));
            outcome.http_status = 201;
            outcome.body = rendering->enrollment(enrollment);
            for (const std::string& other : others) {
                outcome.status = "flagged";
                storage::SyncConflict conflict;
                conflict.kind = "duplicate_member";
                conflict.member_id = stored.member_id;
                conflict.other_member_id = other;
                conflict.detail = "enrolled offline with the " + why + " of member " + other;
                outcome.conflicts.push_back(std::move(conflict));
            }
            return outcome;
        };
        return planned;
    }
    if (auto* issue = std::get_if<OfflineCard>(&event.request)) {
        if (auto allowed = RequireRole(caller, {Role::kStore}, "issue cards"); !allowed.ok()) {
            return refuse(allowed.error());
        }
        if (!core::IsValidMemberId(issue->member_id)) {
            return refuse(
                MakeError(ErrorCode::kNotFound, "no member " + issue->member_id, "member_id"));
        }
        if (!issue->card_number.empty() && !core::IsValidCardNumber(issue->card_number)) {
            return refuse(MakeError(ErrorCode::kInvalidArgument,
                                    "not a card number (16 digits with a valid check digit)",
                                    "card_number"));
        }
        if (!issue->password.empty()) {
            auto checked =
                auth_.CheckMemberPassword(issue->member_id, issue->password, caller.Describe());
            if (!checked.ok()) return refuse(checked.error());
        }
        core::Card card;
        card.card_number = issue->card_number;
        card.member_id = issue->member_id;
        card.medium = issue->medium;
        card.issued_by_store = store.store_id;
        card.issued_at = event.occurred_at;
        planned.effect = [this, card, rendering = &rendering](
                             storage::WriteTxn& txn) mutable -> core::Result<Outcome> {
            const core::Timestamp now = context_.Now();
            core::Card issued = card;  // the unit may run again: start from the request
            KZ_ASSIGN_OR_RETURN(auto cards, txn.CardsOf(issued.member_id));
            if (cards.empty()) {
                return MakeError(ErrorCode::kNotFound, "no member " + issued.member_id,
                                 "member_id");
            }
            if (issued.card_number.empty()) {
                KZ_ASSIGN_OR_RETURN(issued.card_number, UnusedCardNumber(context_, txn));
            } else {
                KZ_RETURN_IF_ERROR(txn.UseIdLease(kLeaseCardNumber, issued.card_number,
                                                  issued.issued_by_store, now));
            }
            int generation = 0;
            for (const auto& old : cards) {
                generation = std::max(generation, old.generation);
                if (old.status != core::CardStatus::kActive) continue;
                KZ_RETURN_IF_ERROR(txn.RevokeCard(old.card_number, issued.issued_at));
                KZ_RETURN_IF_ERROR(
                    RecordMemberEvent(txn, "card.revoked", issued.member_id, issued.issued_at,
                                      {{"member_id", issued.member_id},
                                       {"card_number", old.card_number},
                                       {"revoked_at", EventTime(issued.issued_at)}}));
            }
            issued.generation = generation + 1;
            KZ_RETURN_IF_ERROR(txn.InsertCard(issued));
            KZ_RETURN_IF_ERROR(RecordMemberEvent(txn, "card.reissued", issued.member_id,
                                                 issued.issued_at,
                                                 {{"member_id", issued.member_id},
                                                  {"store_id", issued.issued_by_store},
                                                  {"card_generation", issued.generation},
                                                  {"card_number", issued.card_number},
                                                  {"reissued_at", EventTime(issued.issued_at)}}));
            IssuedCard answer;
            answer.card = issued;
            KZ_ASSIGN_OR_RETURN(answer.record, context_.SignCardRecord(issued));
            return Outcome{"applied", 201, rendering->card(answer), {}};
        };
        return planned;
    }
    if (auto* create = std::get_if<ReservationRequest>(&event.request)) {
        planned.before = [this, caller, request = *create,
                          rendering = &rendering]() -> core::Result<Outcome> {
            KZ_ASSIGN_OR_RETURN(ReservationAnswer answer, reservations_.Create(caller, request));
            return Outcome{
                "applied", answer.replayed ? 200 : 201, rendering->reservation(answer), {}};
        };
        return planned;
    }
    auto& change = std::get<ReservationChange>(event.request);
    planned.before = [this, caller, change, rendering = &rendering]() -> core::Result<Outcome> {
        KZ_ASSIGN_OR_RETURN(ReservationAnswer answer,
                            reservations_.UpdateStatus(caller, change.reservation_id,
                                                       change.created_by, change.status));
        return Outcome{"applied", 200, rendering->reservation(answer), {}};
    };
    return planned;
}

core::Result<PushAnswer> SyncService::Push(const Caller& caller, std::vector<SyncEvent> events,
                                           const SyncRendering& rendering) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "push node events"));
    if (events.size() > static_cast<std::size_t>(kMaxPushEvents)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "a push holds at most " + std::to_string(kMaxPushEvents) + " events",
                         "events");
    }
    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    if (!store) return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");
    const std::string store_id = store->store_id;

    const std::size_t n = events.size();
    std::vector<SyncResult> results(n);
    std::vector<std::optional<core::Error>> failed(n);
    std::vector<Planned> plans(n);
    for (std::size_t i = 0; i < n; ++i) results[i].event_id = events[i].event_id;
    Pending pending;
    auto record = [&](std::size_t index, std::optional<Outcome> done_before) {
        const SyncEvent& event = events[index];
        Planned& planned = plans[index];
        auto unit = [this, &event, &planned, &results, index, &store_id,
                     done_before = std::move(done_before),
                     &rendering](storage::WriteTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(auto existing, txn.FindSyncRecord(store_id, event.event_id));
            if (existing) {
                results[index] = FromRecord(*existing);
                return core::Status::Ok();
            }
            Outcome outcome;
            if (planned.refused) {
                if (IsTransient(*planned.refused)) return *planned.refused;
                outcome = Outcome{"rejected",
                                  rendering.error_status(*planned.refused),
                                  rendering.error(*planned.refused),
                                  {}};
            } else if (done_before) {
                outcome = *done_before;
            } else {
                KZ_ASSIGN_OR_RETURN(outcome, planned.effect(txn));
            }
            KZ_RETURN_IF_ERROR(RecordOutcome(txn, store_id, event, outcome, context_.Now()));
            results[index] =
                SyncResult{event.event_id, outcome.status, outcome.http_status, outcome.body};
            return core::Status::Ok();
        };
        pending.Add();
        context_.storage().WriteAsync(std::move(unit),
                                      [&failed, &pending, index](core::Status status) {
                                          if (!status.ok()) failed[index] = status.error();
                                          pending.Done();
                                      });
    };

    // Each event is queued as soon as it is planned, so the writer applies the first ones while
    // the later ones are planned. The queue keeps their order.
    for (std::size_t i = 0; i < n; ++i) {
        auto till = TillCaller(caller, events[i]);
        if (!till) {
            if (IsTransient(till.error())) {
                pending.Wait();  // the queued units refer to this frame
                return till.error();
            }
            plans[i].refused = till.error();
            record(i, std::nullopt);
            continue;
        }
        plans[i] = Plan(*till, *store, events[i], rendering);
        if (!plans[i].before) {
            record(i, std::nullopt);
            continue;
        }
        // A reservation goes through its service once everything before it is written.
        pending.Wait();
        std::optional<storage::SyncRecord> existing;
        auto read = context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(existing, txn.FindSyncRecord(store_id, events[i].event_id));
            return core::Status::Ok();
        });
        if (!read.ok()) return read.error();  // nothing queued is pending (waited above)
        if (existing) {                       // a replay: the service is not asked again
            results[i] = FromRecord(*existing);
            continue;
        }
        auto outcome = plans[i].before();
        if (!outcome) {
            plans[i].refused = outcome.error();
            record(i, std::nullopt);
        } else {
            record(i, std::move(*outcome));
        }
    }
    pending.Wait();

    // An effect refused under the writer was rolled back alone; its rejection is recorded now,
    // so that a replay answers the same even if the ledger has changed since.
    std::vector<std::size_t> rejected;
    for (std::size_t i = 0; i < n; ++i) {
        if (!failed[i]) continue;
        const core::Error error = *failed[i];
        if (IsTransient(error)) {  // not recorded: the next push tries it again
            results[i] = SyncResult{events[i].event_id, "rejected", rendering.error_status(error),
                                    rendering.error(error)};
            continue;
        }
        plans[i].refused = error;
        failed[i].reset();
        rejected.push_back(i);
        record(i, std::nullopt);
    }
    pending.Wait();
    for (std::size_t i : rejected) {
        if (failed[i]) {
            results[i] =
                SyncResult{events[i].event_id, "rejected", rendering.error_status(*failed[i]),
                           rendering.error(*failed[i])};
        }
    }

    PushAnswer answer;
    answer.results = std::move(results);
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(answer.cursor, txn.LastEventSequence());
        return core::Status::Ok();
    }));
    return answer;
}

core::Result<Caller> SyncService::TillCaller(const Caller& caller, const SyncEvent& event) {
    if (event.terminal_id.empty() && event.staff_id.empty()) return caller;
    Caller till = caller;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        if (!event.terminal_id.empty()) {
            KZ_ASSIGN_OR_RETURN(auto terminal, txn.FindTerminal(event.terminal_id));
            // An id that names no registered terminal is the node's own label for a till: kept
            // on the sync record only, as before terminals existed.
            if (terminal && terminal->store_id != caller.store_id) {
                return MakeError(ErrorCode::kUnauthenticated,
                                 "terminal " + event.terminal_id + " is not this store's",
                                 "terminal_id");
            }
            if (terminal && terminal->revoked_at && *terminal->revoked_at <= event.occurred_at) {
                return MakeError(ErrorCode::kUnauthenticated,
                                 "terminal " + event.terminal_id + " was revoked before the event",
                                 "terminal_id");
            }
            if (terminal) till.terminal_id = terminal->terminal_id;
        }
        if (!event.staff_id.empty()) {
            KZ_ASSIGN_OR_RETURN(auto staff, txn.FindStaff(event.staff_id));
            if (!staff || staff->store_id != caller.store_id) {
                return MakeError(ErrorCode::kUnauthenticated,
                                 "staff member " + event.staff_id + " is not this store's",
                                 "staff_id");
            }
            if (staff->removed_at && *staff->removed_at <= event.occurred_at) {
                return MakeError(ErrorCode::kUnauthenticated,
                                 "staff member " + event.staff_id + " was removed before the event",
                                 "staff_id");
            }
            till.staff_id = staff->staff_id;
            till.staff = staff->role == core::StaffRole::kManager ? Caller::Staff::kManager
                                                                  : Caller::Staff::kClerk;
        }
        return core::Status::Ok();
    }));
    return till;
}

core::Result<SyncTill> SyncService::Till(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "read the till for a store node"));
    if (!caller.terminal_id.empty()) {
        return MakeError(ErrorCode::kForbidden,
                         "a store node reads the till with the store's own key, not a terminal's");
    }
    SyncTill till;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(till.staff, txn.StaffOf(caller.store_id));
        KZ_ASSIGN_OR_RETURN(till.terminals, txn.TerminalsOf(caller.store_id));
        KZ_ASSIGN_OR_RETURN(auto settings, txn.FindTillSettings(caller.store_id));
        till.settings = settings.value_or(core::TillSettings{});
        KZ_ASSIGN_OR_RETURN(till.tiers, txn.TierScheduleOf(caller.program_id));
        return core::Status::Ok();
    }));
    return till;
}

core::Result<SyncBootstrap> SyncService::Bootstrap(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "bootstrap a store node"));
    SyncBootstrap snapshot;
    const core::Timestamp now = context_.Now();
    // One read transaction: the cursor and everything else describe the same moment.
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(snapshot.cursor, txn.LastEventSequence());
        KZ_ASSIGN_OR_RETURN(auto store, txn.FindStore(caller.store_id));
        if (!store) {
            return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");
        }
        snapshot.store = std::move(*store);
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(snapshot.store.program_id));
        if (program) snapshot.program = std::move(*program);
        KZ_ASSIGN_OR_RETURN(snapshot.rule_versions, txn.RuleVersions(snapshot.store.store_id));
        KZ_ASSIGN_OR_RETURN(snapshot.offers, txn.CurrentOffers(now, {snapshot.store.store_id}));
        // And the offers with a points multiplier that start later: the node earns by them
        // offline once they are current, without waiting for an event.
        KZ_ASSIGN_OR_RETURN(auto multiplied, txn.MultiplierOffersOf(snapshot.store.store_id, now));
        for (core::Offer& offer : multiplied) {
            const bool listed =
                std::any_of(snapshot.offers.begin(), snapshot.offers.end(),
                            [&](const core::Offer& o) { return o.offer_id == offer.offer_id; });
            if (!listed) snapshot.offers.push_back(std::move(offer));
        }
        KZ_ASSIGN_OR_RETURN(snapshot.revoked_cards,
                            txn.RevokedCardsOfProgram(snapshot.store.program_id));
        return core::Status::Ok();
    }));
    snapshot.card_public_key = context_.card_public_key();
    return snapshot;
}

core::Result<std::vector<std::string>> SyncService::Lease(const Caller& caller,
                                                          const std::string& kind, int count) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "lease ids"));
    std::vector<std::string> values;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(values,
                            LeaseIds(context_, txn, kind, count, caller.store_id, context_.Now()));
        return core::Status::Ok();
    }));
    return values;
}

core::Result<PullPage> SyncService::Pull(const Caller& caller, int64_t cursor, int limit) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "pull node events"));
    if (limit < 1 || limit > kMaxPullLimit) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "limit must be 1.." + std::to_string(kMaxPullLimit), "limit");
    }
    if (cursor < 0) return MakeError(ErrorCode::kInvalidArgument, "cursor must be >= 0", "cursor");
    PullPage page;
    page.cursor = cursor;
    std::vector<storage::Event> events;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(events, txn.ProgramEventsAfter(caller.program_id, cursor, limit));
        return core::Status::Ok();
    }));
    page.more = static_cast<int>(events.size()) == limit;
    if (!events.empty()) page.cursor = events.back().sequence;
    // The store's own sales, refunds and redemptions: it has them already.
    static const std::set<std::string, std::less<>> kOwnTypes = {
        "purchase.created", "purchase.refunded", "points.redeemed"};
    for (storage::Event& event : events) {
        if (kOwnTypes.contains(event.type)) {
            auto data = nlohmann::json::parse(event.payload, nullptr, false);
            if (data.is_object() && data.value("store_id", "") == caller.store_id) continue;
        }
        page.events.push_back(std::move(event));
    }
    return page;
}

core::Result<std::vector<storage::SyncConflict>> SyncService::Conflicts(const Caller& caller,
                                                                        int64_t after, int limit) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore, Role::kOperator}, "read sync conflicts"));
    if (limit < 1 || limit > kMaxConflictList) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "limit must be 1.." + std::to_string(kMaxConflictList), "limit");
    }
    std::optional<std::string_view> store;
    if (caller.role == Role::kStore) store = caller.store_id;
    std::vector<storage::SyncConflict> conflicts;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(conflicts, txn.SyncConflicts(store, after, limit));
        return core::Status::Ok();
    }));
    return conflicts;
}

}  // namespace kizuna::hub
