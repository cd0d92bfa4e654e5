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
#include "hub/merge_service.hpp"
#include "hub/redemption_limit_service.hpp"
#include "hub/text_format.hpp"
#include "hub/tier_service.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// Refs of the ledger entries of the till (issue 17): points used to pay for a purchase, and a
// void's undoing. '/' is not allowed in client ids, so these never collide with a redemption's.
constexpr std::string_view kPurchaseRefPrefix = "purchase/";
constexpr std::string_view kVoidRefPrefix = "void/";
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

// The open member a sale or redemption naming `member_id` is for, and what the sale reads of
// them: a member merged away stands for the member it was merged into (a till or an offline
// store node may still know the old id; its points must not land on the closed record), and
// a member who left the program earns and spends nothing. Errors: kNotFound, kRuleViolation.
core::Result<std::pair<std::string, storage::MemberStanding>> OpenMember(
    storage::ReadTxn& txn, const std::string& member_id) {
    KZ_ASSIGN_OR_RETURN(auto standing, txn.StandingOf(member_id));
    if (!standing) return MakeError(ErrorCode::kNotFound, "no member " + member_id, "member_id");
    if (standing->status == core::MemberStatus::kActive) {
        return std::make_pair(member_id, std::move(*standing));
    }
    KZ_ASSIGN_OR_RETURN(auto survivor, SurvivorOf(txn, member_id));
    if (!survivor) {
        return MakeError(ErrorCode::kRuleViolation, "member " + member_id + " has left the program",
                         "member_id");
    }
    KZ_ASSIGN_OR_RETURN(standing, txn.StandingOf(*survivor));
    if (!standing || standing->status != core::MemberStatus::kActive) {
        return MakeError(ErrorCode::kInternal, "member " + member_id + " was merged into member " +
                                                   *survivor + ", which is not open");
    }
    return std::make_pair(std::move(*survivor), std::move(*standing));
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
    KZ_ASSIGN_OR_RETURN(auto standing, OpenMember(txn, ref.member_id));
    return std::move(standing.first);
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

// The answer for a purchase id the calling store does not have: kForbidden when another store
// of its program has it (a store refunds and voids only its own sales), else kNotFound.
core::Status NotThisStores(storage::ReadTxn& txn, const std::string& program_id,
                           const std::string& store_id, const std::string& purchase_id) {
    KZ_ASSIGN_OR_RETURN(bool elsewhere,
                        txn.OtherStoreHasPurchase(program_id, store_id, purchase_id));
    if (elsewhere) {
        return MakeError(ErrorCode::kForbidden,
                         "purchase " + purchase_id +
                             " was made at another store; only the store that made a sale may "
                             "refund or void it",
                         "purchase_id");
    }
    return MakeError(ErrorCode::kNotFound, "this store has no purchase " + purchase_id,
                     "purchase_id");
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
        core::LedgerEntry entry{
            .member_id = member_id,
            .program_id = program_id,
            .store_id = lot.store_id,  // the store that issued them
            .delta = -draw.points,
            .kind = core::EntryKind::kExpire,
            .ref = std::to_string(lot.lot_id),
            .occurred_at = now,
            .note = "Expired: " + GroupThousands(draw.points) + " of " +
                    GroupThousands(lot.earned) + " points earned on " + Day(lot.earned_at) +
                    (lot.purchase_id.empty() ? std::string(" (campaign bonus)")
                                             : " (purchase " + lot.purchase_id + ")") +
                    ", valid until " + Day(lot.expires_at)};
        KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        if (expired_lots != nullptr) ++*expired_lots;
    }
    return AfterDraws(std::move(lots), draws);
}

