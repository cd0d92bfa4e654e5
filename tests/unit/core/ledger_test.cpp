#include "core/ledger.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace kizuna::core {
namespace {

using std::chrono::hours;
const Timestamp kNow = FromUnixSeconds(1'800'000'000);

Lot MakeLot(int64_t id, int64_t remaining, Timestamp expires_at, int64_t earned = -1) {
    Lot lot;
    lot.lot_id = id;
    lot.member_id = "1000000009";
    lot.program_id = "pg_x";
    lot.earned = earned < 0 ? remaining : earned;
    lot.remaining = remaining;
    lot.earned_at = kNow - hours(24);
    lot.expires_at = expires_at;
    return lot;
}

TEST(Ledger, RedeemSpendsSoonestExpiringLotsFirst) {
    const std::vector<Lot> lots = {MakeLot(1, 50, kNow + hours(300)),
                                   MakeLot(2, 30, kNow + hours(100)),
                                   MakeLot(3, 40, kNow + hours(200))};
    auto plan = PlanRedemption(lots, 60, kNow);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(*plan, (std::vector<LotDraw>{{2, 30}, {3, 30}}));
}

TEST(Ledger, RedeemBreaksExpiryTiesByLotId) {
    const std::vector<Lot> lots = {MakeLot(9, 10, kNow + hours(5)),
                                   MakeLot(4, 10, kNow + hours(5))};
    auto plan = PlanRedemption(lots, 15, kNow);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(*plan, (std::vector<LotDraw>{{4, 10}, {9, 5}}));
}

TEST(Ledger, RedeemSkipsExpiredAndEmptyLots) {
    const std::vector<Lot> lots = {MakeLot(1, 100, kNow), MakeLot(2, 0, kNow + hours(1)),
                                   MakeLot(3, 20, kNow + hours(2))};
    auto plan = PlanRedemption(lots, 20, kNow);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(*plan, (std::vector<LotDraw>{{3, 20}}));
}

TEST(Ledger, RedeemMoreThanUnexpiredPointsIsInsufficient) {
    const std::vector<Lot> lots = {MakeLot(1, 100, kNow - hours(1)),
                                   MakeLot(2, 20, kNow + hours(2))};
    auto plan = PlanRedemption(lots, 21, kNow);
    ASSERT_FALSE(plan.has_value());
    EXPECT_EQ(plan.error().code, ErrorCode::kInsufficientPoints);
    EXPECT_TRUE(PlanRedemption(lots, 20, kNow).has_value());
}

TEST(Ledger, RedeemNonPositivePointsIsInvalid) {
    const std::vector<Lot> lots = {MakeLot(1, 10, kNow + hours(1))};
    for (const int64_t points : {0, -5}) {
        auto plan = PlanRedemption(lots, points, kNow);
        ASSERT_FALSE(plan.has_value());
        EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(plan.error().field, "points");
    }
}

TEST(Ledger, RedeemHandlesHugeLotsWithoutOverflow) {
    const int64_t big = std::numeric_limits<int64_t>::max() - 1;
    const std::vector<Lot> lots = {MakeLot(1, big, kNow + hours(1)),
                                   MakeLot(2, big, kNow + hours(2))};
    auto plan = PlanRedemption(lots, big, kNow);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(*plan, (std::vector<LotDraw>{{1, big}}));
}

TEST(Ledger, ExpiryDrainsLotsAtOrPastTheirExpiry) {
    const std::vector<Lot> lots = {MakeLot(3, 10, kNow), MakeLot(1, 5, kNow - hours(1)),
                                   MakeLot(2, 7, kNow + std::chrono::seconds(1)),
                                   MakeLot(4, 0, kNow - hours(5))};
    EXPECT_EQ(PlanExpiry(lots, kNow), (std::vector<LotDraw>{{1, 5}, {3, 10}}));
    EXPECT_TRUE(PlanExpiry({}, kNow).empty());
}

RefundInput Refund(int64_t total, int64_t points, int64_t before, int64_t owed_before,
                   int64_t amount, std::vector<Lot> lots, int64_t own_lot = 1) {
    RefundInput in;
    in.purchase_total = total;
    in.purchase_points = points;
    in.refunded_before = before;
    in.owed_before = owed_before;
    in.amount = amount;
    in.own_lot_id = own_lot;
    in.lots = std::move(lots);
    in.now = kNow;
    return in;
}

TEST(Ledger, RefundsPartialTwiceThenFullSumToExactlyThePoints) {
    // Purchase 1000 earned 7 points: shares 7*333/1000=2.331, 7*666/1000=4.662, 7.
    std::vector<Lot> lots = {MakeLot(1, 7, kNow + hours(100))};
    int64_t refunded = 0;
    int64_t owed = 0;
    int64_t reversed_total = 0;
    for (const int64_t amount : {333, 333, 334}) {
        auto plan = PlanRefund(Refund(1000, 7, refunded, owed, amount, lots));
        ASSERT_TRUE(plan.has_value()) << plan.error().message;
        EXPECT_EQ(plan->points_unrecovered, 0);
        EXPECT_EQ(plan->points_reversed, plan->points_owed);
        for (const LotDraw& d : plan->draws) lots[0].remaining -= d.points;
        refunded += amount;
        owed += plan->points_owed;
        reversed_total += plan->points_reversed;
        if (refunded == 333) {
            EXPECT_EQ(owed, 2);
        } else if (refunded == 666) {
            EXPECT_EQ(owed, 4);
        }
    }
    EXPECT_EQ(owed, 7);
    EXPECT_EQ(reversed_total, 7);
    EXPECT_EQ(lots[0].remaining, 0);
}

TEST(Ledger, RefundDrawsOwnLotFirstThenSoonestExpiring) {
    const std::vector<Lot> lots = {MakeLot(1, 5, kNow + hours(10)),
                                   MakeLot(2, 3, kNow + hours(300)),  // own lot, latest expiry
                                   MakeLot(3, 10, kNow + hours(20))};
    auto plan = PlanRefund(Refund(1000, 10, 0, 0, 1000, lots, 2));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->points_owed, 10);
    EXPECT_EQ(plan->draws, (std::vector<LotDraw>{{2, 3}, {1, 5}, {3, 2}}));
    EXPECT_EQ(plan->points_reversed, 10);
    EXPECT_EQ(plan->points_unrecovered, 0);
}

TEST(Ledger, RefundOfSpentPointsBooksUnrecoveredAndNeverGoesNegative) {
    // The purchase earned 10, the member spent all but 4 of everything.
    const std::vector<Lot> lots = {MakeLot(1, 0, kNow + hours(100), 10),
                                   MakeLot(5, 4, kNow + hours(50)),
                                   MakeLot(6, 9, kNow - hours(1))};  // expired: not usable
    auto plan = PlanRefund(Refund(2000, 10, 0, 0, 2000, lots));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->points_owed, 10);
    EXPECT_EQ(plan->points_reversed, 4);
    EXPECT_EQ(plan->points_unrecovered, 6);
    EXPECT_EQ(plan->draws, (std::vector<LotDraw>{{5, 4}}));
}

