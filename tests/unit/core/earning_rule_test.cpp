#include "core/earning_rule.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "core/purchase.hpp"

namespace kizuna::core {
namespace {

const Timestamp kT0 = FromUnixSeconds(1'800'000'000);

std::vector<PurchaseLine> Lines(std::initializer_list<std::pair<std::string, int64_t>> items) {
    std::vector<PurchaseLine> lines;
    for (const auto& [category, price] : items) {
        lines.push_back(PurchaseLine{"item", "", category, 1, price});
    }
    return lines;
}

TEST(EarningRule, DefaultIsOnePointPerHundredFloor365Days) {
    const EarningRule rule = DefaultEarningRule("st_x", kT0);
    EXPECT_EQ(rule.store_id, "st_x");
    EXPECT_EQ(rule.version, 1);
    EXPECT_EQ(rule.effective_from, kT0);
    EXPECT_EQ(rule.amount_per_point, 100);
    EXPECT_EQ(rule.rounding, Rounding::kFloor);
    EXPECT_TRUE(rule.category_multipliers_milli.empty());
    EXPECT_TRUE(rule.bonus_windows.empty());
    EXPECT_EQ(rule.validity_days, 365);
    EXPECT_TRUE(ValidateEarningRule(rule).ok());
    EXPECT_EQ(*ComputePoints(rule, Lines({{"", 1980}}), kT0), 19);
}

TEST(EarningRule, RoundingModesApplyOnceAtTheEnd) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    // Two lines of 150: per-line rounding would give 1+1 (floor) or 2+2 (ceil); once: 3.
    const auto lines = Lines({{"", 150}, {"", 150}});
    rule.rounding = Rounding::kFloor;
    EXPECT_EQ(*ComputePoints(rule, lines, kT0), 3);
    rule.rounding = Rounding::kCeil;
    EXPECT_EQ(*ComputePoints(rule, lines, kT0), 3);
    const auto odd = Lines({{"", 1949}});
    rule.rounding = Rounding::kFloor;
    EXPECT_EQ(*ComputePoints(rule, odd, kT0), 19);
    rule.rounding = Rounding::kCeil;
    EXPECT_EQ(*ComputePoints(rule, odd, kT0), 20);
    rule.rounding = Rounding::kNearest;
    EXPECT_EQ(*ComputePoints(rule, odd, kT0), 19);
    EXPECT_EQ(*ComputePoints(rule, Lines({{"", 1950}}), kT0), 20);  // half goes up
    EXPECT_EQ(*ComputePoints(rule, Lines({{"", 1951}}), kT0), 20);
    rule.rounding = Rounding::kCeil;
    EXPECT_EQ(*ComputePoints(rule, Lines({{"", 2000}}), kT0), 20);  // exact stays exact
}

TEST(EarningRule, CategoryMultipliersIncludingOneAndAHalf) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.category_multipliers_milli = {{"books", 2000}, {"food", 1500}, {"tobacco", 0}};
    EXPECT_EQ(*ComputePoints(rule, Lines({{"books", 1000}}), kT0), 20);
    EXPECT_EQ(*ComputePoints(rule, Lines({{"food", 1000}}), kT0), 15);
    EXPECT_EQ(*ComputePoints(rule, Lines({{"tobacco", 1000}}), kT0), 0);
    EXPECT_EQ(*ComputePoints(rule, Lines({{"other", 1000}}), kT0), 10);
    // 1.5 x 150 = 225 and 2 x 150 = 300 and 100: 625 / 100 = 6.25 -> 6 (floor).
    EXPECT_EQ(*ComputePoints(rule, Lines({{"food", 150}, {"books", 150}, {"", 100}}), kT0), 6);
}

TEST(EarningRule, QuantityMultipliesTheLineAmount) {
    const EarningRule rule = DefaultEarningRule("s", kT0);
    const std::vector<PurchaseLine> lines = {{"pen", "", "", 7, 150}};
    EXPECT_EQ(*ComputePoints(rule, lines, kT0), 10);  // 1050 / 100
}

TEST(EarningRule, BonusWindowIncludesStartExcludesEnd) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.bonus_windows = {{kT0, kT0 + std::chrono::hours(24), 3000}};
    const auto lines = Lines({{"", 1000}});
    EXPECT_EQ(*ComputePoints(rule, lines, kT0 - std::chrono::seconds(1)), 10);
    EXPECT_EQ(*ComputePoints(rule, lines, kT0), 30);
    EXPECT_EQ(*ComputePoints(rule, lines, kT0 + std::chrono::hours(24) - std::chrono::seconds(1)),
              30);
    EXPECT_EQ(*ComputePoints(rule, lines, kT0 + std::chrono::hours(24)), 10);
}

