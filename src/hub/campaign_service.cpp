#include "hub/campaign_service.hpp"

#include "core/ids.hpp"
#include "core/ledger.hpp"
#include "core/limits.hpp"
#include "core/purchase.hpp"
#include "hub/access.hpp"
#include "hub/hub_context.hpp"
#include "hub/text_format.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

namespace {

constexpr int kShownGrants = 100;

// A campaign is seen by the operator and by the stores of its program; to any other store it
// does not exist.
core::Status MayUse(const Caller& caller, const core::Campaign& campaign) {
    if (caller.role == Role::kStore && caller.program_id != campaign.program_id) {
        return MakeError(ErrorCode::kNotFound, "no campaign " + campaign.campaign_id);
    }
    return core::Status::Ok();
}

}  // namespace

core::Result<core::Campaign> CampaignService::Create(const Caller& caller,
                                                     const NewCampaign& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator, Role::kStore}, "create campaigns"));
    core::Campaign campaign;
    campaign.name = request.name;
    campaign.budget_points = request.budget_points;
    campaign.validity_days = request.validity_days;
    campaign.program_id = request.program_id;
    if (caller.role == Role::kStore) {
        if (!request.program_id.empty() && request.program_id != caller.program_id) {
            return MakeError(ErrorCode::kForbidden,
                             "a store creates campaigns in its own program only", "program_id");
        }
        campaign.program_id = caller.program_id;
        campaign.store_id = caller.store_id;
    } else if (campaign.program_id.empty()) {
        return core::InvalidField("program_id", "is required");
    }
    KZ_RETURN_IF_ERROR(core::ValidateNewCampaign(campaign));
    campaign.campaign_id = context_.NewOpaqueId("cp");
    campaign.created_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(campaign.program_id));
        if (!program) {
            return MakeError(ErrorCode::kNotFound, "no program " + campaign.program_id,
                             "program_id");
        }
        return txn.InsertCampaign(campaign);
    }));
    return campaign;
}

core::Result<GrantReceipt> CampaignService::Grant(const Caller& caller,
                                                  const std::string& campaign_id,
                                                  const GrantRequest& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator, Role::kStore}, "grant points"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(request.grant_id, "grant_id"));
    if (!core::IsValidMemberId(request.member_id)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "not a member id (10 digits with a valid check digit)", "member_id");
    }
    if (request.points < 1 || request.points > core::kMaxRedeemPoints) {
        return core::InvalidField(
            "points", "must be a whole number from 1 to " + std::to_string(core::kMaxRedeemPoints));
    }
    const core::Timestamp now = context_.Now();
    GrantReceipt receipt;
    // One unit of work: the replay check, the budget's check-and-decrement, the lot, the entry
    // and the grant commit together or not at all (and run again whole if the batch reruns).
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto campaign, txn.FindCampaign(campaign_id));
        if (!campaign) return MakeError(ErrorCode::kNotFound, "no campaign " + campaign_id);
        KZ_RETURN_IF_ERROR(MayUse(caller, *campaign));
        KZ_ASSIGN_OR_RETURN(auto earlier, txn.FindCampaignGrant(campaign_id, request.grant_id));
        if (earlier) {
            if (earlier->member_id != request.member_id || earlier->points != request.points) {
                return MakeError(ErrorCode::kIdempotencyConflict,
                                 "grant_id " + request.grant_id +
                                     " was already used for a different grant; use a new id for "
                                     "a new grant",
                                 "grant_id");
            }
            receipt = {*earlier, campaign->budget_points - campaign->granted_points, true};
            return core::Status::Ok();
        }
        KZ_RETURN_IF_ERROR(core::CheckGrantWithinBudget(*campaign, request.points));
        KZ_ASSIGN_OR_RETURN(auto member, txn.FindMember(request.member_id));
        if (!member) {
            return MakeError(ErrorCode::kNotFound, "no member " + request.member_id, "member_id");
        }
        if (member->status != core::MemberStatus::kActive) {
            KZ_ASSIGN_OR_RETURN(auto survivor, txn.MergedInto(request.member_id));
            return MakeError(ErrorCode::kRuleViolation,
                             "member " + request.member_id + " is closed" +
                                 (survivor ? "; it was merged into member " + *survivor : ""),
                             "member_id");
        }
        KZ_ASSIGN_OR_RETURN(int64_t before, txn.BalanceOf(request.member_id, campaign->program_id));
        if (before > core::kMaxBalance - request.points) {
            return MakeError(ErrorCode::kRuleViolation,
                             "this grant would bring the member's balance above the limit of " +
                                 std::to_string(core::kMaxBalance) + " points",
                             "points");
        }
        core::Lot lot = core::CampaignLot(*campaign, request.member_id, request.points, now);
        core::CampaignGrant grant;
        grant.campaign_id = campaign_id;
        grant.grant_id = request.grant_id;
        grant.member_id = request.member_id;
        grant.points = request.points;
        grant.granted_by = caller.Describe();
        grant.granted_at = now;
        grant.expires_at = lot.expires_at;
        KZ_ASSIGN_OR_RETURN(grant.lot_id, txn.InsertLot(lot));
        core::LedgerEntry entry{.member_id = request.member_id,
                                .program_id = campaign->program_id,
                                .store_id = campaign->store_id,
                                .delta = request.points,
                                .kind = core::EntryKind::kAdjustment,
                                .ref = core::CampaignEntryRef(campaign_id, request.grant_id),
                                .occurred_at = now,
                                .note = "Campaign bonus: " + GroupThousands(request.points) +
                                        " points of \"" + campaign->name + "\" (campaign " +
                                        campaign_id + "), valid until " +
                                        core::FormatRfc3339(lot.expires_at).substr(0, 10)};
        KZ_RETURN_IF_ERROR(txn.AppendEntry(entry));
        grant.balance_after = before + request.points;
        KZ_RETURN_IF_ERROR(txn.InsertCampaignGrant(grant));
        receipt = {grant, campaign->budget_points - campaign->granted_points - request.points,
                   false};
        return core::Status::Ok();
    }));
    return receipt;
}

core::Result<CampaignView> CampaignService::Show(const Caller& caller,
                                                 const std::string& campaign_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator, Role::kStore}, "see campaigns"));
    CampaignView view;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto campaign, txn.FindCampaign(campaign_id));
        if (!campaign) return MakeError(ErrorCode::kNotFound, "no campaign " + campaign_id);
        KZ_RETURN_IF_ERROR(MayUse(caller, *campaign));
        view.campaign = std::move(*campaign);
        KZ_ASSIGN_OR_RETURN(view.recent_grants, txn.GrantsOfCampaign(campaign_id, kShownGrants));
        return core::Status::Ok();
    }));
    return view;
}

}  // namespace kizuna::hub
