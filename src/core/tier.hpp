#pragma once
// Tiers (issue 19): a program's levels (e.g. Regular, Silver, Gold), each with an earning
// multiplier, reached by a member's rolling 12-month value in the program: net spend (purchase
// totals less refunds) or points earned by purchases, whichever the program chose.
//
// Up at once, down only at the period's end. The tier period is the calendar year in UTC. A
// member's level is the highest of:
// - the level their value over the last 12 months (365 days) reaches now;
// - the level their value reached at the start of this period (1 January, 00:00 UTC), which they
//   keep for the whole year;
// - the highest level they reached by a purchase earlier in this period (kept by the ledger as
//   the held tier), which they keep to the period's end.
// So a purchase that crosses a threshold raises the level for the very next purchase, and a level
// falls only when a new year starts and the last 12 months no longer reach it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/earning_rule.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class TierBasis { kSpend, kPoints };
std::string_view TierBasisName(TierBasis basis);  // "spend" / "points"
Result<TierBasis> ParseTierBasis(std::string_view text, std::string_view field);

struct Tier {
    std::string name;
    int64_t threshold = 0;  // value needed, in minor currency units (spend) or points
    int64_t multiplier_milli = kMultiplierOne;
    friend bool operator==(const Tier&, const Tier&) = default;
};

// No tiers: the program has none, and everybody earns at 1x.
struct TierSchedule {
    TierBasis basis = TierBasis::kSpend;
    std::vector<Tier> tiers;  // thresholds strictly increasing, the first 0
    friend bool operator==(const TierSchedule&, const TierSchedule&) = default;
};

// 1..20 tiers, names 1..50 characters and distinct, the first threshold 0, then strictly
// increasing up to kMaxBalance, multipliers 1x..100x (1000..kMaxMultiplierMilli).
// Errors: kInvalidArgument naming the field (tiers[i].name, ...).
Status ValidateTierSchedule(const TierSchedule& schedule);

// How far back the value counts: the rolling 12 months.
inline constexpr std::chrono::days kTierWindow{365};
// The first instant of the tier period (calendar year, UTC) holding `t`, and of the next one.
Timestamp TierPeriodStart(Timestamp t);
Timestamp TierPeriodEnd(Timestamp t);

// The level a member reached by a purchase in the period starting at period_start.
struct HeldTier {
    std::string name;
    Timestamp period_start{};
};

struct TierStanding {
    std::size_t level = 0;  // index into the schedule's tiers
    std::string name;
    int64_t multiplier_milli = kMultiplierOne;
    int64_t value = 0;       // the rolling 12-month value now
    Timestamp held_until{};  // the period's end: the level holds at least until then
    std::string next_name;   // empty at the top tier
    int64_t remaining = 0;   // value still needed for next_name (0 at the top)
};

// The index of the highest tier whose threshold `value` reaches (0 for a valid schedule).
std::size_t TierLevelFor(const TierSchedule& schedule, int64_t value);

// The member's standing at `now` (see the file comment). `value_now` is the value over
// (now - kTierWindow, now], `value_at_period_start` over the window ending at the period's start;
// `held` counts only if its period_start is this period's and its name is still a tier.
// `schedule` must be valid and non-empty.
TierStanding StandingOf(const TierSchedule& schedule, int64_t value_now,
                        int64_t value_at_period_start, const std::optional<HeldTier>& held,
                        Timestamp now);

// A purchase's points earned at a tier: floor(points x multiplier), on the points the store's rule
// computed. Errors: kRuleViolation naming "lines" past kMaxPointsPerPurchase.
Result<int64_t> ApplyTierMultiplier(int64_t points, int64_t multiplier_milli);

}  // namespace kizuna::core