// The soonest expiry among open lots (remaining > 0, not yet due at now), with all the points
// expiring then; none when nothing remains.
std::optional<NextExpiry> NextExpiryOf(const std::vector<core::Lot>& lots, core::Timestamp now) {
    std::optional<NextExpiry> next;
    for (const core::Lot& lot : lots) {
        if (lot.remaining <= 0 || lot.expires_at <= now) continue;
        if (!next || lot.expires_at < next->at) {
            next = NextExpiry{lot.remaining, lot.expires_at};
        } else if (lot.expires_at == next->at) {
            next->points += lot.remaining;
        }
    }
    return next;
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

// A purchase ready to be written: what the request says, the points its lines earn, the lot and
// the ledger entry it books; the member's id (when named by card), the card's issue time, the
// store's till settings, the points used, the balance and the check against an earlier purchase
// of the same id need the ledger, in Apply.
struct PointsService::PurchasePlan {
    MemberRef member;
    bool accept_revoked_card = false;
    bool revoked_card = false;  // set by MemberAndIssueTime
    core::Purchase purchase;
    core::Lot lot;
    core::LedgerEntry entry;
    PurchaseReceipt receipt;
    // The note by the store's rule alone, before the member's tier (issue 19).
    std::string base_note;

    // Issue 19: the purchase earns `base_points` (the rule's, on the amount paid) at the
    // member's tier (hub/tier_service.hpp). Set from the base on every run, since a unit of work
    // may run more than once.
    core::Status EarnAtTier(const std::optional<PurchaseTier>& tier, int64_t base_points) {
        purchase.points_earned = base_points;
        entry.note = base_note;
        if (tier && tier->standing.multiplier_milli != core::kMultiplierOne) {
            KZ_ASSIGN_OR_RETURN(
                purchase.points_earned,
                core::ApplyTierMultiplier(base_points, tier->standing.multiplier_milli));
            entry.note += "; " + tier->standing.name + " tier, x" +
                          FormatMultiplier(tier->standing.multiplier_milli);
        }
        lot.earned = purchase.points_earned;
        lot.remaining = purchase.points_earned;
        entry.delta = purchase.points_earned;
        return core::Status::Ok();
    }
    int64_t points_on_lines = 0;  // by the rule, before points used as payment
    std::optional<int64_t> points_wanted;
    bool use_all_points = false;
    bool manager_approved = false;
    core::PurchaseOrigin origin = core::PurchaseOrigin::kTill;
    bool details = false;
    std::vector<int64_t> line_points;
    std::string store_name;

    // The unit of work: runs on the storage's writer (see Storage::Write). A replay (a purchase
    // id already stored) is rare, so for a plain sale it is not looked for first: the insert
    // finds it, and so do the member checks when they fail (a replay of a purchase whose card
    // was replaced since still gets its receipt). Nothing is written before the insert, so a
    // replay writes nothing. A sale paid with points books due expiries before the insert, so
    // it looks for the earlier purchase first.
    core::Status Apply(storage::WriteTxn& txn) {
        core::Purchase& p = purchase;
        const bool with_points = points_wanted.has_value() || use_all_points;
        if (with_points) {
            KZ_ASSIGN_OR_RETURN(auto existing, txn.FindPurchase(p.store_id, p.purchase_id));
            if (existing) return ReplayOr(txn, MakeError(ErrorCode::kInternal, "unreachable"));
        }
        auto resolved = MemberAndIssueTime(txn);
        if (!resolved) return ReplayOr(txn, resolved.error());
        p.member_id = resolved->first;
        KZ_ASSIGN_OR_RETURN(auto stored_settings, txn.FindTillSettings(p.store_id));
        const core::TillSettings settings = stored_settings.value_or(core::TillSettings{});
        if (auto when = core::CheckOccurredAt(p.occurred_at, resolved->second, p.recorded_at,
                                              settings.utc_offset_minutes, origin);
            !when.ok()) {
            return ReplayOr(txn, when.error());
        }
        KZ_ASSIGN_OR_RETURN(auto before, txn.FindBalance(p.member_id, p.program_id));
        KZ_ASSIGN_OR_RETURN(auto tier,
                            TierForPurchase(txn, p.member_id, p.program_id, p.recorded_at));
        std::vector<core::Lot> lots;
        std::vector<core::LotDraw> draws;
        int64_t balance = before.value_or(0);
        if (with_points) {
            KZ_ASSIGN_OR_RETURN(lots,
                                BookDueExpiries(txn, p.member_id, p.program_id, p.recorded_at));
            KZ_ASSIGN_OR_RETURN(balance, txn.BalanceOf(p.member_id, p.program_id));
            const int64_t most = core::PointsWorth(p.total);
            if (use_all_points) {
                p.points_used = std::min(balance, most);
                if (!manager_approved) {
                    p.points_used = std::min(p.points_used, settings.max_points_per_sale);
                }
            } else {
                p.points_used = *points_wanted;
                if (p.points_used > most) {
                    return MakeError(ErrorCode::kRuleViolation,
                                     "points_used is worth more than the sale's total of " +
                                         FormatMoney(p.total, p.currency) + " (at most " +
                                         GroupThousands(most) + " points)",
                                     "points_used");
                }
            }
            if (p.points_used > 0) {
                auto planned = core::PlanRedemption(lots, p.points_used, p.recorded_at);
                if (!planned) {
                    if (planned.error().code != ErrorCode::kInsufficientPoints) {
                        return planned.error();
                    }
                    return MakeError(ErrorCode::kInsufficientPoints,
                                     "the balance is " + GroupThousands(balance) +
                                         " points; cannot use " + GroupThousands(p.points_used),
                                     "points_used");
                }
                draws = std::move(*planned);
            }
        }
        p.points_value = core::PointsValue(p.points_used);
        const int64_t amount_due = p.total - p.points_value;
        if (core::Status earned =
                EarnAtTier(tier, core::PointsOnAmountPaid(points_on_lines, p.total, amount_due));
            !earned.ok()) {
            return ReplayOr(txn, earned.error());
        }
        if (auto limits = core::CheckSaleLimits(settings, p.total, p.points_earned, p.points_used,
                                                manager_approved);
            !limits.ok()) {
            return ReplayOr(txn, limits.error());
        }
        // Both are bounded (a balance by this check, points by ComputePoints): no overflow.
        if (balance - p.points_used > core::kMaxBalance - p.points_earned) {
            return ReplayOr(txn, MakeError(ErrorCode::kRuleViolation,
                                           "this purchase would bring the member's balance above "
                                           "the limit of " +
                                               std::to_string(core::kMaxBalance) + " points",
                                           "lines"));
        }
        p.balance_after = balance - p.points_used + p.points_earned;
        p.points_drawn.clear();
        for (const auto& draw : draws) p.points_drawn.push_back({draw.lot_id, draw.points});
        if (core::Status inserted = txn.InsertPurchase(p); !inserted.ok()) {
            if (inserted.error().code != ErrorCode::kAlreadyExists) return inserted;
            return ReplayOr(txn, inserted.error());
        }
        if (p.points_used > 0) {
            KZ_RETURN_IF_ERROR(ApplyDraws(txn, draws));
            core::LedgerEntry used{.member_id = p.member_id,
                                   .program_id = p.program_id,
                                   .store_id = p.store_id,
                                   .delta = -p.points_used,
                                   .kind = core::EntryKind::kRedeem,
                                   .ref = std::string(kPurchaseRefPrefix) + p.purchase_id,
                                   .occurred_at = p.occurred_at,
                                   .note = GroupThousands(p.points_used) + " points (" +
                                           FormatMoney(p.points_value, p.currency) +
                                           ") paid for purchase " + p.purchase_id + " at " +
                                           store_name,
                                   .terminal_id = p.terminal_id,
                                   .staff_id = p.staff_id};
            KZ_RETURN_IF_ERROR(txn.AppendEntry(used));
            lots = AfterDraws(std::move(lots), draws);
        }
        if (p.points_earned > 0) {
            lot.member_id = p.member_id;
            lot.earned = lot.remaining = p.points_earned;
            KZ_ASSIGN_OR_RETURN(lot.lot_id, txn.InsertLot(lot));
            entry.member_id = p.member_id;
            entry.delta = p.points_earned;
            if (p.points_used > 0) {
                entry.note += "; earned on the " + FormatMoney(amount_due, p.currency) + " paid";
            }
            KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        }
        if (tier) KZ_RETURN_IF_ERROR(RaiseTierAfterPurchase(txn, *tier, p.member_id, p.program_id));
        FillReceipt(p, false);
        if (details) {
            if (!with_points) {
                KZ_ASSIGN_OR_RETURN(lots, txn.OpenLots(p.member_id, p.program_id));
            } else if (p.points_earned > 0) {
                lots.push_back(lot);
            }
            receipt.next_expiry = NextExpiryOf(lots, p.recorded_at);
        }
        return RecordEvent(txn, "purchase.created", p.program_id, p.member_id, p.recorded_at,
                           {{"purchase_id", p.purchase_id},
                            {"member_id", p.member_id},
                            {"store_id", p.store_id},
                            {"program_id", p.program_id},
                            {"occurred_at", EventTime(p.occurred_at)},
                            {"currency", p.currency},
                            {"total", p.total},
                            {"points_earned", p.points_earned},
                            {"points_used", p.points_used},
                            {"balance", p.balance_after}});
    }

    void FillReceipt(const core::Purchase& p, bool replayed) {
        receipt = PurchaseReceipt{};
        receipt.purchase_id = p.purchase_id;
        receipt.member_id = p.member_id;
        receipt.total = p.total;
        receipt.points_earned = p.points_earned;
        receipt.balance = p.balance_after;
        receipt.program_id = p.program_id;
        receipt.replayed = replayed;
        receipt.points_used = p.points_used;
        receipt.points_value = p.points_value;
        receipt.amount_due = p.total - p.points_value;
        receipt.currency = p.currency;
        receipt.revoked_card = revoked_card;
        if (details) receipt.line_points = line_points;
    }

    // The member the request names and the time their card was issued (by card: that card,
    // which must be current; by id: their first card; either way the member's first card, so a
    // reissued card keeps earning for the member's whole membership). A merged-away member
    // stands for the survivor (OpenMember). Errors: kNotFound, kCardRevoked, kRuleViolation. An
    // offline sale a store node pushes (accept_revoked_card) is booked on a revoked card too,
    // and revoked_card says so.
    core::Result<std::pair<std::string, core::Timestamp>> MemberAndIssueTime(
        storage::ReadTxn& txn) {
        revoked_card = false;
        std::string member_id = member.member_id;
        if (!member.card_number.empty()) {
            KZ_ASSIGN_OR_RETURN(auto card, txn.FindCard(member.card_number));
            const bool booked_anyway =
                card && accept_revoked_card && card->status == core::CardStatus::kRevoked;
            if (booked_anyway) {
                revoked_card = card->revoked_at && *card->revoked_at <= purchase.occurred_at;
            }
            if (!card || (card->status != core::CardStatus::kActive && !booked_anyway)) {
                // ResolveMember's error for this card: none found, or revoked.
                auto refused = ResolveMember(txn, member);
                if (!refused) return refused.error();
                return MakeError(ErrorCode::kInternal, "card " + member.card_number + " changed");
            }
            member_id = card->member_id;
        }
        KZ_ASSIGN_OR_RETURN(auto open, OpenMember(txn, member_id));
        const std::optional<core::Timestamp>& first = open.second.first_card_issued_at;
        return std::make_pair(std::move(open.first), first.value_or(core::kEarliestTime));
    }

    // When a purchase with this id is stored: the earlier receipt if this is the same request
    // again, else an id conflict. Otherwise `error`, this request's own failure.
    core::Status ReplayOr(storage::ReadTxn& txn, core::Error error) {
        KZ_ASSIGN_OR_RETURN(auto existing,
                            txn.FindPurchase(purchase.store_id, purchase.purchase_id));
        if (!existing) return error;
        KZ_RETURN_IF_ERROR(
            SameRequestAgain(*existing, purchase, "purchase_id", purchase.purchase_id));
        FillReceipt(*existing, true);
        if (details) {
            KZ_ASSIGN_OR_RETURN(auto lots, txn.OpenLots(existing->member_id, existing->program_id));
            receipt.next_expiry = NextExpiryOf(lots, purchase.recorded_at);
        }
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
    if (r.points_used && (*r.points_used < 0 || *r.points_used > core::kMaxRedeemPoints)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "points_used must be \"all\" or a whole number from 0 to " +
                             std::to_string(core::kMaxRedeemPoints),
                         "points_used");
    }

    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    if (!store) return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");
    const core::Timestamp now = context_.Now();
    const core::Timestamp occurred_at = r.occurred_at.value_or(now);
    // The earliest bounds need the ledger (the card's issue time, the store's business day);
    // the future is refused at once.
    if (occurred_at > now + core::kMaxFutureSkew) {
        return MakeError(ErrorCode::kRuleViolation,
                         "occurred_at is more than 5 minutes in the future; check the clock",
                         "occurred_at");
    }
    if (!r.currency.empty() && r.currency != store->currency) {
        return MakeError(ErrorCode::kRuleViolation,
                         "this store's purchases are in " + store->currency, "currency");
    }
    KZ_ASSIGN_OR_RETURN(auto rules, context_.RulesOf(store->store_id));
    // The rule in effect when the sale happened, also for a sale a store node pushes later.
    const core::EarningRule* rule = core::RuleInEffect(rules, occurred_at);
    if (rule == nullptr) {
        return MakeError(ErrorCode::kInternal, "store " + store->store_id + " has no earning rule");
    }

    auto plan = std::make_shared<PurchasePlan>();
    plan->member = r.member;
    plan->points_wanted = r.use_all_points ? std::nullopt : r.points_used;
    plan->use_all_points = r.use_all_points;
    plan->manager_approved = caller.ManagerApproved();
    plan->origin = r.origin;
    plan->details = r.receipt_details || r.points_used.has_value() || r.use_all_points;
    plan->store_name = store->name;
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
    std::string canonical = core::CanonicalPurchase(p);
    // Points used are part of the request only when sent, so earlier fingerprints stay valid.
    if (r.use_all_points) {
        canonical += "|points_used=all";
    } else if (r.points_used) {
        canonical += "|points_used=" + std::to_string(*r.points_used);
    }
    p.fingerprint = crypto::Digest(canonical);

    p.occurred_at = occurred_at;
    p.recorded_at = now;
    p.currency = store->currency;
    p.total = core::TotalOf(p.lines);
    p.terminal_id = caller.terminal_id;
    p.staff_id = caller.staff_id;
    // The store's current offers may multiply the points (core::WithOfferMultipliers).
    KZ_ASSIGN_OR_RETURN(auto offers, context_.MultiplierOffersOf(store->store_id));
    KZ_ASSIGN_OR_RETURN(plan->points_on_lines,
                        core::ComputePoints(core::WithOfferMultipliers(*rule, offers, occurred_at),
                                            p.lines, occurred_at));
    p.points_earned = plan->points_on_lines;
    p.rule_version = rule->version;
    if (plan->details) {
        for (const core::PurchaseLine& line : p.lines) {
            KZ_ASSIGN_OR_RETURN(int64_t points, core::ComputePoints(*rule, {line}, occurred_at));
            plan->line_points.push_back(points);
        }
    }

    // The member's id and the points are filled in by Apply (a card names its member only in
    // the ledger; points used are known only under the writer).
    plan->lot.program_id = p.program_id;
    plan->lot.store_id = p.store_id;
    plan->lot.purchase_id = p.purchase_id;
    plan->lot.earned_at = occurred_at;
    plan->lot.expires_at = occurred_at + std::chrono::days(rule->validity_days);
    plan->entry = core::LedgerEntry{.member_id = {},
                                    .program_id = p.program_id,
                                    .store_id = p.store_id,
                                    .delta = 0,
                                    .kind = core::EntryKind::kEarn,
                                    .ref = p.purchase_id,
                                    .occurred_at = occurred_at,
                                    .note = "Purchase " + FormatMoney(p.total, p.currency) +
                                            " at " + store->name + " (1 point per " +
                                            FormatMoney(rule->amount_per_point, p.currency) +
                                            ", rule v" + std::to_string(rule->version) + ")",
                                    .recorded_at = now,
                                    .terminal_id = p.terminal_id,
                                    .staff_id = p.staff_id};
    plan->base_note = plan->entry.note;
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
    bool redeem_what_is_there = false;
    int64_t requested_points = 0;
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
        int64_t points_short = 0;
        if (redeem_what_is_there) {
            // Reset on every run: the unit may run again (Storage::Write).
            rd.points = requested_points;
            int64_t available = 0;
            for (const auto& lot : lots) available += lot.remaining;
            if (available < rd.points) {
                points_short = rd.points - available;
                rd.points = available;
            }
        } else {
            // Issue 19: the program's redemption limits (hub/redemption_limit_service.hpp). An
            // offline redemption synced from a store node already happened at the till: it is
            // booked as far as the balance allows, never refused here.
            KZ_RETURN_IF_ERROR(CheckRedemptionLimitsInTxn(txn, rd.store_id, rd.member_id,
                                                          rd.program_id, rd.points, now));
        }
        // An offline redemption finding nothing left books nothing: its record says 0 points
        // and it has no ledger entry, as the record checks expect of 0 points.
        auto draws = rd.points == 0 && redeem_what_is_there
                         ? core::Result<std::vector<core::LotDraw>>(std::vector<core::LotDraw>{})
                         : core::PlanRedemption(lots, rd.points, now);
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
            .occurred_at = rd.occurred_at,
            .note = "Redeemed " + GroupThousands(rd.points) + " points at " + store_name,
            .terminal_id = rd.terminal_id,
            .staff_id = rd.staff_id};
        if (rd.points > 0) KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        KZ_ASSIGN_OR_RETURN(rd.balance_after, txn.BalanceOf(rd.member_id, rd.program_id));
        KZ_RETURN_IF_ERROR(txn.InsertRedemption(rd));
        receipt = {rd.redemption_id, rd.member_id, rd.points,   rd.balance_after,
                   rd.program_id,    false,        points_short};
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
    rd.terminal_id = caller.terminal_id;
    rd.staff_id = caller.staff_id;
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
    std::string program_id;  // the store's
    bool manager_rights = false;
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
        if (!purchase) return NotThisStores(txn, program_id, rf.store_id, rf.purchase_id);
        if (purchase->voided_at) {
            return MakeError(ErrorCode::kRuleViolation,
                             "purchase " + purchase->purchase_id + " was voided", "purchase_id");
        }
        // Read inside this write unit, so a concurrent refund of the same line cannot slip in
        // between the check and the insert.
        KZ_ASSIGN_OR_RETURN(auto earlier, txn.RefundsOf(rf.store_id, purchase->purchase_id));
        if (!lines.empty()) {
            KZ_ASSIGN_OR_RETURN(rf.lines, ResolveRefundLines(*purchase, earlier, lines));
            rf.amount = 0;
            for (const core::RefundedLine& line : rf.lines) rf.amount += line.amount;
        }
        if (!manager_rights) {
            KZ_ASSIGN_OR_RETURN(auto settings, txn.FindTillSettings(rf.store_id));
            const int64_t above = settings.value_or(core::TillSettings{}).manager_refund_above;
            if (rf.amount > above) {
                return MakeError(ErrorCode::kForbidden,
                                 "a refund of more than " + FormatMoney(above, purchase->currency) +
                                     " needs a manager; send the manager's id and PIN as "
                                     "Kizuna-Staff: STAFF_ID:PIN");
            }
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
                .occurred_at = rf.occurred_at,
                .note = "Refund of " + FormatMoney(rf.amount, purchase->currency) +
                        " for purchase " + purchase->purchase_id + " at " + store_name,
                .terminal_id = rf.terminal_id,
                .staff_id = rf.staff_id};
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
    plan->program_id = store->program_id;
    plan->manager_rights = caller.HasManagerRights();
    plan->store_name = store->name;
    plan->now = context_.Now();
    core::Refund& rf = plan->rf;
    rf.refund_id = r.refund_id;
    rf.purchase_id = r.purchase_id;
    rf.store_id = store->store_id;
    rf.amount = r.amount.value_or(0);
    rf.fingerprint = crypto::Digest(core::CanonicalRefund(rf, r.lines));
    rf.occurred_at = plan->now;
    rf.terminal_id = caller.terminal_id;
    rf.staff_id = caller.staff_id;
    return plan;
}