TEST(EarningRule, OverlappingBonusWindowsTakeTheLargestNotTheProduct) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.bonus_windows = {{kT0, kT0 + std::chrono::hours(10), 2000},
                          {kT0 + std::chrono::hours(5), kT0 + std::chrono::hours(20), 1500}};
    const auto lines = Lines({{"", 1000}});
    EXPECT_EQ(*ComputePoints(rule, lines, kT0 + std::chrono::hours(1)), 20);
    EXPECT_EQ(*ComputePoints(rule, lines, kT0 + std::chrono::hours(6)), 20);
    EXPECT_EQ(*ComputePoints(rule, lines, kT0 + std::chrono::hours(12)), 15);
}

TEST(EarningRule, BonusAndCategoryCombineBeforeRounding) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.category_multipliers_milli = {{"books", 1500}};
    rule.bonus_windows = {{kT0, kT0 + std::chrono::hours(1), 1500}};
    // 199 x 1.5 x 1.5 = 447.75 -> 4 points floor, 5 nearest.
    EXPECT_EQ(*ComputePoints(rule, Lines({{"books", 199}}), kT0), 4);
    rule.rounding = Rounding::kNearest;
    EXPECT_EQ(*ComputePoints(rule, Lines({{"books", 199}}), kT0), 4);
    EXPECT_EQ(*ComputePoints(rule, Lines({{"books", 223}}), kT0), 5);  // 501.75
}

