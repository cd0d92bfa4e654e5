#include "core/redemption_limits.hpp"

#include <gtest/gtest.h>

namespace kizuna::core {
namespace {

RedemptionAttempt Attempt(int64_t points, int64_t balance, int64_t this_month = 0) {
    return RedemptionAttempt{"st_a", points, balance, this_month};
}

std::string LimitOf(const Status& status) {
    EXPECT_FALSE(status.ok());
    if (status.ok()) return "";
    EXPECT_EQ(status.error().code, ErrorCode::kRedemptionLimit);
    return status.error().field;
}

TEST(RedemptionLimits, NoLimitsAllowEverything) {
    EXPECT_TRUE(CheckRedemptionLimits({}, Attempt(1'000'000, 0)).ok());
    EXPECT_TRUE(RedemptionLimits{}.empty());
}

TEST(RedemptionLimits, PerTransactionCapNamesItself) {
    RedemptionLimits limits;
    limits.per_transaction = 500;
    EXPECT_TRUE(CheckRedemptionLimits(limits, Attempt(500, 1000)).ok());
    EXPECT_EQ(LimitOf(CheckRedemptionLimits(limits, Attempt(501, 1000))), "per_transaction");
}

TEST(RedemptionLimits, MonthlyCapCountsWhatTheMemberRedeemedThisMonth) {
    RedemptionLimits limits;
    limits.per_member_month = 1000;
    EXPECT_TRUE(CheckRedemptionLimits(limits, Attempt(400, 5000, 600)).ok());
    const Status over = CheckRedemptionLimits(limits, Attempt(401, 5000, 600));
    EXPECT_EQ(LimitOf(over), "per_member_month");
    EXPECT_NE(over.error().message.find("400 left"), std::string::npos) << over.error().message;
}

TEST(RedemptionLimits, MinimumBalanceMustBeHeldBeforeSpending) {
    RedemptionLimits limits;
    limits.minimum_balance = 300;
    EXPECT_EQ(LimitOf(CheckRedemptionLimits(limits, Attempt(10, 299))), "minimum_balance");
    EXPECT_TRUE(CheckRedemptionLimits(limits, Attempt(300, 300)).ok());
}

TEST(RedemptionLimits, StoreThatDoesNotAcceptIsRefusedFirst) {
    RedemptionLimits limits;
    limits.non_accepting_stores = {"st_a"};
    limits.per_transaction = 1;
    EXPECT_EQ(LimitOf(CheckRedemptionLimits(limits, Attempt(5, 10))), "store_does_not_accept");
    RedemptionAttempt elsewhere = Attempt(1, 10);
    elsewhere.store_id = "st_b";
    EXPECT_TRUE(CheckRedemptionLimits(limits, elsewhere).ok());
}

TEST(RedemptionLimits, ValidationNamesTheField) {
    RedemptionLimits limits;
    limits.per_transaction = 0;
    EXPECT_EQ(ValidateRedemptionLimits(limits).error().field, "per_transaction");
    limits = {};
    limits.per_member_month = -5;
    EXPECT_EQ(ValidateRedemptionLimits(limits).error().field, "per_member_month");
    limits = {};
    limits.minimum_balance = -1;
    EXPECT_EQ(ValidateRedemptionLimits(limits).error().field, "minimum_balance");
    limits = {};
    limits.non_accepting_stores = {""};
    EXPECT_EQ(ValidateRedemptionLimits(limits).error().field, "non_accepting_stores");
}

TEST(RedemptionLimits, MonthsAreUtcCalendarMonths) {
    const Timestamp t = *ParseRfc3339("2026-12-31T23:59:59Z", "t");
    EXPECT_EQ(FormatRfc3339(MonthStart(t)), "2026-12-01T00:00:00Z");
    EXPECT_EQ(FormatRfc3339(NextMonthStart(t)), "2027-01-01T00:00:00Z");
    const Timestamp first = *ParseRfc3339("2027-02-01T00:00:00Z", "t");
    EXPECT_EQ(MonthStart(first), first);
}

}  // namespace
}  // namespace kizuna::core
