#include "hub/points_service.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include "core/earning_rule.hpp"
#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "core/limits.hpp"
#include "core/store.hpp"
#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"
#include "hub/text_format.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// A store node's clock may run a little ahead of the hub's; further ahead is a mistake.
constexpr std::chrono::minutes kMaxFutureSkew{5};
// Lots handled per transaction by the expiry pass.
constexpr int kExpiryBatch = 256;

std::string Day(core::Timestamp t) { return core::FormatRfc3339(t).substr(0, 10); }

core::Status ValidateMemberRef(const MemberRef& ref) {
    if (ref.member_id.empty() == ref.card_number.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "name the member by exactly one of member_id and card_number",
                         "member_id");
    }
    if (!ref.member_id.empty() && !core::IsValidMemberId(ref.member_id)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "not a member id (10 digits with a valid check digit)", "member_id");
    }
    if (!ref.card_number.empty() && !core::IsValidCardNumber(ref.card_number)) {
        return MakeError(ErrorCode::kInvalidArgument, core::CardNumberProblem(ref.card_number),
                         "card_number");
    }
    return core::Status::Ok();
}

// The member as the request named them, for fingerprints: a replay must name them the same way.
std::string MemberRefText(const MemberRef& ref) {
    return ref.member_id.empty() ? "card:" + ref.card_number : ref.member_id;
}

// Errors: kNotFound, kCardRevoked.
core::Result<std::string> ResolveMember(storage::ReadTxn& txn, const MemberRef& ref) {
    if (!ref.card_number.empty()) {
        KZ_ASSIGN_OR_RETURN(auto card, txn.FindCard(ref.card_number));
        if (!card) {
            return MakeError(ErrorCode::kNotFound, "no card " + ref.card_number, "card_number");
        }
        if (card->status == core::CardStatus::kRevoked) {
            return MakeError(ErrorCode::kCardRevoked,
                             "card " + ref.card_number + " was replaced by a newer card",
                             "card_number");
        }
        return card->member_id;
    }
    KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(ref.member_id));
    if (!exists) return MakeError(ErrorCode::kNotFound, "no member " + ref.member_id, "member_id");
    return ref.member_id;
}

// `stored` took the id of `request`: the same request again (from the same store, with the same
// fingerprint) is a replay, answered with the first outcome; anything else reusing the id is
// kIdempotencyConflict, naming `field`.
template <typename Stored, typename Request>
core::Status SameRequestAgain(const Stored& stored, const Request& request, std::string_view field,
                              std::string_view id) {
    if (stored.store_id == request.store_id && stored.fingerprint == request.fingerprint) {
        return core::Status::Ok();
    }
    return MakeError(ErrorCode::kIdempotencyConflict,
                     std::string(field) + " " + std::string(id) +
                         " was already used for a different request; use a new id for a new "
                         "request",
                     std::string(field));
}

core::Status ApplyDraws(storage::WriteTxn& txn, const std::vector<core::LotDraw>& draws) {
    for (const auto& draw : draws) KZ_RETURN_IF_ERROR(txn.DrawFromLot(draw));
    return core::Status::Ok();
}

// Lots after the draws, dropping the emptied ones.
std::vector<core::Lot> AfterDraws(std::vector<core::Lot> lots,
                                  const std::vector<core::LotDraw>& draws) {
    std::map<int64_t, int64_t> drawn;
    for (const auto& d : draws) drawn[d.lot_id] += d.points;
    for (auto& lot : lots) {
        if (auto it = drawn.find(lot.lot_id); it != drawn.end()) lot.remaining -= it->second;
    }
    std::erase_if(lots, [](const core::Lot& lot) { return lot.remaining <= 0; });
    return lots;
}

