#pragma once
// A store's earning rule (the seed's service rule, [0029], [0034]): how many points a purchase
// earns. Versioned: each change is a new version effective from the moment it was set; a
// purchase earns by the version in effect at the time it occurred, so a store node offline
// and the hub compute the same points.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class Rounding { kFloor, kCeil, kNearest };  // kNearest: half away from zero
std::string_view RoundingName(Rounding r);        // "floor" / "ceil" / "nearest"
Result<Rounding> ParseRounding(std::string_view text, std::string_view field);

// Multipliers are fixed-point thousandths so that 1.5x is exact: 1500.
inline constexpr int64_t kMultiplierOne = 1000;

struct BonusWindow {
    Timestamp start{};
    Timestamp end{};  // exclusive
    int64_t multiplier_milli = kMultiplierOne;

    friend bool operator==(const BonusWindow&, const BonusWindow&) = default;
};

struct EarningRule {
    std::string store_id;
    int version = 1;
    Timestamp effective_from{};
    int64_t amount_per_point = 100;  // minor currency units per point, > 0
    Rounding rounding = Rounding::kFloor;
    std::map<std::string, int64_t> category_multipliers_milli;  // category -> multiplier
    std::vector<BonusWindow> bonus_windows;
    int validity_days = 365;  // lots expire this many days after the purchase; 1..3650

    friend bool operator==(const EarningRule&, const EarningRule&) = default;
};

// The rule of a new store: 1 point per 100, floor, no multipliers, 365 days.
EarningRule DefaultEarningRule(std::string store_id, Timestamp effective_from);

// Checks ranges (amount_per_point 1..kMaxAmountPerPoint, multipliers 0..100x, windows
// start < end, validity 1..3650). Errors: kInvalidArgument naming the field.
Status ValidateEarningRule(const EarningRule& rule);

// Of a store's versions (any order), the one in effect at `at`: the latest with
// effective_from <= at, or the earliest when `at` precedes them all. Null if empty.
const EarningRule* RuleInEffect(const std::vector<EarningRule>& versions, Timestamp at);

struct PurchaseLine;  // purchase.hpp

// Points for a purchase: sum over lines of amount x category multiplier, times the largest
// bonus multiplier among windows containing `occurred_at`, divided by amount_per_point and
// rounded once at the end. Never negative. Exact, never saturated: more than
// kMaxPointsPerPurchase (core/limits.hpp) is kRuleViolation naming "lines".
Result<int64_t> ComputePoints(const EarningRule& rule, const std::vector<PurchaseLine>& lines,
                              Timestamp occurred_at);

}  // namespace kizuna::core
