#pragma once
// The points ledger: append-only entries whose sum is the balance (invariant 1), and lots, the
// earned points with their expiry. Everything here plans; storage applies the plan in one
// transaction. Redemption spends the lots that expire first.
//
// Refund policy (documented in README, tested in ledger_test):
// - A refund reverses points in proportion to the amount refunded, cumulatively: after
//   refunds totalling R of a purchase of total T that earned P points, floor(P * R / T) points
//   are owed back in all, so partial refunds never reverse more than was earned and a full
//   refund reverses exactly P.
// - The owed points come first from the purchase's own lot, then from the member's other lots
//   in the program, soonest-expiring first.
// - If the member has already spent them, the balance never goes negative: the refund reverses
//   what is there and books the rest as `points_unrecovered`, reported in the answer and kept
//   on the refund, for the store to settle in money if it wishes.
// - Points of the purchase that expired are gone: the expiry already took them from the
//   balance, so a refund never takes them again. Of a refund's share, as much as the purchase
//   has expired and earlier refunds have not yet counted is `points_expired`, reported and kept
//   on the refund, with no entry booked; only the rest is reversed (or unrecovered) as above.
//   Expired points count first, in the member's favour: which of a lot's points were spent and
//   which expired cannot be told apart.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class EntryKind { kEarn, kRedeem, kExpire, kRefundReversal, kAdjustment };
std::string_view EntryKindName(
    EntryKind k);  // "earn", "redeem", "expire", "refund_reversal", "adjustment"
Result<EntryKind> ParseEntryKind(std::string_view text);

struct LedgerEntry {
    int64_t entry_id = 0;  // assigned by storage, increasing
    std::string member_id;
    std::string program_id;
    std::string store_id;  // the store that caused it; empty for the hub's expiry pass
    int64_t delta = 0;     // + earn, - redeem / expire / reversal
    EntryKind kind = EntryKind::kEarn;
    std::string ref;  // purchase, redemption or refund id; lot id for expiry
    Timestamp occurred_at{};
    std::string note;  // why it exists, in words, e.g. "1,980 JPY at Shibuya Books"
    // When the hub booked it (its clock): the settlement period it counts in (core/settlement).
    // Unset (the epoch) means occurred_at; entries stored before it existed read as occurred_at.
    Timestamp recorded_at{};
    std::string terminal_id{};  // the till that caused it; empty: the store's key or the hub
    std::string staff_id{};     // who was at the till; empty: nobody identified
};

struct Lot {
    int64_t lot_id = 0;  // assigned by storage
    std::string member_id;
    std::string program_id;
    std::string store_id;
    std::string purchase_id;  // the purchase that earned it
    int64_t earned = 0;
    int64_t remaining = 0;
    Timestamp earned_at{};
    Timestamp expires_at{};
};

// Points taken from one lot.
struct LotDraw {
    int64_t lot_id = 0;
    int64_t points = 0;
    friend bool operator==(const LotDraw&, const LotDraw&) = default;
};

// Expiry pass: every lot with remaining > 0 and expires_at <= now is drawn to zero.
std::vector<LotDraw> PlanExpiry(const std::vector<Lot>& lots, Timestamp now);

// Draws `points` from lots not expired at `now`, soonest expires_at first, ties by lot_id.
// Errors: kInvalidArgument when points <= 0; kInsufficientPoints when the lots hold fewer.
Result<std::vector<LotDraw>> PlanRedemption(const std::vector<Lot>& lots, int64_t points,
                                            Timestamp now);

struct RefundInput {
    int64_t purchase_total = 0;
    int64_t purchase_points = 0;   // points the purchase earned
    int64_t refunded_before = 0;   // amount refunded by earlier refunds
    int64_t owed_before = 0;       // points reversed + unrecovered + expired of earlier refunds
    int64_t purchase_expired = 0;  // points of the purchase's lot that expired, in all
    int64_t expired_before = 0;    // of those, counted as expired by earlier refunds
    int64_t amount = 0;            // this refund's amount
    int64_t own_lot_id = 0;        // the purchase's lot, 0 if it earned none
    std::vector<Lot> lots;         // the member's open lots in the program
    Timestamp now{};
};

struct RefundPlan {
    int64_t points_owed = 0;         // this refund's share
    int64_t points_expired = 0;      // of the share, points that had expired: nothing booked
    int64_t points_reversed = 0;     // sum of draws
    int64_t points_unrecovered = 0;  // owed - expired - reversed
    std::vector<LotDraw> draws;
};

// Errors: kInvalidArgument when amount <= 0; kRuleViolation when refunded_before + amount
// exceeds the purchase total; kInternal for negative counts or expired_before > purchase_expired.
Result<RefundPlan> PlanRefund(const RefundInput& input);

// Sum of deltas; what the stored balance must equal.
int64_t SumOfEntries(const std::vector<LedgerEntry>& entries);

}  // namespace kizuna::core