// Books an `expire` entry for every lot of the member in the program that is due at `now`,
// and returns the open lots that remain. Adds the number of lots expired to *expired_lots.
core::Result<std::vector<core::Lot>> BookDueExpiries(storage::WriteTxn& txn,
                                                     const std::string& member_id,
                                                     const std::string& program_id,
                                                     core::Timestamp now,
                                                     int64_t* expired_lots = nullptr) {
    KZ_ASSIGN_OR_RETURN(auto lots, txn.OpenLots(member_id, program_id));
    const std::vector<core::LotDraw> draws = core::PlanExpiry(lots, now);
    if (draws.empty()) return lots;
    std::map<int64_t, const core::Lot*> by_id;
    for (const auto& lot : lots) by_id[lot.lot_id] = &lot;
    for (const auto& draw : draws) {
        const core::Lot& lot = *by_id.at(draw.lot_id);
        KZ_RETURN_IF_ERROR(txn.ExpireFromLot(draw));
        core::LedgerEntry entry{.member_id = member_id,
                                .program_id = program_id,
                                .store_id = {},  // the hub's own doing, not a store's
                                .delta = -draw.points,
                                .kind = core::EntryKind::kExpire,
                                .ref = std::to_string(lot.lot_id),
                                .occurred_at = now,
                                .note = "Expired: " + GroupThousands(draw.points) + " of " +
                                        GroupThousands(lot.earned) + " points earned on " +
                                        Day(lot.earned_at) + " (purchase " + lot.purchase_id +
                                        "), valid until " + Day(lot.expires_at)};
        KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        if (expired_lots != nullptr) ++*expired_lots;
    }
    return AfterDraws(std::move(lots), draws);
}

// Resolves the lines a refund names to the purchase's lines, out of what earlier refunds left of
// each. Fails naming the request line that matches no purchase line, or that asks for more than
// remains refundable (bought, less earlier refunds and earlier lines of this request).
core::Result<std::vector<core::RefundedLine>> ResolveRefundLines(
    const core::Purchase& purchase, const std::vector<core::Refund>& earlier,
    const std::vector<core::PurchaseLine>& requested) {
    const std::size_t line_count = purchase.lines.size();
    std::vector<int64_t> refunded_before(line_count, 0);
    for (const core::Refund& refund : earlier) {
        for (const core::RefundedLine& line : refund.lines) {
            if (line.purchase_line < 0 ||
                static_cast<std::size_t>(line.purchase_line) >= line_count) {
                return MakeError(ErrorCode::kInternal,
                                 "refund " + refund.refund_id + " names line " +
                                     std::to_string(line.purchase_line) + ", which purchase " +
                                     purchase.purchase_id + " does not have");
            }
            refunded_before[line.purchase_line] += line.quantity;
        }
    }
    std::vector<int64_t> left(line_count);
    for (std::size_t i = 0; i < line_count; ++i) {
        left[i] = std::max<int64_t>(0, purchase.lines[i].quantity - refunded_before[i]);
    }
    std::vector<core::RefundedLine> taken;
    for (std::size_t r = 0; r < requested.size(); ++r) {
        const core::PurchaseLine& want = requested[r];
        const std::string field = "lines[" + std::to_string(r) + "]";
        auto matches = [&](const core::PurchaseLine& have) {
            return want.sku.empty() ? have.name == want.name : have.sku == want.sku;
        };
        int64_t bought = 0;
        int64_t before = 0;
        int64_t available = 0;
        for (std::size_t i = 0; i < line_count; ++i) {
            if (!matches(purchase.lines[i])) continue;
            bought += purchase.lines[i].quantity;
            before += refunded_before[i];
            available += left[i];
        }
        if (bought == 0) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "purchase " + purchase.purchase_id + " has no line with this " +
                                 (want.sku.empty() ? "name" : "sku"),
                             field + (want.sku.empty() ? ".name" : ".sku"));
        }
        if (want.quantity > available) {
            const int64_t named_here = std::max<int64_t>(0, bought - before - available);
            std::string message =
                (available == 0 ? std::string("nothing") : "only " + GroupThousands(available)) +
                " of this item remains refundable on purchase " + purchase.purchase_id + " (" +
                GroupThousands(bought) + " bought, " + GroupThousands(before) + " refunded before";
            if (named_here > 0) {
                message += ", " + GroupThousands(named_here) + " named earlier in this refund";
            }
            message += ")";
            return MakeError(ErrorCode::kRuleViolation, message, field + ".quantity");
        }
        // Several purchase lines may share a SKU (at different prices): take them in order.
        int64_t quantity = want.quantity;
        for (std::size_t i = 0; i < line_count && quantity > 0; ++i) {
            if (!matches(purchase.lines[i]) || left[i] == 0) continue;
            const int64_t take = std::min(quantity, left[i]);
            left[i] -= take;
            quantity -= take;
            const int index = static_cast<int>(i);
            auto same = std::find_if(taken.begin(), taken.end(),
                                     [&](const auto& line) { return line.purchase_line == index; });
            if (same == taken.end()) {
                taken.push_back({.purchase_line = index, .quantity = 0, .amount = 0});
                same = std::prev(taken.end());
            }
            same->quantity += take;
            same->amount += take * purchase.lines[i].unit_price;
        }
    }
    return taken;
}

