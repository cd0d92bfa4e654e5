#pragma once
// Campaign points (issue 19; core/campaign.hpp): an operator or a store creates a campaign with a
// budget, then grants bonus points from it to members. Each grant is idempotent by its grant id
// within the campaign, and books a lot (expiring validity_days later) and an `adjustment` entry
// naming the campaign, in one unit of work with the budget's check-and-decrement, so concurrent
// grants never pass the budget.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/campaign.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

struct NewCampaign {
    std::string name;
    int64_t budget_points = 0;
    int validity_days = 0;
    std::string program_id;  // the operator names it; a store's is its own (empty or equal)
};

struct GrantRequest {
    std::string grant_id;
    std::string member_id;
    int64_t points = 0;
};

struct GrantReceipt {
    core::CampaignGrant grant;
    int64_t budget_left = 0;  // after this grant (for a replay: as it is now)
    bool replayed = false;
};

struct CampaignView {
    core::Campaign campaign;
    std::vector<core::CampaignGrant> recent_grants;  // newest first, at most 100
};

class CampaignService {
  public:
    explicit CampaignService(HubContext& context) : context_(context) {}

    // The operator (for any program) or a store (for its own). Errors: kForbidden, kNotFound
    // (program), kInvalidArgument naming the field.
    core::Result<core::Campaign> Create(const Caller& caller, const NewCampaign& request);
    // The operator, or a store of the campaign's program. Errors: kNotFound (campaign, member),
    // kInvalidArgument, kIdempotencyConflict (the grant id was used for another member or
    // amount), kRuleViolation (over the budget; a closed member; a balance past the limit).
    core::Result<GrantReceipt> Grant(const Caller& caller, const std::string& campaign_id,
                                     const GrantRequest& request);
    // As Grant's callers. Errors: kNotFound.
    core::Result<CampaignView> Show(const Caller& caller, const std::string& campaign_id);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