core::Result<RefundReceipt> PointsService::Refund(const Caller& caller, const RefundRequest& r) {
    return WriteNow(context_.storage(), PlanRefund(caller, r));
}

void PointsService::RefundAsync(const Caller& caller, const RefundRequest& r, RefundDone done) {
    WriteLater(context_.storage(), PlanRefund(caller, r), std::move(done));
}

namespace {

// The plan's Apply as a unit returning its receipt.
template <typename Plan>
auto UnitOf(core::Result<std::shared_ptr<Plan>> planned)
    -> core::Result<WriteUnit<decltype(Plan::receipt)>> {
    KZ_ASSIGN_OR_RETURN(std::shared_ptr<Plan> plan, std::move(planned));
    return WriteUnit<decltype(Plan::receipt)>(
        [plan](storage::WriteTxn& txn) -> core::Result<decltype(Plan::receipt)> {
            KZ_RETURN_IF_ERROR(plan->Apply(txn));
            return plan->receipt;
        });
}

}  // namespace

core::Result<WriteUnit<PurchaseReceipt>> PointsService::PreparePurchase(
    const Caller& caller, const PurchaseRequest& r, const OfflineOptions& offline) {
    auto planned = PlanPurchase(caller, r);
    if (planned) {
        (*planned)->accept_revoked_card = offline.accept_revoked_card;
        // Pushed by a store node: a sale older than today's business day is accepted with its
        // original time and the rule in effect then (core::CheckOccurredAt).
        (*planned)->origin = core::PurchaseOrigin::kNodeSync;
    }
    return UnitOf(std::move(planned));
}