core::Status ValidateRefundLines(const std::vector<core::PurchaseLine>& lines) {
    if (lines.size() > core::kMaxLinesPerPurchase) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "lines must hold at most " + std::to_string(core::kMaxLinesPerPurchase) + " lines",
            "lines");
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string field = "lines[" + std::to_string(i) + "]";
        if (lines[i].sku.empty() && lines[i].name.empty()) {
            return MakeError(ErrorCode::kInvalidArgument, "name the refunded item by sku or name",
                             field + ".sku");
        }
        if (lines[i].quantity < 1 || lines[i].quantity > core::kMaxLineQuantity) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "quantity must be 1.." + std::to_string(core::kMaxLineQuantity),
                             field + ".quantity");
        }
    }
    return core::Status::Ok();
}

// Every write is a plan (checked and computed on the caller's thread) whose Apply is the unit
// of work and leaves a receipt in the plan. WriteNow waits for it to be durable; WriteLater
// queues it and hands `done` the receipt (or the error) once it is.
template <typename Plan>
auto WriteNow(storage::Storage& storage, core::Result<std::shared_ptr<Plan>> planned)
    -> core::Result<decltype(Plan::receipt)> {
    KZ_ASSIGN_OR_RETURN(std::shared_ptr<Plan> plan, std::move(planned));
    KZ_RETURN_IF_ERROR(storage.Write([&](storage::WriteTxn& txn) { return plan->Apply(txn); }));
    return plan->receipt;
}

template <typename Plan, typename Receipt>
void WriteLater(storage::Storage& storage, core::Result<std::shared_ptr<Plan>> planned,
                std::function<void(core::Result<Receipt>)> done) {
    if (!planned) return done(planned.error());
    std::shared_ptr<Plan> plan = std::move(*planned);
    storage.WriteAsync([plan](storage::WriteTxn& txn) { return plan->Apply(txn); },
                       [plan, done = std::move(done)](core::Status status) {
                           if (!status.ok()) return done(status.error());
                           done(plan->receipt);
                       });
}

}  // namespace

// A purchase ready to be written: what the request says, the points it earns, the lot and the
// ledger entry it books; only the member's id (when named by card), the balance and the check
// against an earlier purchase of the same id need the ledger, in Apply.
struct PointsService::PurchasePlan {
    MemberRef member;
    core::Purchase purchase;
    core::Lot lot;
    core::LedgerEntry entry;
    PurchaseReceipt receipt;

