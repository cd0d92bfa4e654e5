#include "core/tier.hpp"

#include <algorithm>
#include <set>

#include "core/limits.hpp"
#include "core/text.hpp"

namespace kizuna::core {

namespace {

constexpr std::size_t kMaxTiers = 20;
constexpr std::size_t kMaxTierNameChars = 50;

Timestamp YearStart(std::chrono::year y) {
    return std::chrono::time_point_cast<Timestamp::duration>(
        std::chrono::sys_days(y / std::chrono::January / 1));
}

std::chrono::year YearOf(Timestamp t) {
    return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t)}.year();
}

}  // namespace

std::string_view TierBasisName(TierBasis basis) {
    return basis == TierBasis::kPoints ? "points" : "spend";
}

Result<TierBasis> ParseTierBasis(std::string_view text, std::string_view field) {
    if (text == "spend") return TierBasis::kSpend;
    if (text == "points") return TierBasis::kPoints;
    return InvalidField(field, "must be \"spend\" or \"points\"");
}

Status ValidateTierSchedule(const TierSchedule& schedule) {
    if (schedule.tiers.size() > kMaxTiers) return InvalidField("tiers", "must hold at most 20");
    std::set<std::string> names;
    for (std::size_t i = 0; i < schedule.tiers.size(); ++i) {
        const Tier& tier = schedule.tiers[i];
        const std::string prefix = "tiers[" + std::to_string(i) + "]";
        KZ_RETURN_IF_ERROR(CheckText(tier.name, prefix + ".name", 1, kMaxTierNameChars));
        if (!names.insert(tier.name).second) {
            return InvalidField(prefix + ".name", "must differ from the other tiers' names");
        }
        if (i == 0 && tier.threshold != 0) {
            return InvalidField(prefix + ".threshold",
                                "must be 0: the first tier is where every member starts");
        }
        if (i > 0 && tier.threshold <= schedule.tiers[i - 1].threshold) {
            return InvalidField(prefix + ".threshold", "must be above the previous tier's");
        }
        if (tier.threshold > kMaxBalance) {
            return InvalidField(prefix + ".threshold",
                                "must be at most " + std::to_string(kMaxBalance));
        }
        if (tier.multiplier_milli < kMultiplierOne || tier.multiplier_milli > kMaxMultiplierMilli) {
            return InvalidField(prefix + ".multiplier", "must be between 1 and 100");
        }
    }
    return Status::Ok();
}

Timestamp TierPeriodStart(Timestamp t) { return YearStart(YearOf(t)); }

Timestamp TierPeriodEnd(Timestamp t) { return YearStart(YearOf(t) + std::chrono::years(1)); }

std::size_t TierLevelFor(const TierSchedule& schedule, int64_t value) {
    std::size_t level = 0;
    for (std::size_t i = 0; i < schedule.tiers.size(); ++i) {
        if (value >= schedule.tiers[i].threshold) level = i;
    }
    return level;
}

TierStanding StandingOf(const TierSchedule& schedule, int64_t value_now,
                        int64_t value_at_period_start, const std::optional<HeldTier>& held,
                        Timestamp now) {
    std::size_t level =
        std::max(TierLevelFor(schedule, value_now), TierLevelFor(schedule, value_at_period_start));
    if (held && held->period_start == TierPeriodStart(now)) {
        for (std::size_t i = 0; i < schedule.tiers.size(); ++i) {
            if (schedule.tiers[i].name == held->name) level = std::max(level, i);
        }
    }
    TierStanding standing;
    standing.level = level;
    standing.name = schedule.tiers[level].name;
    standing.multiplier_milli = schedule.tiers[level].multiplier_milli;
    standing.value = value_now;
    standing.held_until = TierPeriodEnd(now);
    if (level + 1 < schedule.tiers.size()) {
        const Tier& next = schedule.tiers[level + 1];
        standing.next_name = next.name;
        standing.remaining = std::max<int64_t>(1, next.threshold - value_now);
    }
    return standing;
}

Result<int64_t> ApplyTierMultiplier(int64_t points, int64_t multiplier_milli) {
    if (points <= 0 || multiplier_milli <= 0) return int64_t{0};
    const __int128 scaled = static_cast<__int128>(points) * multiplier_milli / kMultiplierOne;
    if (scaled > kMaxPointsPerPurchase) {
        return MakeError(ErrorCode::kRuleViolation,
                         "the purchase would earn more than " +
                             std::to_string(kMaxPointsPerPurchase) +
                             " points at the member's tier; check the quantities and prices",
                         "lines");
    }
    return static_cast<int64_t>(scaled);
}

}  // namespace kizuna::core
