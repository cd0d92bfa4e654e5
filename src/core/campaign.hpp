#pragma once
// Campaign points (issue 19): bonus points an operator or a store grants from a campaign's
// budget. Each grant is a lot like any other, expiring validity_days after the grant (usually
// sooner than purchase lots, so redemption spends it first), booked as an `adjustment` entry whose
// ref names the campaign and the grant. The budget is never exceeded: the check below runs inside
// the write that books the grant.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ledger.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

struct Campaign {
    std::string campaign_id;
    std::string program_id;
    std::string name;
    int64_t budget_points = 0;
    int64_t granted_points = 0;  // granted so far; never above budget_points
    int validity_days = 30;      // a grant's lot expires this many days after it
    std::string store_id;        // the store that created it; empty: the operator
    Timestamp created_at{};
    friend bool operator==(const Campaign&, const Campaign&) = default;
};

struct CampaignGrant {
    std::string campaign_id;
    std::string grant_id;  // the client's idempotency key, unique in the campaign
    std::string member_id;
    int64_t points = 0;
    int64_t lot_id = 0;
    int64_t balance_after = 0;
    std::string granted_by;  // "operator" or "store:<id>"
    Timestamp granted_at{};
    Timestamp expires_at{};
    friend bool operator==(const CampaignGrant&, const CampaignGrant&) = default;
};

// Name 1..100 characters, budget 1..kMaxBalance, validity 1..3650 days.
// Errors: kInvalidArgument naming the field.
Status ValidateNewCampaign(const Campaign& campaign);

// Whether `points` (1..kMaxRedeemPoints) fit in what is left of the budget.
// Errors: kInvalidArgument naming "points"; kRuleViolation naming "points" with what is left.
Status CheckGrantWithinBudget(const Campaign& campaign, int64_t points);

// The lot a grant books: `points`, from `now` to now + validity_days; no purchase.
Lot CampaignLot(const Campaign& campaign, const std::string& member_id, int64_t points,
                Timestamp now);

// The ledger entry's ref of a grant, "campaign:<campaign_id>:<grant_id>", so history says which.
std::string CampaignEntryRef(std::string_view campaign_id, std::string_view grant_id);

}  // namespace kizuna::core