    // The unit of work: runs on the storage's writer (see Storage::Write). A replay (a purchase
    // id already stored) is rare, so it is not looked for first: the insert finds it, and so do
    // the member checks when they fail (a replay of a purchase whose card was replaced since
    // still gets its receipt). Nothing is written before the insert, so a replay writes nothing.
    core::Status Apply(storage::WriteTxn& txn) {
        core::Purchase& p = purchase;
        auto member_id = MemberOf(txn);
        if (!member_id) return ReplayOr(txn, member_id.error());
        p.member_id = std::move(*member_id);
        KZ_ASSIGN_OR_RETURN(auto before, txn.FindBalance(p.member_id, p.program_id));
        // A balance row belongs to an existing member (a foreign key); without one, ask.
        if (!before && !member.member_id.empty()) {
            KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(p.member_id));
            if (!exists) {
                return ReplayOr(
                    txn, MakeError(ErrorCode::kNotFound, "no member " + p.member_id, "member_id"));
            }
        }
        // Both are bounded (a balance by this check, points by ComputePoints): no overflow.
        if (before.value_or(0) > core::kMaxBalance - p.points_earned) {
            return ReplayOr(txn, MakeError(ErrorCode::kRuleViolation,
                                           "this purchase would bring the member's balance above "
                                           "the limit of " +
                                               std::to_string(core::kMaxBalance) + " points",
                                           "lines"));
        }
        p.balance_after = before.value_or(0) + p.points_earned;
        if (core::Status inserted = txn.InsertPurchase(p); !inserted.ok()) {
            if (inserted.error().code != ErrorCode::kAlreadyExists) return inserted;
            return ReplayOr(txn, inserted.error());
        }
        if (p.points_earned > 0) {
            lot.member_id = p.member_id;
            KZ_RETURN_IF_ERROR(txn.InsertLot(lot));
            entry.member_id = p.member_id;
            KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        }
        receipt = {p.purchase_id,   p.member_id,  p.total, p.points_earned,
                   p.balance_after, p.program_id, false};
        return RecordEvent(txn, "purchase.created", p.program_id, p.member_id, p.recorded_at,
                           {{"purchase_id", p.purchase_id},
                            {"member_id", p.member_id},
                            {"store_id", p.store_id},
                            {"program_id", p.program_id},
                            {"occurred_at", EventTime(p.occurred_at)},
                            {"currency", p.currency},
                            {"total", p.total},
                            {"points_earned", p.points_earned},
                            {"balance", p.balance_after}});
    }

    // The member the request names: by card (which must be current), or by id, whose existence
    // Apply checks with the balance. Errors: kNotFound, kCardRevoked.
    core::Result<std::string> MemberOf(storage::ReadTxn& txn) const {
        if (member.card_number.empty()) return member.member_id;
        return ResolveMember(txn, member);
    }

    // When a purchase with this id is stored: the earlier receipt if this is the same request
    // again, else an id conflict. Otherwise `error`, this request's own failure.
    core::Status ReplayOr(storage::ReadTxn& txn, core::Error error) {
        KZ_ASSIGN_OR_RETURN(auto existing,
                            txn.FindPurchase(purchase.store_id, purchase.purchase_id));
        if (!existing) return error;
        KZ_RETURN_IF_ERROR(
            SameRequestAgain(*existing, purchase, "purchase_id", purchase.purchase_id));
        receipt = {existing->purchase_id,
                   existing->member_id,
                   existing->total,
                   existing->points_earned,
                   existing->balance_after,
                   existing->program_id,
                   true};
        return core::Status::Ok();
    }
};

