#include "core/campaign.hpp"

#include <chrono>

#include "core/limits.hpp"
#include "core/text.hpp"

namespace kizuna::core {

namespace {

constexpr std::size_t kMaxCampaignNameChars = 100;
constexpr int kMaxValidityDays = 3650;

}  // namespace

Status ValidateNewCampaign(const Campaign& campaign) {
    KZ_RETURN_IF_ERROR(CheckText(campaign.name, "name", 1, kMaxCampaignNameChars));
    if (campaign.budget_points < 1 || campaign.budget_points > kMaxBalance) {
        return InvalidField("budget_points",
                            "must be a whole number from 1 to " + std::to_string(kMaxBalance));
    }
    if (campaign.validity_days < 1 || campaign.validity_days > kMaxValidityDays) {
        return InvalidField("validity_days", "must be between 1 and 3650");
    }
    return Status::Ok();
}

Status CheckGrantWithinBudget(const Campaign& campaign, int64_t points) {
    if (points < 1 || points > kMaxRedeemPoints) {
        return InvalidField("points",
                            "must be a whole number from 1 to " + std::to_string(kMaxRedeemPoints));
    }
    const int64_t left = campaign.budget_points - campaign.granted_points;
    if (points > left) {
        return MakeError(ErrorCode::kRuleViolation,
                         "campaign " + campaign.campaign_id + " has " + std::to_string(left) +
                             " points left of its budget of " +
                             std::to_string(campaign.budget_points) + "; cannot grant " +
                             std::to_string(points),
                         "points");
    }
    return Status::Ok();
}

Lot CampaignLot(const Campaign& campaign, const std::string& member_id, int64_t points,
                Timestamp now) {
    Lot lot;
    lot.member_id = member_id;
    lot.program_id = campaign.program_id;
    lot.store_id = campaign.store_id;
    lot.earned = points;
    lot.remaining = points;
    lot.earned_at = now;
    lot.expires_at = now + std::chrono::days(campaign.validity_days);
    return lot;
}

std::string CampaignEntryRef(std::string_view campaign_id, std::string_view grant_id) {
    return "campaign:" + std::string(campaign_id) + ":" + std::string(grant_id);
}

}  // namespace kizuna::core
