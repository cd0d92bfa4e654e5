#include "core/till.hpp"

#include <gtest/gtest.h>

namespace kizuna::core {
namespace {

namespace chr = std::chrono;

Timestamp Utc(int y, unsigned m, unsigned d, int hh, int mm, int ss = 0) {
    return chr::sys_days{chr::year{y} / chr::month{m} / chr::day{d}} + chr::hours{hh} +
           chr::minutes{mm} + chr::seconds{ss};
}

constexpr int kJapan = 540;

TEST(Till, BusinessDayFollowsTheStoresClock) {
    // 23:30 UTC on the 6th is 08:30 on the 7th in Japan.
    const BusinessDay jp = BusinessDayOf(Utc(2026, 12, 6, 23, 30), kJapan);
    EXPECT_EQ(jp.date, "2026-12-07");
    EXPECT_EQ(jp.start, Utc(2026, 12, 6, 15, 0));
    EXPECT_EQ(jp.end, Utc(2026, 12, 7, 15, 0));
    const BusinessDay utc = BusinessDayOf(Utc(2026, 12, 6, 23, 30), 0);
    EXPECT_EQ(utc.date, "2026-12-06");
    EXPECT_EQ(utc.start, Utc(2026, 12, 6, 0, 0));
    const BusinessDay west = BusinessDayOf(Utc(2026, 12, 7, 2, 0), -300);  // UTC-5
    EXPECT_EQ(west.date, "2026-12-06");
    EXPECT_EQ(west.start, Utc(2026, 12, 6, 5, 0));
    auto named = BusinessDayOfDate("2026-12-07", kJapan, "date");
    ASSERT_TRUE(named.has_value());
    EXPECT_EQ(named->start, jp.start);
    EXPECT_EQ(named->end, jp.end);
    EXPECT_EQ(BusinessDayOfDate("2026-13-01", 0, "date").error().field, "date");
}

TEST(Till, OccurredAtBeforeTheCardWasIssuedIsRefused) {
    const Timestamp issued = Utc(2026, 12, 7, 10, 0);
    const Timestamp now = Utc(2026, 12, 7, 12, 0);
    auto before = CheckOccurredAt(Utc(2020, 1, 1, 10, 0), issued, now, 0, PurchaseOrigin::kTill);
    ASSERT_FALSE(before.ok());
    EXPECT_EQ(before.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(before.error().field, "occurred_at");
    // The node's sync path is checked at the node: a card it issued offline reaches the hub
    // (and gets its issue time there) only after the sales made with it.
    EXPECT_TRUE(
        CheckOccurredAt(issued - chr::seconds(1), issued, now, 0, PurchaseOrigin::kNodeSync).ok());
    EXPECT_TRUE(CheckOccurredAt(issued, issued, now, 0, PurchaseOrigin::kTill).ok());
}

TEST(Till, OccurredAtUpToFiveMinutesAheadIsAccepted) {
    const Timestamp issued = Utc(2026, 1, 1, 0, 0);
    const Timestamp now = Utc(2026, 12, 7, 12, 0);
    EXPECT_TRUE(CheckOccurredAt(now + chr::minutes(5), issued, now, 0, PurchaseOrigin::kTill).ok());
    EXPECT_FALSE(CheckOccurredAt(now + chr::minutes(5) + chr::seconds(1), issued, now, 0,
                                 PurchaseOrigin::kTill)
                     .ok());
    EXPECT_FALSE(
        CheckOccurredAt(now + chr::minutes(6), issued, now, 0, PurchaseOrigin::kNodeSync).ok());
}

TEST(Till, OlderThanTodayOnlyThroughTheNodeSync) {
    const Timestamp issued = Utc(2026, 1, 1, 0, 0);
    const Timestamp now = Utc(2026, 12, 7, 1, 0);  // 10:00 in Japan
    const Timestamp yesterday = Utc(2026, 12, 6, 10, 0);
    auto till = CheckOccurredAt(yesterday, issued, now, 0, PurchaseOrigin::kTill);
    ASSERT_FALSE(till.ok());
    EXPECT_EQ(till.error().field, "occurred_at");
    EXPECT_TRUE(CheckOccurredAt(yesterday, issued, now, 0, PurchaseOrigin::kNodeSync).ok());
    // 16:00 UTC on the 6th is 01:00 on the 7th in Japan: today there, yesterday in UTC.
    const Timestamp late = Utc(2026, 12, 6, 16, 0);
    EXPECT_TRUE(CheckOccurredAt(late, issued, now, kJapan, PurchaseOrigin::kTill).ok());
    EXPECT_FALSE(CheckOccurredAt(late, issued, now, 0, PurchaseOrigin::kTill).ok());
    EXPECT_TRUE(
        CheckOccurredAt(Utc(2026, 12, 7, 0, 0), issued, now, 0, PurchaseOrigin::kTill).ok());
}

TEST(Till, SaleLimitsNameTheLimitAndAManagerLiftsThem) {
    const TillSettings defaults;
    EXPECT_EQ(defaults.max_sale_total, 10'000'000);
    EXPECT_EQ(defaults.max_points_per_sale, 100'000);
    EXPECT_TRUE(CheckSaleLimits(defaults, 10'000'000, 100'000, 0, false).ok());
    auto total = CheckSaleLimits(defaults, 500'000'000'000, 5'000'000'000, 0, false);
    ASSERT_FALSE(total.ok());
    EXPECT_EQ(total.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(total.error().field, "max_sale_total");
    auto earned = CheckSaleLimits(defaults, 1000, 100'001, 0, false);
    ASSERT_FALSE(earned.ok());
    EXPECT_EQ(earned.error().field, "max_points_per_sale");
    auto used = CheckSaleLimits(defaults, 1'000'000, 0, 100'001, false);
    ASSERT_FALSE(used.ok());
    EXPECT_EQ(used.error().field, "max_points_per_sale");
    EXPECT_NE(used.error().message.find("using"), std::string::npos);
    EXPECT_TRUE(CheckSaleLimits(defaults, 500'000'000'000, 5'000'000'000, 0, true).ok());
}

TEST(Till, PointsAreEarnedOnTheAmountPaid) {
    EXPECT_EQ(PointsOnAmountPaid(10, 1000, 1000), 10);
    EXPECT_EQ(PointsOnAmountPaid(10, 1000, 940), 9);
    EXPECT_EQ(PointsOnAmountPaid(10, 1000, 0), 0);
    EXPECT_EQ(PointsOnAmountPaid(0, 1000, 500), 0);
    // No overflow at the bounds: 10^12 points of a 10^12 total, half paid.
    EXPECT_EQ(PointsOnAmountPaid(1'000'000'000'000, 1'000'000'000'000, 500'000'000'000),
              500'000'000'000);
    EXPECT_EQ(PointsValue(60), 60);
    EXPECT_EQ(PointsWorth(1000), 1000);
}

TEST(Till, PinsAndSettingsAreChecked) {
    EXPECT_TRUE(ValidatePin("1234", "pin").ok());
    EXPECT_FALSE(ValidatePin("123", "pin").ok());
    EXPECT_FALSE(ValidatePin("12a4", "pin").ok());
    EXPECT_FALSE(ValidatePin("1234567890123", "pin").ok());
    TillSettings s;
    s.utc_offset_minutes = 15 * 60;
    EXPECT_EQ(ValidateTillSettings(s).error().field, "utc_offset_minutes");
    s = TillSettings{};
    s.max_sale_total = 0;
    EXPECT_EQ(ValidateTillSettings(s).error().field, "max_sale_total");
    EXPECT_EQ(ParseStaffRole("owner", "role").error().field, "role");
    EXPECT_EQ(*ParseStaffRole("manager", "role"), StaffRole::kManager);
}

}  // namespace
}  // namespace kizuna::core