core::Result<std::shared_ptr<PointsService::PurchasePlan>> PointsService::PlanPurchase(
    const Caller& caller, const PurchaseRequest& r) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "record purchases"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(r.purchase_id, "purchase_id"));
    KZ_RETURN_IF_ERROR(ValidateMemberRef(r.member));
    KZ_RETURN_IF_ERROR(core::ValidateLines(r.lines));
    if (!r.currency.empty()) KZ_RETURN_IF_ERROR(core::ValidateCurrency(r.currency, "currency"));

    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    if (!store) return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");
    const core::Timestamp now = context_.Now();
    const core::Timestamp occurred_at = r.occurred_at.value_or(now);
    if (occurred_at > now + kMaxFutureSkew) {
        return MakeError(ErrorCode::kRuleViolation,
                         "occurred_at is more than 5 minutes in the future; check the clock",
                         "occurred_at");
    }
    if (!r.currency.empty() && r.currency != store->currency) {
        return MakeError(ErrorCode::kRuleViolation,
                         "this store's purchases are in " + store->currency, "currency");
    }
    KZ_ASSIGN_OR_RETURN(auto rules, context_.RulesOf(store->store_id));
    const core::EarningRule* rule = core::RuleInEffect(rules, occurred_at);
    if (rule == nullptr) {
        return MakeError(ErrorCode::kInternal, "store " + store->store_id + " has no earning rule");
    }

    auto plan = std::make_shared<PurchasePlan>();
    plan->member = r.member;
    // The fingerprint covers the request as sent (no defaults filled in), so that a replay of
    // a request without occurred_at is still the same request a minute later.
    core::Purchase& p = plan->purchase;
    p.purchase_id = r.purchase_id;
    p.member_id = r.member.member_id;
    p.card_number = r.member.card_number;
    p.store_id = store->store_id;
    p.program_id = store->program_id;
    p.occurred_at = r.occurred_at.value_or(core::Timestamp{});
    p.currency = r.currency;
    p.lines = r.lines;
    p.fingerprint = crypto::Digest(core::CanonicalPurchase(p));

    p.occurred_at = occurred_at;
    p.recorded_at = now;
    p.currency = store->currency;
    p.total = core::TotalOf(p.lines);
    // The store's current offers may multiply the points (core::WithOfferMultipliers).
    KZ_ASSIGN_OR_RETURN(auto offers, context_.MultiplierOffersOf(store->store_id));
    KZ_ASSIGN_OR_RETURN(p.points_earned,
                        core::ComputePoints(core::WithOfferMultipliers(*rule, offers, occurred_at),
                                            p.lines, occurred_at));
    p.rule_version = rule->version;

    // The member's id is filled in by Apply (a card names its member only in the ledger).
    plan->lot.program_id = p.program_id;
    plan->lot.store_id = p.store_id;
    plan->lot.purchase_id = p.purchase_id;
    plan->lot.earned = p.points_earned;
    plan->lot.remaining = p.points_earned;
    plan->lot.earned_at = occurred_at;
    plan->lot.expires_at = occurred_at + std::chrono::days(rule->validity_days);
    plan->entry = core::LedgerEntry{.member_id = {},
                                    .program_id = p.program_id,
                                    .store_id = p.store_id,
                                    .delta = p.points_earned,
                                    .kind = core::EntryKind::kEarn,
                                    .ref = p.purchase_id,
                                    .occurred_at = occurred_at,
                                    .note = "Purchase " + FormatMoney(p.total, p.currency) +
                                            " at " + store->name + " (1 point per " +
                                            FormatMoney(rule->amount_per_point, p.currency) +
                                            ", rule v" + std::to_string(rule->version) + ")"};
    return plan;
}

core::Result<PurchaseReceipt> PointsService::RecordPurchase(const Caller& caller,
                                                            const PurchaseRequest& r) {
    return WriteNow(context_.storage(), PlanPurchase(caller, r));
}

void PointsService::RecordPurchaseAsync(const Caller& caller, const PurchaseRequest& r,
                                        PurchaseDone done) {
    WriteLater(context_.storage(), PlanPurchase(caller, r), std::move(done));
}

// A redemption ready to be written: checked, fingerprinted; the lots it draws on are found in
// Apply, under the writer.
struct PointsService::RedemptionPlan {
    MemberRef member;
    core::Redemption rd;
    std::string store_name;
    core::Timestamp now{};
    RedemptionReceipt receipt;