TEST(Ledger, RefundWithNoPointsLeftReversesNothing) {
    auto plan = PlanRefund(Refund(2000, 10, 0, 0, 1000, {}));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->points_owed, 5);
    EXPECT_EQ(plan->points_reversed, 0);
    EXPECT_EQ(plan->points_unrecovered, 5);
    EXPECT_TRUE(plan->draws.empty());
}

TEST(Ledger, RefundBeyondThePurchaseTotalIsARuleViolation) {
    const std::vector<Lot> lots = {MakeLot(1, 10, kNow + hours(1))};
    auto over = PlanRefund(Refund(1000, 10, 600, 6, 401, lots));
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error().code, ErrorCode::kRuleViolation);
    EXPECT_TRUE(PlanRefund(Refund(1000, 10, 600, 6, 400, lots)).has_value());
    auto overflow = PlanRefund(Refund(1000, 10, 600, 6, std::numeric_limits<int64_t>::max(), lots));
    ASSERT_FALSE(overflow.has_value());
    EXPECT_EQ(overflow.error().code, ErrorCode::kRuleViolation);
}

TEST(Ledger, RefundOfNonPositiveAmountIsInvalid) {
    auto zero = PlanRefund(Refund(1000, 10, 0, 0, 0, {}));
    ASSERT_FALSE(zero.has_value());
    EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(zero.error().field, "amount");
    EXPECT_FALSE(PlanRefund(Refund(1000, 10, 0, 0, -1, {})).has_value());
}

TEST(Ledger, RefundOfPurchaseWithoutPointsOwesNothing) {
    const std::vector<Lot> lots = {MakeLot(7, 50, kNow + hours(1))};
    auto plan = PlanRefund(Refund(1000, 0, 0, 0, 500, lots, 0));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->points_owed, 0);
    EXPECT_TRUE(plan->draws.empty());
    auto free_purchase = PlanRefund(Refund(0, 0, 0, 0, 1, lots, 0));
    ASSERT_FALSE(free_purchase.has_value());  // nothing to refund of a 0 total
    EXPECT_EQ(free_purchase.error().code, ErrorCode::kRuleViolation);
}

