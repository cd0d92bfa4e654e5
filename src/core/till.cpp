#include "core/till.hpp"

#include <algorithm>

#include "core/limits.hpp"

namespace kizuna::core {

std::string_view StaffRoleName(StaffRole role) {
    return role == StaffRole::kManager ? "manager" : "clerk";
}

Result<StaffRole> ParseStaffRole(std::string_view text, std::string_view field) {
    if (text == "clerk") return StaffRole::kClerk;
    if (text == "manager") return StaffRole::kManager;
    return MakeError(ErrorCode::kInvalidArgument, "role must be clerk or manager",
                     std::string(field));
}

Status ValidatePin(std::string_view pin, std::string_view field) {
    const bool digits =
        std::all_of(pin.begin(), pin.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (pin.size() < 4 || pin.size() > 12 || !digits) {
        return MakeError(ErrorCode::kInvalidArgument, "a PIN is 4 to 12 digits",
                         std::string(field));
    }
    return Status::Ok();
}

Status ValidateTillSettings(const TillSettings& s) {
    if (s.max_sale_total < 1 || s.max_sale_total > kMaxPurchaseTotal) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "max_sale_total must be from 1 to " + std::to_string(kMaxPurchaseTotal),
                         "max_sale_total");
    }
    if (s.max_points_per_sale < 0 || s.max_points_per_sale > kMaxPointsPerPurchase) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "max_points_per_sale must be from 0 to " + std::to_string(kMaxPointsPerPurchase),
            "max_points_per_sale");
    }
    if (s.manager_refund_above < 0 || s.manager_refund_above > kMaxPurchaseTotal) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "manager_refund_above must be from 0 to " + std::to_string(kMaxPurchaseTotal),
            "manager_refund_above");
    }
    if (s.utc_offset_minutes < -14 * 60 || s.utc_offset_minutes > 14 * 60) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "utc_offset_minutes must be from -840 to 840 (UTC-14:00 to UTC+14:00)",
                         "utc_offset_minutes");
    }
    return Status::Ok();
}

BusinessDay BusinessDayOf(Timestamp t, int utc_offset_minutes) {
    const std::chrono::minutes offset(utc_offset_minutes);
    const auto local_day = std::chrono::floor<std::chrono::days>(t + offset);
    BusinessDay day;
    day.start =
        Timestamp(std::chrono::duration_cast<std::chrono::seconds>(local_day.time_since_epoch())) -
        offset;
    day.end = day.start + std::chrono::days(1);
    day.date = FormatDate(std::chrono::year_month_day(local_day));
    return day;
}

Result<BusinessDay> BusinessDayOfDate(std::string_view date, int utc_offset_minutes,
                                      std::string_view field) {
    KZ_ASSIGN_OR_RETURN(auto ymd, ParseDate(date, field));
    const std::chrono::sys_days local_day(ymd);
    const Timestamp start =
        Timestamp(std::chrono::duration_cast<std::chrono::seconds>(local_day.time_since_epoch())) -
        std::chrono::minutes(utc_offset_minutes);
    return BusinessDayOf(start, utc_offset_minutes);
}

Status CheckOccurredAt(Timestamp occurred_at, Timestamp card_issued_at, Timestamp now,
                       int utc_offset_minutes, PurchaseOrigin origin) {
    if (occurred_at > now + kMaxFutureSkew) {
        return MakeError(ErrorCode::kRuleViolation,
                         "occurred_at is more than 5 minutes in the future; check the clock",
                         "occurred_at");
    }
    // A store node's offline sale is checked at the node (the card's signature and the
    // revocation list it holds); the card may even have been issued there offline, and the hub
    // records such a card when the node pushes it, after the sales made with it.
    if (origin == PurchaseOrigin::kTill && occurred_at < card_issued_at) {
        return MakeError(ErrorCode::kRuleViolation,
                         "occurred_at (" + FormatRfc3339(occurred_at) +
                             ") is before the member's card was issued (" +
                             FormatRfc3339(card_issued_at) + "); no points for it",
                         "occurred_at");
    }
    if (origin == PurchaseOrigin::kTill) {
        const BusinessDay today = BusinessDayOf(now, utc_offset_minutes);
        if (occurred_at < today.start) {
            return MakeError(ErrorCode::kRuleViolation,
                             "occurred_at is before the current business day (" + today.date +
                                 "); earlier sales reach the hub only through the store "
                                 "node's sync",
                             "occurred_at");
        }
    }
    return Status::Ok();
}

Status CheckSaleLimits(const TillSettings& settings, int64_t total, int64_t points_earned,
                       int64_t points_used, bool manager_approved) {
    if (manager_approved) return Status::Ok();
    if (total > settings.max_sale_total) {
        return MakeError(ErrorCode::kRuleViolation,
                         "the sale total " + std::to_string(total) +
                             " is above the store's max_sale_total of " +
                             std::to_string(settings.max_sale_total) +
                             "; a manager's PIN (Kizuna-Staff) may approve it",
                         "max_sale_total");
    }
    const int64_t points = std::max(points_earned, points_used);
    if (points > settings.max_points_per_sale) {
        return MakeError(ErrorCode::kRuleViolation,
                         std::string(points_used > points_earned ? "using " : "earning ") +
                             std::to_string(points) +
                             " points is above the store's max_points_per_sale of " +
                             std::to_string(settings.max_points_per_sale) +
                             "; a manager's PIN (Kizuna-Staff) may approve it",
                         "max_points_per_sale");
    }
    return Status::Ok();
}

int64_t PointsValue(int64_t points) { return points; }

int64_t PointsWorth(int64_t amount) { return std::max<int64_t>(0, amount); }

int64_t PointsOnAmountPaid(int64_t points_on_lines, int64_t total, int64_t amount_due) {
    if (total <= 0 || amount_due <= 0 || points_on_lines <= 0) return 0;
    if (amount_due >= total) return points_on_lines;
    const __int128 scaled = static_cast<__int128>(points_on_lines) * amount_due / total;
    return static_cast<int64_t>(scaled);
}

}  // namespace kizuna::core