    core::Status Apply(storage::WriteTxn& txn) {
        KZ_ASSIGN_OR_RETURN(auto existing, txn.FindRedemption(rd.store_id, rd.redemption_id));
        if (existing) {
            KZ_RETURN_IF_ERROR(SameRequestAgain(*existing, rd, "redemption_id", rd.redemption_id));
            receipt = {existing->redemption_id, existing->member_id,  existing->points,
                       existing->balance_after, existing->program_id, true};
            return core::Status::Ok();
        }
        KZ_ASSIGN_OR_RETURN(rd.member_id, ResolveMember(txn, member));
        KZ_ASSIGN_OR_RETURN(auto lots, BookDueExpiries(txn, rd.member_id, rd.program_id, now));
        auto draws = core::PlanRedemption(lots, rd.points, now);
        if (!draws) {
            if (draws.error().code != ErrorCode::kInsufficientPoints) return draws.error();
            int64_t available = 0;
            for (const auto& lot : lots) available += lot.remaining;
            return MakeError(ErrorCode::kInsufficientPoints,
                             "the balance is " + GroupThousands(available) +
                                 " points; cannot redeem " + GroupThousands(rd.points),
                             "points");
        }
        KZ_RETURN_IF_ERROR(ApplyDraws(txn, *draws));
        core::LedgerEntry entry{
            .member_id = rd.member_id,
            .program_id = rd.program_id,
            .store_id = rd.store_id,
            .delta = -rd.points,
            .kind = core::EntryKind::kRedeem,
            .ref = rd.redemption_id,
            .occurred_at = now,
            .note = "Redeemed " + GroupThousands(rd.points) + " points at " + store_name};
        KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        KZ_ASSIGN_OR_RETURN(rd.balance_after, txn.BalanceOf(rd.member_id, rd.program_id));
        KZ_RETURN_IF_ERROR(txn.InsertRedemption(rd));
        receipt = {rd.redemption_id, rd.member_id,  rd.points,
                   rd.balance_after, rd.program_id, false};
        return RecordEvent(txn, "points.redeemed", rd.program_id, rd.member_id, now,
                           {{"redemption_id", rd.redemption_id},
                            {"member_id", rd.member_id},
                            {"store_id", rd.store_id},
                            {"program_id", rd.program_id},
                            {"points", rd.points},
                            {"balance", rd.balance_after}});
    }
};

core::Result<std::shared_ptr<PointsService::RedemptionPlan>> PointsService::PlanRedemption(
    const Caller& caller, const RedemptionRequest& r) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "redeem points"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(r.redemption_id, "redemption_id"));
    KZ_RETURN_IF_ERROR(ValidateMemberRef(r.member));
    if (r.points <= 0 || r.points > core::kMaxRedeemPoints) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "points must be a whole number from 1 to " + std::to_string(core::kMaxRedeemPoints),
            "points");
    }
    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    if (!store) return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");

    auto plan = std::make_shared<RedemptionPlan>();
    plan->member = r.member;
    plan->store_name = store->name;
    plan->now = context_.Now();
    core::Redemption& rd = plan->rd;
    rd.redemption_id = r.redemption_id;
    rd.member_id = MemberRefText(r.member);
    rd.store_id = store->store_id;
    rd.program_id = store->program_id;
    rd.points = r.points;
    rd.fingerprint = crypto::Digest(core::CanonicalRedemption(rd));
    rd.occurred_at = plan->now;
    return plan;
}

core::Result<RedemptionReceipt> PointsService::Redeem(const Caller& caller,
                                                      const RedemptionRequest& r) {
    return WriteNow(context_.storage(), PlanRedemption(caller, r));
}

void PointsService::RedeemAsync(const Caller& caller, const RedemptionRequest& r,
                                RedemptionDone done) {
    WriteLater(context_.storage(), PlanRedemption(caller, r), std::move(done));
}

// A refund ready to be written: checked and fingerprinted; the purchase, its earlier refunds
// and the lots are read in Apply, under the writer, so two refunds of one line cannot both pass.
struct PointsService::RefundPlan {
    std::vector<core::PurchaseLine> lines;  // as requested; empty for a refund by amount
    core::Refund rf;
    std::string store_name;
    core::Timestamp now{};
    RefundReceipt receipt;