core::Result<WriteUnit<RedemptionReceipt>> PointsService::PrepareRedemption(
    const Caller& caller, const RedemptionRequest& r, const OfflineOptions& offline) {
    auto planned = PlanRedemption(caller, r);
    if (planned) {
        RedemptionPlan& plan = **planned;
        plan.redeem_what_is_there = offline.redeem_what_is_there;
        plan.requested_points = plan.rd.points;
        if (offline.occurred_at) plan.rd.occurred_at = *offline.occurred_at;
    }
    return UnitOf(std::move(planned));
}

core::Result<WriteUnit<RefundReceipt>> PointsService::PrepareRefund(const Caller& caller,
                                                                    const RefundRequest& r,
                                                                    const OfflineOptions& offline) {
    auto planned = PlanRefund(caller, r);
    if (planned && offline.occurred_at) (*planned)->rf.occurred_at = *offline.occurred_at;
    return UnitOf(std::move(planned));
}

// A void ready to be written: the purchase, its points and the lots are read in Apply, under the
// writer. The purchase's points are undone exactly: the points it used go back to the lots they
// came from (with their expiry), and the points it earned are taken back.
struct PointsService::VoidPlan {
    std::string purchase_id;
    std::string store_id;
    std::string program_id;
    std::string store_name;
    std::string terminal_id;
    std::string staff_id;
    core::Timestamp now{};
    VoidReceipt receipt;

