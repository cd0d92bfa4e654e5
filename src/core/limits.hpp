#pragma once
// Every bound on an amount, quantity, multiplier or points count, in one place. Each is far
// beyond any real sale and far below int64 overflow, so that arithmetic on accepted values is
// exact. Input beyond a bound is refused naming the field (kInvalidArgument, HTTP 400); a result
// that would pass one (points a purchase earns, a balance) is refused too (kRuleViolation, 422),
// never stored saturated. README ("Points") and openapi.json state the same numbers.

#include <cstddef>
#include <cstdint>

namespace kizuna::core {

inline constexpr std::size_t kMaxLinesPerPurchase = 500;
inline constexpr int64_t kMaxLineQuantity = 100'000;
inline constexpr int64_t kMaxUnitPrice = 10'000'000'000;  // minor units
// A purchase's total, and so also a line's amount and a refund's amount: 10^12 minor units.
inline constexpr int64_t kMaxPurchaseTotal = 1'000'000'000'000;
inline constexpr int64_t kMaxAmountPerPoint = 1'000'000'000;  // minor units per point
// Category and bonus multipliers, each, in thousandths: 0 to 100x.
inline constexpr int64_t kMaxMultiplierMilli = 100'000;
// Points one purchase may earn, and one redemption spend: 10^12.
inline constexpr int64_t kMaxPointsPerPurchase = 1'000'000'000'000;
inline constexpr int64_t kMaxRedeemPoints = kMaxPointsPerPurchase;
// A member's balance in one program: 10^15 points.
inline constexpr int64_t kMaxBalance = 1'000'000'000'000'000;

}  // namespace kizuna::core
