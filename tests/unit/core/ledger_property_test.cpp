// Randomized checks of the ledger plans: for many generated cases the invariants hold, not just
// for the hand-picked examples in ledger_test.cpp. The generator is seeded, so a failure repeats.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/ledger.hpp"
#include "fake_random.hpp"

namespace kizuna::core {
namespace {

using std::chrono::hours;
const Timestamp kNow = FromUnixSeconds(1'800'000'000);

std::vector<Lot> RandomLots(testing::FakeRandom& random, int count) {
    std::vector<Lot> lots;
    for (int i = 0; i < count; ++i) {
        Lot lot;
        lot.lot_id = static_cast<int64_t>(random.Uniform(1000)) + 1;
        lot.remaining = static_cast<int64_t>(random.Uniform(50));
        lot.earned = lot.remaining + static_cast<int64_t>(random.Uniform(20));
        // Some expired, some expiring at the same moment, some later.
        lot.expires_at = kNow + hours(static_cast<int64_t>(random.Uniform(6)) - 2);
        lots.push_back(lot);
    }
    // Storage assigns distinct ids.
    std::sort(lots.begin(), lots.end(),
              [](const Lot& a, const Lot& b) { return a.lot_id < b.lot_id; });
    for (std::size_t i = 0; i < lots.size(); ++i) lots[i].lot_id = static_cast<int64_t>(i) * 7 + 1;
    return lots;
}

int64_t Spendable(const std::vector<Lot>& lots) {
    int64_t sum = 0;
    for (const Lot& lot : lots) {
        if (lot.expires_at > kNow) sum += lot.remaining;
    }
    return sum;
}

// Checks that draws name existing unexpired lots, at most once each, within what they hold.
void ExpectDrawsFit(const std::vector<Lot>& lots, const std::vector<LotDraw>& draws) {
    std::map<int64_t, const Lot*> by_id;
    for (const Lot& lot : lots) by_id[lot.lot_id] = &lot;
    std::map<int64_t, int> seen;
    for (const LotDraw& d : draws) {
        ASSERT_TRUE(by_id.count(d.lot_id)) << d.lot_id;
        const Lot& lot = *by_id[d.lot_id];
        EXPECT_GT(d.points, 0);
        EXPECT_LE(d.points, lot.remaining);
        EXPECT_GT(lot.expires_at, kNow);
        EXPECT_EQ(++seen[d.lot_id], 1);
    }
}

TEST(LedgerProperty, RedemptionDrawsExactlyThePointsInExpiryOrder) {
    testing::FakeRandom random(2026);
    for (int round = 0; round < 500; ++round) {
        const std::vector<Lot> lots = RandomLots(random, static_cast<int>(random.Uniform(8)));
        const int64_t points = static_cast<int64_t>(random.Uniform(200)) + 1;
        auto plan = PlanRedemption(lots, points, kNow);
        if (points > Spendable(lots)) {
            ASSERT_FALSE(plan.has_value());
            EXPECT_EQ(plan.error().code, ErrorCode::kInsufficientPoints);
            continue;
        }
        ASSERT_TRUE(plan.has_value());
        ExpectDrawsFit(lots, *plan);
        int64_t sum = 0;
        for (const LotDraw& d : *plan) sum += d.points;
        EXPECT_EQ(sum, points);
        // Every lot drawn before the last is drawn to zero, and no lot expiring sooner than a
        // drawn one is left with points.
        std::map<int64_t, const Lot*> by_id;
        for (const Lot& lot : lots) by_id[lot.lot_id] = &lot;
        for (std::size_t i = 0; i + 1 < plan->size(); ++i) {
            EXPECT_EQ((*plan)[i].points, by_id[(*plan)[i].lot_id]->remaining);
        }
        if (!plan->empty()) {
            const Lot& last = *by_id[plan->back().lot_id];
            for (const Lot& lot : lots) {
                const bool drawn = std::any_of(plan->begin(), plan->end(), [&](const LotDraw& d) {
                    return d.lot_id == lot.lot_id;
                });
                if (drawn || lot.remaining == 0 || lot.expires_at <= kNow) continue;
                EXPECT_TRUE(lot.expires_at > last.expires_at ||
                            (lot.expires_at == last.expires_at && lot.lot_id > last.lot_id))
                    << "lot " << lot.lot_id << " should have been spent before " << last.lot_id;
            }
        }
    }
}

TEST(LedgerProperty, RefundSequencesOweFloorShareAndFullRefundOwesAllPoints) {
    testing::FakeRandom random(77);
    for (int round = 0; round < 500; ++round) {
        const int64_t total = static_cast<int64_t>(random.Uniform(100'000)) + 1;
        const int64_t points = static_cast<int64_t>(random.Uniform(2'000));
        std::vector<Lot> lots = RandomLots(random, static_cast<int>(random.Uniform(6)));
        // Some rounds: part of the purchase's points expired before the refunds.
        const int64_t purchase_expired =
            random.Uniform(2) == 0 ? 0 : static_cast<int64_t>(random.Uniform(points + 1));
        int64_t refunded = 0;
        int64_t owed = 0;
        int64_t expired = 0;
        while (refunded < total) {
            const int64_t left = total - refunded;
            const int64_t amount =
                random.Uniform(3) == 0 ? left : static_cast<int64_t>(random.Uniform(left)) + 1;
            RefundInput in;
            in.purchase_total = total;
            in.purchase_points = points;
            in.refunded_before = refunded;
            in.owed_before = owed;
            in.purchase_expired = purchase_expired;
            in.expired_before = expired;
            in.amount = amount;
            in.own_lot_id = lots.empty() ? 0 : lots[random.Uniform(lots.size())].lot_id;
            in.lots = lots;
            in.now = kNow;
            auto plan = PlanRefund(in);
            ASSERT_TRUE(plan.has_value()) << plan.error().message;
            ExpectDrawsFit(lots, plan->draws);
            EXPECT_GE(plan->points_owed, 0);
            EXPECT_GE(plan->points_unrecovered, 0);
            EXPECT_GE(plan->points_expired, 0);
            EXPECT_EQ(plan->points_expired + plan->points_reversed + plan->points_unrecovered,
                      plan->points_owed);
            // Expired points count first, and never more of them than expired.
            EXPECT_EQ(plan->points_expired,
                      std::min(plan->points_owed, purchase_expired - expired));
            // The purchase's own lot, when it can still give points, is drawn first.
            const bool own_open = std::any_of(lots.begin(), lots.end(), [&](const Lot& lot) {
                return lot.lot_id == in.own_lot_id && lot.remaining > 0 && lot.expires_at > kNow;
            });
            if (own_open && plan->points_owed > plan->points_expired) {
                ASSERT_FALSE(plan->draws.empty());
                EXPECT_EQ(plan->draws.front().lot_id, in.own_lot_id);
            }
            int64_t drawn = 0;
            for (const LotDraw& d : plan->draws) {
                drawn += d.points;
                for (Lot& lot : lots) {
                    if (lot.lot_id == d.lot_id) lot.remaining -= d.points;
                }
            }
            EXPECT_EQ(drawn, plan->points_reversed);
            // Reverses as much as it can: either everything owed, or every spendable point.
            if (plan->points_unrecovered > 0) {
                EXPECT_EQ(Spendable(lots), 0);
            }
            refunded += amount;
            owed += plan->points_owed;
            expired += plan->points_expired;
            EXPECT_EQ(owed, static_cast<int64_t>(static_cast<__int128>(points) * refunded / total));
        }
        EXPECT_EQ(owed, points);
        EXPECT_EQ(expired, purchase_expired);  // a full refund counts every expired point once
        RefundInput more;
        more.purchase_total = total;
        more.purchase_points = points;
        more.refunded_before = refunded;
        more.owed_before = owed;
        more.amount = 1;
        auto over = PlanRefund(more);
        ASSERT_FALSE(over.has_value());
        EXPECT_EQ(over.error().code, ErrorCode::kRuleViolation);
    }
}

TEST(LedgerProperty, ExpiryDrainsExactlyTheExpiredPoints) {
    testing::FakeRandom random(5);
    for (int round = 0; round < 200; ++round) {
        const std::vector<Lot> lots = RandomLots(random, static_cast<int>(random.Uniform(8)));
        int64_t expired = 0;
        for (const Lot& lot : lots) {
            if (lot.expires_at <= kNow) expired += lot.remaining;
        }
        int64_t drawn = 0;
        for (const LotDraw& d : PlanExpiry(lots, kNow)) drawn += d.points;
        EXPECT_EQ(drawn, expired);
    }
}

}  // namespace
}  // namespace kizuna::core
