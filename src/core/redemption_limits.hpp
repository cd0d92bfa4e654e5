#pragma once
// A program's redemption limits (issue 19): how many points one redemption may spend, how many a
// member may spend in a calendar month, the balance a member must hold before spending any, and
// the stores of the program that issue points but do not accept them. A refusal is
// kRedemptionLimit whose Error::field names the limit ("per_transaction", "per_member_month",
// "minimum_balance", "store_does_not_accept"). Months are calendar months in UTC.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

struct RedemptionLimits {
    std::optional<int64_t> per_transaction;      // most points one redemption spends; none: no cap
    std::optional<int64_t> per_member_month;     // most points a member spends per calendar month
    int64_t minimum_balance = 0;                 // balance needed before any points can be spent
    std::set<std::string> non_accepting_stores;  // issue points, do not accept them

    bool empty() const {
        return !per_transaction && !per_member_month && minimum_balance == 0 &&
               non_accepting_stores.empty();
    }
    friend bool operator==(const RedemptionLimits&, const RedemptionLimits&) = default;
};

enum class RedemptionLimit {
    kPerTransaction,
    kPerMemberMonth,
    kMinimumBalance,
    kStoreDoesNotAccept
};
// "per_transaction", "per_member_month", "minimum_balance", "store_does_not_accept".
std::string_view RedemptionLimitName(RedemptionLimit limit);

// Caps from 1 to kMaxRedeemPoints, minimum balance 0..kMaxBalance, at most 1000 store ids.
// Errors: kInvalidArgument naming the field.
Status ValidateRedemptionLimits(const RedemptionLimits& limits);

// What a redemption would do, as the ledger sees it inside the write.
struct RedemptionAttempt {
    std::string store_id;             // the store redeeming
    int64_t points = 0;               // asked
    int64_t balance = 0;              // the member's balance before it (after due expiries)
    int64_t redeemed_this_month = 0;  // the member's redemptions in the program this month
};

// Checks in this order: store_does_not_accept, per_transaction, minimum_balance,
// per_member_month. Ok when every limit allows it (the balance itself is checked elsewhere).
// Errors: kRedemptionLimit with field = the limit's name and a message saying what is left.
Status CheckRedemptionLimits(const RedemptionLimits& limits, const RedemptionAttempt& attempt);

// The first instant of the UTC calendar month holding `t`, and of the month after it.
Timestamp MonthStart(Timestamp t);
Timestamp NextMonthStart(Timestamp t);

}  // namespace kizuna::core