    core::Status Apply(storage::WriteTxn& txn) {
        KZ_ASSIGN_OR_RETURN(auto existing, txn.FindRefund(rf.store_id, rf.refund_id));
        if (existing) {
            KZ_RETURN_IF_ERROR(SameRequestAgain(*existing, rf, "refund_id", rf.refund_id));
            receipt = {existing->refund_id,
                       existing->purchase_id,
                       existing->amount,
                       existing->points_reversed,
                       existing->points_unrecovered,
                       existing->points_expired,
                       existing->balance_after,
                       true};
            return core::Status::Ok();
        }
        // Purchase ids are the store's own: a store refunds its own purchases, and another
        // store's purchase of the same id is simply not there.
        KZ_ASSIGN_OR_RETURN(auto purchase, txn.FindPurchase(rf.store_id, rf.purchase_id));
        if (!purchase) {
            return MakeError(ErrorCode::kNotFound, "this store has no purchase " + rf.purchase_id,
                             "purchase_id");
        }
        // Read inside this write unit, so a concurrent refund of the same line cannot slip in
        // between the check and the insert.
        KZ_ASSIGN_OR_RETURN(auto earlier, txn.RefundsOf(rf.store_id, purchase->purchase_id));
        if (!lines.empty()) {
            KZ_ASSIGN_OR_RETURN(rf.lines, ResolveRefundLines(*purchase, earlier, lines));
            rf.amount = 0;
            for (const core::RefundedLine& line : rf.lines) rf.amount += line.amount;
        }
        core::RefundInput input;
        input.purchase_total = purchase->total;
        input.purchase_points = purchase->points_earned;
        for (const auto& e : earlier) {
            input.refunded_before += e.amount;
            input.owed_before += e.points_reversed + e.points_unrecovered + e.points_expired;
            input.expired_before += e.points_expired;
        }
        input.amount = rf.amount;
        input.now = now;
        // Expiries due now are booked first, so the purchase's points that expired by now are
        // counted as expired, not reversed, whether or not the expiry pass has run.
        int64_t expired_now = 0;
        KZ_ASSIGN_OR_RETURN(input.lots, BookDueExpiries(txn, purchase->member_id,
                                                        purchase->program_id, now, &expired_now));
        input.purchase_expired = purchase->points_expired;
        if (expired_now > 0) {
            KZ_ASSIGN_OR_RETURN(auto reread, txn.FindPurchase(rf.store_id, rf.purchase_id));
            if (reread) input.purchase_expired = reread->points_expired;
        }
        for (const auto& lot : input.lots) {
            if (lot.store_id == purchase->store_id && lot.purchase_id == purchase->purchase_id) {
                input.own_lot_id = lot.lot_id;
            }
        }
        auto reversal = core::PlanRefund(input);
        if (!reversal) {
            core::Error error = reversal.error();
            if (error.code == ErrorCode::kRuleViolation) {
                error.message = "refunds would total more than purchase " + purchase->purchase_id +
                                " (" + FormatMoney(purchase->total, purchase->currency) + "); " +
                                FormatMoney(input.refunded_before, purchase->currency) +
                                " was refunded before";
                error.field = lines.empty() ? "amount" : "lines";
            }
            return error;
        }
        KZ_RETURN_IF_ERROR(ApplyDraws(txn, reversal->draws));
        if (reversal->points_reversed > 0) {
            core::LedgerEntry entry{
                .member_id = purchase->member_id,
                .program_id = purchase->program_id,
                .store_id = rf.store_id,
                .delta = -reversal->points_reversed,
                .kind = core::EntryKind::kRefundReversal,
                .ref = rf.refund_id,
                .occurred_at = now,
                .note = "Refund of " + FormatMoney(rf.amount, purchase->currency) +
                        " for purchase " + purchase->purchase_id + " at " + store_name};
            if (reversal->points_unrecovered > 0) {
                entry.note += "; " + GroupThousands(reversal->points_unrecovered) +
                              " points owed were already spent";
            }
            if (reversal->points_expired > 0) {
                entry.note += "; " + GroupThousands(reversal->points_expired) +
                              " points owed had already expired";
            }
            KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        }
        rf.points_reversed = reversal->points_reversed;
        rf.points_unrecovered = reversal->points_unrecovered;
        rf.points_expired = reversal->points_expired;
        KZ_ASSIGN_OR_RETURN(rf.balance_after,
                            txn.BalanceOf(purchase->member_id, purchase->program_id));
        KZ_RETURN_IF_ERROR(txn.InsertRefund(rf));
        receipt = {rf.refund_id,          rf.purchase_id,    rf.amount,        rf.points_reversed,
                   rf.points_unrecovered, rf.points_expired, rf.balance_after, false};
        return RecordEvent(txn, "purchase.refunded", purchase->program_id, purchase->member_id, now,
                           {{"refund_id", rf.refund_id},
                            {"purchase_id", rf.purchase_id},
                            {"member_id", purchase->member_id},
                            {"store_id", rf.store_id},
                            {"program_id", purchase->program_id},
                            {"amount", rf.amount},
                            {"points_reversed", rf.points_reversed},
                            {"points_unrecovered", rf.points_unrecovered},
                            {"points_expired", rf.points_expired},
                            {"balance", rf.balance_after}});
    }
};

