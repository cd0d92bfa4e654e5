#include "core/redemption_limits.hpp"

#include <chrono>

#include "core/limits.hpp"

namespace kizuna::core {

namespace {

constexpr std::size_t kMaxNonAcceptingStores = 1000;

Error Refused(RedemptionLimit limit, std::string message) {
    return MakeError(ErrorCode::kRedemptionLimit, std::move(message),
                     std::string(RedemptionLimitName(limit)));
}

Timestamp StartOf(std::chrono::year_month ym) {
    return std::chrono::time_point_cast<Timestamp::duration>(
        std::chrono::sys_days(ym / std::chrono::day(1)));
}

std::chrono::year_month MonthOf(Timestamp t) {
    const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(t)};
    return ymd.year() / ymd.month();
}

}  // namespace

std::string_view RedemptionLimitName(RedemptionLimit limit) {
    switch (limit) {
        case RedemptionLimit::kPerTransaction:
            return "per_transaction";
        case RedemptionLimit::kPerMemberMonth:
            return "per_member_month";
        case RedemptionLimit::kMinimumBalance:
            return "minimum_balance";
        case RedemptionLimit::kStoreDoesNotAccept:
            return "store_does_not_accept";
    }
    return "per_transaction";
}

Status ValidateRedemptionLimits(const RedemptionLimits& limits) {
    const auto cap = [](const std::optional<int64_t>& value, std::string_view field) -> Status {
        if (value && (*value < 1 || *value > kMaxRedeemPoints)) {
            return InvalidField(field, "must be a whole number from 1 to " +
                                           std::to_string(kMaxRedeemPoints) +
                                           ", or null for no limit");
        }
        return Status::Ok();
    };
    KZ_RETURN_IF_ERROR(cap(limits.per_transaction, "per_transaction"));
    KZ_RETURN_IF_ERROR(cap(limits.per_member_month, "per_member_month"));
    if (limits.minimum_balance < 0 || limits.minimum_balance > kMaxBalance) {
        return InvalidField("minimum_balance",
                            "must be a whole number from 0 to " + std::to_string(kMaxBalance));
    }
    if (limits.non_accepting_stores.size() > kMaxNonAcceptingStores) {
        return InvalidField("non_accepting_stores", "must name at most 1000 stores");
    }
    for (const std::string& store : limits.non_accepting_stores) {
        if (store.empty()) {
            return InvalidField("non_accepting_stores", "must not hold an empty store id");
        }
    }
    return Status::Ok();
}

Status CheckRedemptionLimits(const RedemptionLimits& limits, const RedemptionAttempt& attempt) {
    if (limits.non_accepting_stores.contains(attempt.store_id)) {
        return Refused(RedemptionLimit::kStoreDoesNotAccept,
                       "this store issues the program's points but does not accept them");
    }
    if (limits.per_transaction && attempt.points > *limits.per_transaction) {
        return Refused(RedemptionLimit::kPerTransaction,
                       "at most " + std::to_string(*limits.per_transaction) +
                           " points may be redeemed at once; " + std::to_string(attempt.points) +
                           " asked");
    }
    if (attempt.balance < limits.minimum_balance) {
        return Refused(RedemptionLimit::kMinimumBalance,
                       "points can be spent from a balance of " +
                           std::to_string(limits.minimum_balance) + "; the balance is " +
                           std::to_string(attempt.balance));
    }
    if (limits.per_member_month) {
        const int64_t left =
            std::max<int64_t>(0, *limits.per_member_month - attempt.redeemed_this_month);
        if (attempt.points > left) {
            return Refused(RedemptionLimit::kPerMemberMonth,
                           "at most " + std::to_string(*limits.per_member_month) +
                               " points may be redeemed per member per month (UTC); " +
                               std::to_string(left) + " left this month, " +
                               std::to_string(attempt.points) + " asked");
        }
    }
    return Status::Ok();
}

Timestamp MonthStart(Timestamp t) { return StartOf(MonthOf(t)); }

Timestamp NextMonthStart(Timestamp t) { return StartOf(MonthOf(t) + std::chrono::months(1)); }

}  // namespace kizuna::core