    core::Status Apply(storage::WriteTxn& txn) {
        KZ_ASSIGN_OR_RETURN(auto purchase, txn.FindPurchase(store_id, purchase_id));
        if (!purchase) return NotThisStores(txn, program_id, store_id, purchase_id);
        core::Purchase& p = *purchase;
        if (p.voided_at) {
            receipt = {p.purchase_id, p.member_id,          p.points_earned,
                       p.points_used, p.void_balance_after, *p.voided_at,
                       true};
            return core::Status::Ok();
        }
        KZ_ASSIGN_OR_RETURN(auto settings, txn.FindTillSettings(store_id));
        const core::BusinessDay today =
            core::BusinessDayOf(now, settings.value_or(core::TillSettings{}).utc_offset_minutes);
        if (p.occurred_at < today.start || p.occurred_at >= today.end) {
            return MakeError(ErrorCode::kRuleViolation,
                             "purchase " + p.purchase_id + " is not of today's business day (" +
                                 today.date + "); refund it instead",
                             "purchase_id");
        }
        KZ_ASSIGN_OR_RETURN(auto refunds, txn.RefundsOf(store_id, p.purchase_id));
        if (!refunds.empty()) {
            return MakeError(
                ErrorCode::kRuleViolation,
                "purchase " + p.purchase_id + " has refunds; refund the rest instead of voiding it",
                "purchase_id");
        }
        const std::string ref = std::string(kVoidRefPrefix) + p.purchase_id;
        // The points used go back to their lots first, so that they are there to be taken if
        // the earned points must come from them; lots due meanwhile then expire as usual.
        if (p.points_used > 0) {
            KZ_ASSIGN_OR_RETURN(auto drawn, txn.PointsDrawnBy(store_id, p.purchase_id));
            for (const core::PointsDrawn& d : drawn) {
                KZ_RETURN_IF_ERROR(txn.RestoreToLot({d.lot_id, d.points}));
            }
            core::LedgerEntry restored{.member_id = p.member_id,
                                       .program_id = p.program_id,
                                       .store_id = store_id,
                                       .delta = p.points_used,
                                       .kind = core::EntryKind::kRedeem,
                                       .ref = ref,
                                       .occurred_at = now,
                                       .note = "Void of purchase " + p.purchase_id + " at " +
                                               store_name + ": " + GroupThousands(p.points_used) +
                                               " points used are given back",
                                       .terminal_id = terminal_id,
                                       .staff_id = staff_id};
            KZ_RETURN_IF_ERROR(txn.AppendEntry(restored));
        }
        int64_t expired_now = 0;
        KZ_ASSIGN_OR_RETURN(auto lots,
                            BookDueExpiries(txn, p.member_id, p.program_id, now, &expired_now));
        if (p.points_earned > 0) {
            core::RefundInput input;
            input.purchase_total = p.total;
            input.purchase_points = p.points_earned;
            input.amount = p.total;
            input.now = now;
            input.lots = lots;
            input.purchase_expired = p.points_expired;
            if (expired_now > 0) {
                KZ_ASSIGN_OR_RETURN(auto reread, txn.FindPurchase(store_id, p.purchase_id));
                if (reread) input.purchase_expired = reread->points_expired;
            }
            for (const auto& lot : lots) {
                if (lot.store_id == p.store_id && lot.purchase_id == p.purchase_id) {
                    input.own_lot_id = lot.lot_id;
                }
            }
            KZ_ASSIGN_OR_RETURN(auto reversal, core::PlanRefund(input));
            if (reversal.points_reversed != p.points_earned) {
                return MakeError(ErrorCode::kRuleViolation,
                                 "of the " + GroupThousands(p.points_earned) + " points purchase " +
                                     p.purchase_id + " earned, " +
                                     GroupThousands(p.points_earned - reversal.points_reversed) +
                                     " were spent or expired since, so it cannot be undone "
                                     "exactly; refund it instead",
                                 "purchase_id");
            }
            KZ_RETURN_IF_ERROR(ApplyDraws(txn, reversal.draws));
            core::LedgerEntry taken{.member_id = p.member_id,
                                    .program_id = p.program_id,
                                    .store_id = store_id,
                                    .delta = -p.points_earned,
                                    .kind = core::EntryKind::kEarn,
                                    .ref = ref,
                                    .occurred_at = now,
                                    .note = "Void of purchase " + p.purchase_id + " at " +
                                            store_name + ": " + GroupThousands(p.points_earned) +
                                            " points earned are taken back",
                                    .terminal_id = terminal_id,
                                    .staff_id = staff_id};
            KZ_RETURN_IF_ERROR(txn.AppendEntry(taken));
        }
        p.voided_at = now;
        p.void_terminal_id = terminal_id;
        p.void_staff_id = staff_id;
        KZ_ASSIGN_OR_RETURN(p.void_balance_after, txn.BalanceOf(p.member_id, p.program_id));
        KZ_RETURN_IF_ERROR(txn.MarkPurchaseVoided(p));
        receipt = {p.purchase_id, p.member_id, p.points_earned, p.points_used, p.void_balance_after,
                   now,           false};
        return RecordEvent(txn, "purchase.voided", p.program_id, p.member_id, now,
                           {{"purchase_id", p.purchase_id},
                            {"member_id", p.member_id},
                            {"store_id", store_id},
                            {"program_id", p.program_id},
                            {"points_reversed", p.points_earned},
                            {"points_restored", p.points_used},
                            {"balance", p.void_balance_after}});
    }
};

core::Result<std::shared_ptr<PointsService::VoidPlan>> PointsService::PlanVoid(
    const Caller& caller, const VoidRequest& r) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "void purchases"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(r.purchase_id, "purchase_id"));
    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(caller.store_id));
    if (!store) return MakeError(ErrorCode::kUnauthenticated, "the calling store no longer exists");
    auto plan = std::make_shared<VoidPlan>();
    plan->purchase_id = r.purchase_id;
    plan->store_id = store->store_id;
    plan->program_id = store->program_id;
    plan->store_name = store->name;
    plan->terminal_id = caller.terminal_id;
    plan->staff_id = caller.staff_id;
    plan->now = context_.Now();
    return plan;
}

core::Result<VoidReceipt> PointsService::Void(const Caller& caller, const VoidRequest& r) {
    return WriteNow(context_.storage(), PlanVoid(caller, r));
}

void PointsService::VoidAsync(const Caller& caller, const VoidRequest& r, VoidDone done) {
    WriteLater(context_.storage(), PlanVoid(caller, r), std::move(done));
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