core::Result<std::shared_ptr<PointsService::RefundPlan>> PointsService::PlanRefund(
    const Caller& caller, const RefundRequest& r) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "refund purchases"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(r.refund_id, "refund_id"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(r.purchase_id, "purchase_id"));
    if (r.amount.has_value() == !r.lines.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "give exactly one of amount and lines",
                         "amount");
    }
    if (r.amount && (*r.amount <= 0 || *r.amount > core::kMaxPurchaseTotal)) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "amount must be a whole number from 1 to " + std::to_string(core::kMaxPurchaseTotal),
            "amount");
    }
    KZ_RETURN_IF_ERROR(ValidateRefundLines(r.lines));
    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    if (!store) return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");

    auto plan = std::make_shared<RefundPlan>();
    plan->lines = r.lines;
    plan->store_name = store->name;
    plan->now = context_.Now();
    core::Refund& rf = plan->rf;
    rf.refund_id = r.refund_id;
    rf.purchase_id = r.purchase_id;
    rf.store_id = store->store_id;
    rf.amount = r.amount.value_or(0);
    rf.fingerprint = crypto::Digest(core::CanonicalRefund(rf, r.lines));
    rf.occurred_at = plan->now;
    return plan;
}

core::Result<RefundReceipt> PointsService::Refund(const Caller& caller, const RefundRequest& r) {
    return WriteNow(context_.storage(), PlanRefund(caller, r));
}

void PointsService::RefundAsync(const Caller& caller, const RefundRequest& r, RefundDone done) {
    WriteLater(context_.storage(), PlanRefund(caller, r), std::move(done));
}

core::Result<int64_t> PointsService::RunExpiry() {
    const core::Timestamp now = context_.Now();
    int64_t expired = 0;
    while (true) {
        std::vector<core::Lot> due;
        KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
            KZ_ASSIGN_OR_RETURN(due, txn.ExpiredOpenLots(now, kExpiryBatch));
            return core::Status::Ok();
        }));
        if (due.empty()) break;
        std::set<std::pair<std::string, std::string>> accounts;
        for (const auto& lot : due) accounts.emplace(lot.member_id, lot.program_id);
        int64_t batch = 0;
        // One transaction per batch; each account's lots are re-read inside it, so a
        // redemption that raced with this pass is seen and nothing expires twice.
        KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
            batch = 0;
            for (const auto& [member_id, program_id] : accounts) {
                KZ_RETURN_IF_ERROR(BookDueExpiries(txn, member_id, program_id, now, &batch));
            }
            return core::Status::Ok();
        }));
        expired += batch;
        if (batch == 0) break;  // nothing due any more (another pass got there first)
    }
    return expired;
}

}  // namespace kizuna::hub