TEST(Ledger, RefundSmallerThanOnePointOwesNothingUntilItAddsUp) {
    const std::vector<Lot> lots = {MakeLot(1, 1, kNow + hours(1))};
    // 1 point for 150: refunding 100 owes floor(100/150) = 0; then 50 more owes 1.
    auto first = PlanRefund(Refund(150, 1, 0, 0, 100, lots));
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->points_owed, 0);
    auto second = PlanRefund(Refund(150, 1, 100, 0, 50, lots));
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->points_owed, 1);
}

TEST(Ledger, RefundNeverOwesNegativeWhenEarlierRefundsOwedMore) {
    // owed_before larger than the cumulative share (e.g. an operator adjustment): clamp at 0.
    auto plan = PlanRefund(Refund(1000, 10, 0, 9, 500, {MakeLot(1, 10, kNow + hours(1))}));
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->points_owed, 0);
    EXPECT_EQ(plan->points_reversed, 0);
    EXPECT_EQ(plan->points_unrecovered, 0);
}

// Issue 15, defect 1: the purchase's 300 points expired (the expiry took them from the balance)
// and a full refund took 300 more from another lot. Expired points are counted, never reversed.
TEST(Ledger, RefundAfterThePurchasesPointsExpiredReversesNothingOfThem) {
    RefundInput in = Refund(300, 300, 0, 0, 300,
                            {MakeLot(1, 0, kNow - hours(1), 300),  // own lot, expired and drained
                             MakeLot(2, 999, kNow + hours(100), 1000)});
    in.purchase_expired = 300;
    auto plan = PlanRefund(in);
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_EQ(plan->points_owed, 300);
    EXPECT_EQ(plan->points_expired, 300);
    EXPECT_EQ(plan->points_reversed, 0);
    EXPECT_EQ(plan->points_unrecovered, 0);
    EXPECT_TRUE(plan->draws.empty());
}

// Half refunded before the expiry (150 reversed from the lot), the other 150 expired: the second
// half's share is all expired.
TEST(Ledger, RefundAfterAPartialRefundAndExpiryCountsOnlyTheExpiredRest) {
    const std::vector<Lot> others = {MakeLot(2, 1000, kNow + hours(100))};
    RefundInput second = Refund(300, 300, 150, 150, 150, others);
    second.purchase_expired = 150;
    auto plan = PlanRefund(second);
    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->points_expired, 150);
    EXPECT_EQ(plan->points_reversed, 0);
}

// 100 of 300 spent, then 200 expired. The first half refund is counted against the expired
// points; the second half: the 50 expired not counted yet, then 100 reversed from other lots.
TEST(Ledger, RepeatedRefundsAfterSpendingAndExpiryCountExpiredPointsOnce) {
    const std::vector<Lot> others = {MakeLot(2, 1000, kNow + hours(100))};
    RefundInput first = Refund(300, 300, 0, 0, 150, others);
    first.purchase_expired = 200;
    auto one = PlanRefund(first);
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(one->points_owed, 150);
    EXPECT_EQ(one->points_expired, 150);
    EXPECT_EQ(one->points_reversed, 0);

    RefundInput second = Refund(300, 300, 150, 150, 150, others);
    second.purchase_expired = 200;
    second.expired_before = 150;
    auto two = PlanRefund(second);
    ASSERT_TRUE(two.has_value());
    EXPECT_EQ(two->points_owed, 150);
    EXPECT_EQ(two->points_expired, 50);
    EXPECT_EQ(two->points_reversed, 100);
    EXPECT_EQ(two->draws, (std::vector<LotDraw>{{2, 100}}));

    RefundInput impossible = second;
    impossible.expired_before = 201;
    EXPECT_EQ(PlanRefund(impossible).error().code, ErrorCode::kInternal);
}

TEST(Ledger, SumOfEntriesIsTheBalance) {
    std::vector<LedgerEntry> entries(3);
    entries[0].delta = 100;
    entries[1].delta = -30;
    entries[2].delta = -20;
    EXPECT_EQ(SumOfEntries(entries), 50);
    EXPECT_EQ(SumOfEntries({}), 0);
}

}  // namespace
}  // namespace kizuna::core
