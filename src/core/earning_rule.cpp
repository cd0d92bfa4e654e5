#include "core/earning_rule.hpp"

#include <algorithm>

#include "core/limits.hpp"
#include "core/purchase.hpp"
#include "core/text.hpp"

namespace kizuna::core {

namespace {

constexpr int kMinValidityDays = 1;
constexpr int kMaxValidityDays = 3650;
constexpr std::size_t kMaxCategoryChars = 100;
constexpr std::size_t kMaxBonusWindows = 100;

}  // namespace

std::string_view RoundingName(Rounding r) {
    switch (r) {
        case Rounding::kFloor:
            return "floor";
        case Rounding::kCeil:
            return "ceil";
        case Rounding::kNearest:
            return "nearest";
    }
    return "floor";
}

Result<Rounding> ParseRounding(std::string_view text, std::string_view field) {
    for (const Rounding r : {Rounding::kFloor, Rounding::kCeil, Rounding::kNearest}) {
        if (text == RoundingName(r)) return r;
    }
    return InvalidField(field, "must be \"floor\", \"ceil\" or \"nearest\"");
}

EarningRule DefaultEarningRule(std::string store_id, Timestamp effective_from) {
    EarningRule rule;
    rule.store_id = std::move(store_id);
    rule.version = 1;
    rule.effective_from = effective_from;
    rule.amount_per_point = 100;
    rule.rounding = Rounding::kFloor;
    rule.validity_days = 365;
    return rule;
}

Status ValidateEarningRule(const EarningRule& rule) {
    if (rule.amount_per_point <= 0 || rule.amount_per_point > kMaxAmountPerPoint) {
        return InvalidField("amount_per_point", "must be a whole number from 1 to " +
                                                    std::to_string(kMaxAmountPerPoint));
    }
    switch (rule.rounding) {
        case Rounding::kFloor:
        case Rounding::kCeil:
        case Rounding::kNearest:
            break;
        default:
            return InvalidField("rounding", "must be \"floor\", \"ceil\" or \"nearest\"");
    }
    for (const auto& [category, multiplier] : rule.category_multipliers_milli) {
        const std::string field = "category_multipliers." + category;
        // The category is a key here: an empty or blank one is a bad key, not a missing field.
        if (Trim(category).empty()) {
            return InvalidField("category_multipliers",
                                "must not have an empty or blank category name as a key");
        }
        KZ_RETURN_IF_ERROR(CheckText(category, "category_multipliers", 1, kMaxCategoryChars));
        if (multiplier < 0 || multiplier > kMaxMultiplierMilli) {
            return InvalidField(field, "must be between 0 and 100");
        }
    }
    if (rule.bonus_windows.size() > kMaxBonusWindows) {
        return InvalidField("bonus_windows", "must hold at most 100 windows");
    }
    for (std::size_t i = 0; i < rule.bonus_windows.size(); ++i) {
        const BonusWindow& w = rule.bonus_windows[i];
        const std::string prefix = "bonus_windows[" + std::to_string(i) + "]";
        if (!(w.start < w.end)) return InvalidField(prefix + ".end", "must be after start");
        if (w.multiplier_milli < 0 || w.multiplier_milli > kMaxMultiplierMilli) {
            return InvalidField(prefix + ".multiplier", "must be between 0 and 100");
        }
    }
    if (rule.validity_days < kMinValidityDays || rule.validity_days > kMaxValidityDays) {
        return InvalidField("validity_days", "must be between 1 and 3650");
    }
    return Status::Ok();
}

const EarningRule* RuleInEffect(const std::vector<EarningRule>& versions, Timestamp at) {
    // Versions are ordered by (effective_from, version): a later version set for the same
    // moment supersedes an earlier one.
    const auto before = [](const EarningRule* a, const EarningRule& b) {
        return a->effective_from < b.effective_from ||
               (a->effective_from == b.effective_from && a->version < b.version);
    };
    const EarningRule* latest_started = nullptr;
    const EarningRule* earliest = nullptr;
    for (const EarningRule& rule : versions) {
        if (rule.effective_from <= at && (!latest_started || before(latest_started, rule))) {
            latest_started = &rule;
        }
        // The earliest moment, and at that moment the version that wins.
        if (!earliest || rule.effective_from < earliest->effective_from ||
            (rule.effective_from == earliest->effective_from && earliest->version < rule.version)) {
            earliest = &rule;
        }
    }
    return latest_started ? latest_started : earliest;
}

Result<int64_t> ComputePoints(const EarningRule& rule, const std::vector<PurchaseLine>& lines,
                              Timestamp occurred_at) {
    if (rule.amount_per_point <= 0) return int64_t{0};
    // In 128 bits with every step checked: valid lines total at most 10^12 and the multipliers
    // are at most 10^5 thousandths each, so the numerator stays below 10^23, far inside; the
    // checks keep a change of those limits from wrapping silently.
    const auto too_large = [] {
        return MakeError(ErrorCode::kRuleViolation,
                         "the purchase would earn more than " +
                             std::to_string(kMaxPointsPerPurchase) +
                             " points; check the quantities, prices and the store's multipliers",
                         "lines");
    };
    __int128 weighted = 0;
    for (const PurchaseLine& line : lines) {
        __int128 amount = 0;
        if (__builtin_mul_overflow(static_cast<__int128>(line.quantity), line.unit_price,
                                   &amount)) {
            return too_large();
        }
        int64_t multiplier = kMultiplierOne;
        if (const auto it = rule.category_multipliers_milli.find(line.category);
            it != rule.category_multipliers_milli.end()) {
            multiplier = it->second;
        }
        __int128 line_weighted = 0;
        if (__builtin_mul_overflow(amount, multiplier, &line_weighted) ||
            __builtin_add_overflow(weighted, line_weighted, &weighted)) {
            return too_large();
        }
    }
    int64_t bonus = kMultiplierOne;
    bool in_window = false;
    for (const BonusWindow& w : rule.bonus_windows) {
        if (w.start <= occurred_at && occurred_at < w.end) {
            bonus = in_window ? std::max(bonus, w.multiplier_milli) : w.multiplier_milli;
            in_window = true;
        }
    }
    __int128 numerator = 0;
    if (__builtin_mul_overflow(weighted, bonus, &numerator)) return too_large();
    if (numerator <= 0) return int64_t{0};
    const __int128 denominator =
        static_cast<__int128>(kMultiplierOne) * kMultiplierOne * rule.amount_per_point;
    __int128 points = 0;
    switch (rule.rounding) {
        case Rounding::kFloor:
            points = numerator / denominator;
            break;
        case Rounding::kCeil:
            points = (numerator + denominator - 1) / denominator;
            break;
        // Half up, which for a non-negative amount is half away from zero.
        case Rounding::kNearest:
            points = (2 * numerator + denominator) / (2 * denominator);
            break;
    }
    if (points > kMaxPointsPerPurchase) return too_large();
    return static_cast<int64_t>(points);
}

}  // namespace kizuna::core
