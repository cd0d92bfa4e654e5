#include "core/ledger.hpp"

#include <algorithm>

namespace kizuna::core {

namespace {

// Lots that can be spent at `now` (points left, not expired), soonest-expiring first, ties by
// lot id so every node plans the same draws.
std::vector<const Lot*> SpendableLots(const std::vector<Lot>& lots, Timestamp now) {
    std::vector<const Lot*> out;
    for (const Lot& lot : lots) {
        if (lot.remaining > 0 && lot.expires_at > now) out.push_back(&lot);
    }
    std::sort(out.begin(), out.end(), [](const Lot* a, const Lot* b) {
        if (a->expires_at != b->expires_at) return a->expires_at < b->expires_at;
        return a->lot_id < b->lot_id;
    });
    return out;
}

// Takes up to `wanted` points from the lots in order; returns what was drawn.
std::vector<LotDraw> Draw(const std::vector<const Lot*>& ordered, int64_t wanted) {
    std::vector<LotDraw> draws;
    for (const Lot* lot : ordered) {
        if (wanted <= 0) break;
        const int64_t take = std::min(wanted, lot->remaining);
        draws.push_back(LotDraw{lot->lot_id, take});
        wanted -= take;
    }
    return draws;
}

int64_t SumOfDraws(const std::vector<LotDraw>& draws) {
    int64_t sum = 0;
    for (const LotDraw& d : draws) sum += d.points;
    return sum;
}

}  // namespace

std::string_view EntryKindName(EntryKind k) {
    switch (k) {
        case EntryKind::kEarn:
            return "earn";
        case EntryKind::kRedeem:
            return "redeem";
        case EntryKind::kExpire:
            return "expire";
        case EntryKind::kRefundReversal:
            return "refund_reversal";
        case EntryKind::kAdjustment:
            return "adjustment";
    }
    return "adjustment";
}

Result<EntryKind> ParseEntryKind(std::string_view text) {
    for (const EntryKind k : {EntryKind::kEarn, EntryKind::kRedeem, EntryKind::kExpire,
                              EntryKind::kRefundReversal, EntryKind::kAdjustment}) {
        if (text == EntryKindName(k)) return k;
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     "kind must be one of earn, redeem, expire, refund_reversal, adjustment",
                     "kind");
}

std::vector<LotDraw> PlanExpiry(const std::vector<Lot>& lots, Timestamp now) {
    std::vector<LotDraw> draws;
    for (const Lot& lot : lots) {
        if (lot.remaining > 0 && lot.expires_at <= now) {
            draws.push_back(LotDraw{lot.lot_id, lot.remaining});
        }
    }
    std::sort(draws.begin(), draws.end(),
              [](const LotDraw& a, const LotDraw& b) { return a.lot_id < b.lot_id; });
    return draws;
}

Result<std::vector<LotDraw>> PlanRedemption(const std::vector<Lot>& lots, int64_t points,
                                            Timestamp now) {
    if (points <= 0) {
        return MakeError(ErrorCode::kInvalidArgument, "points must be a positive whole number",
                         "points");
    }
    const std::vector<const Lot*> ordered = SpendableLots(lots, now);
    int64_t available = 0;
    for (const Lot* lot : ordered) {
        // Compared before adding, so a huge lot cannot overflow the running sum.
        if (lot->remaining >= points - available) {
            available = points;
            break;
        }
        available += lot->remaining;
    }
    if (available < points) {
        return MakeError(ErrorCode::kInsufficientPoints,
                         "not enough points: " + std::to_string(points) + " asked, " +
                             std::to_string(available) + " available");
    }
    return Draw(ordered, points);
}

Result<RefundPlan> PlanRefund(const RefundInput& input) {
    if (input.amount <= 0) {
        return MakeError(ErrorCode::kInvalidArgument, "amount must be a positive whole number",
                         "amount");
    }
    if (input.purchase_total < 0 || input.purchase_points < 0 || input.refunded_before < 0 ||
        input.owed_before < 0 || input.purchase_expired < 0 || input.expired_before < 0 ||
        input.expired_before > input.purchase_expired) {
        return MakeError(ErrorCode::kInternal, "refund input holds an impossible amount or count");
    }
    int64_t refunded_after = 0;
    if (__builtin_add_overflow(input.refunded_before, input.amount, &refunded_after) ||
        refunded_after > input.purchase_total) {
        return MakeError(ErrorCode::kRuleViolation,
                         "refunds would exceed the purchase total of " +
                             std::to_string(input.purchase_total) + " (already refunded " +
                             std::to_string(input.refunded_before) + ")");
    }
    RefundPlan plan;
    if (input.purchase_total == 0 || input.purchase_points == 0) return plan;

    // Cumulative share: floor(P * R / T) in total after this refund, so rounding never lets
    // partial refunds add up to more than P, and the last one brings the total to exactly P.
    const auto owed_total_after = static_cast<int64_t>(
        static_cast<__int128>(input.purchase_points) * refunded_after / input.purchase_total);
    plan.points_owed = std::max<int64_t>(0, owed_total_after - input.owed_before);
    if (plan.points_owed == 0) return plan;
    // Expired points were taken by the expiry: counted, never reversed a second time.
    plan.points_expired = std::min(plan.points_owed, input.purchase_expired - input.expired_before);
    const int64_t to_reverse = plan.points_owed - plan.points_expired;
    if (to_reverse == 0) return plan;

    std::vector<const Lot*> ordered = SpendableLots(input.lots, input.now);
    if (input.own_lot_id != 0) {
        // The purchase's own lot goes first, if it is still open.
        const auto own = std::find_if(ordered.begin(), ordered.end(), [&](const Lot* lot) {
            return lot->lot_id == input.own_lot_id;
        });
        if (own != ordered.end()) std::rotate(ordered.begin(), own, own + 1);
    }
    plan.draws = Draw(ordered, to_reverse);
    plan.points_reversed = SumOfDraws(plan.draws);
    plan.points_unrecovered = to_reverse - plan.points_reversed;
    return plan;
}

int64_t SumOfEntries(const std::vector<LedgerEntry>& entries) {
    int64_t sum = 0;
    for (const LedgerEntry& e : entries) sum += e.delta;
    return sum;
}

}  // namespace kizuna::core