TEST(EarningRule, AmountPerPointOneAndLargeAmountsDoNotOverflow) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.amount_per_point = 1;
    // The largest valid purchase: 10^12 in all.
    const std::vector<PurchaseLine> lines(100, PurchaseLine{"n", "", "x", 1'000, 10'000'000});
    EXPECT_EQ(*ComputePoints(rule, lines, kT0), 1'000'000'000'000);
}

// Issue 15, defect 2: a x100 category multiplier and a x100 bonus window on 500 lines of
// quantity 100000 at 10^10 earned a silently capped 9,223,372,036,854,775,807 points, and every
// later purchase of the member failed to store its balance. Points beyond the limit are refused.
TEST(EarningRule, PointsBeyondThePerPurchaseLimitAreRefusedNotSaturated) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.amount_per_point = 1;
    rule.category_multipliers_milli = {{"x", 100'000}};
    rule.bonus_windows = {{kT0, kT0 + std::chrono::hours(1), 100'000}};
    const std::vector<PurchaseLine> huge(500, PurchaseLine{"n", "", "x", 100'000, 10'000'000'000});
    auto refused = ComputePoints(rule, huge, kT0);
    ASSERT_FALSE(refused.has_value()) << *refused;
    EXPECT_EQ(refused.error().code, ErrorCode::kRuleViolation);
    EXPECT_EQ(refused.error().field, "lines");
    // Within the input limits, the multipliers alone can pass the points limit: refused too.
    const std::vector<PurchaseLine> one(1, PurchaseLine{"n", "", "x", 1'000, 10'000'000});
    EXPECT_EQ(ComputePoints(rule, one, kT0).error().code, ErrorCode::kRuleViolation);
    rule.bonus_windows.clear();
    rule.category_multipliers_milli.clear();
    EXPECT_EQ(*ComputePoints(rule, one, kT0), 10'000'000'000);
}

TEST(EarningRule, NeverNegativeAndZeroForEmptyPurchase) {
    const EarningRule rule = DefaultEarningRule("s", kT0);
    EXPECT_EQ(*ComputePoints(rule, {}, kT0), 0);
    EXPECT_EQ(*ComputePoints(rule, {{"refund", "", "", 1, -5000}}, kT0), 0);
}

TEST(EarningRule, ValidationNamesTheField) {
    const EarningRule good = DefaultEarningRule("s", kT0);
    struct Case {
        std::function<void(EarningRule&)> change;
        std::string field;
    };
    const std::vector<Case> cases = {
        {[](EarningRule& r) { r.amount_per_point = 0; }, "amount_per_point"},
        {[](EarningRule& r) { r.amount_per_point = -1; }, "amount_per_point"},
        {[](EarningRule& r) { r.rounding = static_cast<Rounding>(9); }, "rounding"},
        {[](EarningRule& r) { r.category_multipliers_milli["books"] = 100'001; },
         "category_multipliers.books"},
        {[](EarningRule& r) { r.category_multipliers_milli["books"] = -1; },
         "category_multipliers.books"},
        {[](EarningRule& r) {
             r.bonus_windows = {{kT0, kT0, 2000}};
         },
         "bonus_windows[0].end"},
        {[](EarningRule& r) {
             r.bonus_windows = {{kT0, kT0 + std::chrono::hours(1), 2000},
                                {kT0 + std::chrono::hours(1), kT0, 2000}};
         },
         "bonus_windows[1].end"},
        {[](EarningRule& r) { r.validity_days = 0; }, "validity_days"},
        {[](EarningRule& r) { r.validity_days = 3651; }, "validity_days"},
    };
    for (const Case& c : cases) {
        EarningRule rule = good;
        c.change(rule);
        const Status s = ValidateEarningRule(rule);
        ASSERT_FALSE(s.ok()) << c.field;
        EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(s.error().field, c.field);
    }
    EarningRule edge = good;
    edge.category_multipliers_milli = {{"books", 100'000}, {"tobacco", 0}};
    edge.validity_days = 3650;
    EXPECT_TRUE(ValidateEarningRule(edge).ok());
}

TEST(EarningRule, RuleInEffectPicksLatestStartedVersion) {
    EarningRule v1 = DefaultEarningRule("s", kT0);
    EarningRule v2 = v1;
    v2.version = 2;
    v2.effective_from = kT0 + std::chrono::hours(10);
    v2.amount_per_point = 50;
    EarningRule v3 = v1;
    v3.version = 3;
    v3.effective_from = kT0 + std::chrono::hours(20);
    const std::vector<EarningRule> versions = {v3, v1, v2};  // any order
    EXPECT_EQ(RuleInEffect(versions, kT0)->version, 1);
    EXPECT_EQ(
        RuleInEffect(versions, kT0 + std::chrono::hours(10) - std::chrono::seconds(1))->version, 1);
    EXPECT_EQ(RuleInEffect(versions, kT0 + std::chrono::hours(10))->version, 2);
    EXPECT_EQ(RuleInEffect(versions, kT0 + std::chrono::hours(100))->version, 3);
    // Before every version: the earliest one.
    EXPECT_EQ(RuleInEffect(versions, kT0 - std::chrono::hours(1))->version, 1);
    EXPECT_EQ(RuleInEffect({}, kT0), nullptr);
}

TEST(EarningRule, RuleInEffectPrefersHigherVersionAtTheSameMoment) {
    EarningRule v1 = DefaultEarningRule("s", kT0);
    EarningRule v2 = v1;
    v2.version = 2;
    EXPECT_EQ(RuleInEffect({v2, v1}, kT0)->version, 2);
    EXPECT_EQ(RuleInEffect({v1, v2}, kT0 - std::chrono::hours(1))->version, 2);
}

}  // namespace
}  // namespace kizuna::core

namespace kizuna::core {
namespace {

TEST(EarningRule, PurchaseEarnsByTheVersionInEffectWhenItOccurred) {
    EarningRule v1 = DefaultEarningRule("s", kT0);
    EarningRule v2 = v1;
    v2.version = 2;
    v2.effective_from = kT0 + std::chrono::hours(24);
    v2.amount_per_point = 50;
    v2.category_multipliers_milli = {{"books", 2000}};
    const std::vector<EarningRule> versions = {v1, v2};
    const auto lines = Lines({{"books", 1000}});
    const Timestamp before = kT0 + std::chrono::hours(23);
    const Timestamp after = kT0 + std::chrono::hours(25);
    EXPECT_EQ(*ComputePoints(*RuleInEffect(versions, before), lines, before), 10);
    EXPECT_EQ(*ComputePoints(*RuleInEffect(versions, after), lines, after), 40);
}

TEST(EarningRule, BonusWindowBelowOneLowersPoints) {
    // A window is the multiplier in effect, even below 1x (e.g. a "no points" period at 0).
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.bonus_windows = {{kT0, kT0 + std::chrono::hours(1), 0}};
    EXPECT_EQ(*ComputePoints(rule, Lines({{"", 1000}}), kT0), 0);
    EXPECT_EQ(*ComputePoints(rule, Lines({{"", 1000}}), kT0 + std::chrono::hours(1)), 10);
}

TEST(EarningRule, BonusMultiplierOutOfRangeNamesTheWindow) {
    EarningRule rule = DefaultEarningRule("s", kT0);
    rule.bonus_windows = {{kT0, kT0 + std::chrono::hours(1), 100'001}};
    const Status s = ValidateEarningRule(rule);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().field, "bonus_windows[0].multiplier");
}

}  // namespace
}  // namespace kizuna::core
