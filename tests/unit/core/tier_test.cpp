#include "core/tier.hpp"

#include <gtest/gtest.h>

namespace kizuna::core {
namespace {

TierSchedule ThreeTiers() {
    return TierSchedule{TierBasis::kSpend,
                        {{"Regular", 0, 1000}, {"Silver", 50'000, 1500}, {"Gold", 200'000, 2000}}};
}

Timestamp At(const char* text) { return *ParseRfc3339(text, "t"); }

TEST(Tier, LevelIsTheHighestThresholdReached) {
    const TierSchedule s = ThreeTiers();
    EXPECT_EQ(TierLevelFor(s, 0), 0u);
    EXPECT_EQ(TierLevelFor(s, 49'999), 0u);
    EXPECT_EQ(TierLevelFor(s, 50'000), 1u);
    EXPECT_EQ(TierLevelFor(s, 10'000'000), 2u);
}

TEST(Tier, UpAtOnceWithWhatIsLeftToTheNext) {
    const Timestamp now = At("2026-06-15T10:00:00Z");
    const TierStanding regular = StandingOf(ThreeTiers(), 30'000, 0, std::nullopt, now);
    EXPECT_EQ(regular.name, "Regular");
    EXPECT_EQ(regular.next_name, "Silver");
    EXPECT_EQ(regular.remaining, 20'000);
    const TierStanding silver = StandingOf(ThreeTiers(), 60'000, 0, std::nullopt, now);
    EXPECT_EQ(silver.name, "Silver");
    EXPECT_EQ(silver.multiplier_milli, 1500);
    EXPECT_EQ(silver.next_name, "Gold");
    EXPECT_EQ(silver.remaining, 140'000);
    const TierStanding gold = StandingOf(ThreeTiers(), 300'000, 0, std::nullopt, now);
    EXPECT_EQ(gold.next_name, "");
    EXPECT_EQ(gold.remaining, 0);
}

TEST(Tier, DownOnlyAtThePeriodsEnd) {
    const Timestamp now = At("2026-09-01T00:00:00Z");
    // Gold reached in March; the rolling value fell since: still Gold this year.
    const HeldTier held{"Gold", TierPeriodStart(now)};
    const TierStanding kept = StandingOf(ThreeTiers(), 10'000, 0, held, now);
    EXPECT_EQ(kept.name, "Gold");
    EXPECT_EQ(FormatRfc3339(kept.held_until), "2027-01-01T00:00:00Z");
    // Next year the held level (of last period) no longer counts: the value at the new period's
    // start decides.
    const Timestamp next_year = At("2027-02-01T00:00:00Z");
    EXPECT_EQ(StandingOf(ThreeTiers(), 10'000, 60'000, held, next_year).name, "Silver");
    EXPECT_EQ(StandingOf(ThreeTiers(), 10'000, 10'000, held, next_year).name, "Regular");
}

TEST(Tier, HeldTierNoLongerInTheScheduleIsIgnored) {
    const Timestamp now = At("2026-09-01T00:00:00Z");
    const TierStanding s =
        StandingOf(ThreeTiers(), 0, 0, HeldTier{"Platinum", TierPeriodStart(now)}, now);
    EXPECT_EQ(s.name, "Regular");
}

TEST(Tier, PeriodIsTheUtcCalendarYear) {
    EXPECT_EQ(FormatRfc3339(TierPeriodStart(At("2026-12-31T23:59:59Z"))), "2026-01-01T00:00:00Z");
    EXPECT_EQ(FormatRfc3339(TierPeriodEnd(At("2026-01-01T00:00:00Z"))), "2027-01-01T00:00:00Z");
}

TEST(Tier, MultiplierScalesPointsDownToWholePoints) {
    EXPECT_EQ(*ApplyTierMultiplier(15, 1500), 22);
    EXPECT_EQ(*ApplyTierMultiplier(15, 1000), 15);
    EXPECT_EQ(*ApplyTierMultiplier(0, 2000), 0);
    EXPECT_EQ(ApplyTierMultiplier(900'000'000'000, 2000).error().code, ErrorCode::kRuleViolation);
}

TEST(Tier, ValidationNamesTheField) {
    TierSchedule s = ThreeTiers();
    EXPECT_TRUE(ValidateTierSchedule(s).ok());
    s.tiers[0].threshold = 10;
    EXPECT_EQ(ValidateTierSchedule(s).error().field, "tiers[0].threshold");
    s = ThreeTiers();
    s.tiers[2].threshold = 50'000;
    EXPECT_EQ(ValidateTierSchedule(s).error().field, "tiers[2].threshold");
    s = ThreeTiers();
    s.tiers[1].name = "Gold";
    EXPECT_EQ(ValidateTierSchedule(s).error().field, "tiers[2].name");
    s = ThreeTiers();
    s.tiers[1].multiplier_milli = 500;
    EXPECT_EQ(ValidateTierSchedule(s).error().field, "tiers[1].multiplier");
    EXPECT_EQ(ParseTierBasis("visits", "basis").error().field, "basis");
}

}  // namespace
}  // namespace kizuna::core
