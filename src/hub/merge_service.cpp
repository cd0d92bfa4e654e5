#include "hub/merge_service.hpp"

#include "core/ids.hpp"
#include "hub/access.hpp"
#include "hub/auth_service.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

namespace {

core::Result<core::MemberHoldings> Holdings(storage::ReadTxn& txn, const std::string& member_id,
                                            std::string_view field) {
    KZ_ASSIGN_OR_RETURN(auto holdings, txn.HoldingsOf(member_id));
    if (!holdings) {
        return MakeError(ErrorCode::kNotFound, "no member " + member_id, std::string(field));
    }
    return std::move(*holdings);
}

// The merge's record, in words (kept with it in storage).
std::string Summary(const core::MergePlan& plan) {
    std::string text =
        "moved " + std::to_string(plan.purchases) + " purchases, " +
        std::to_string(plan.redemptions) + " redemptions, " + std::to_string(plan.entries) +
        " ledger entries, " + std::to_string(plan.open_lots) + " open lots, " +
        std::to_string(plan.reservations) + " reservations, " + std::to_string(plan.offers_sent) +
        " offers sent; skipped " + std::to_string(plan.dispatch_skipped) +
        " pending dispatch rows; ended " + std::to_string(plan.sessions_ended) + " sessions, " +
        std::to_string(plan.password_resets_ended) + " password reset links; balances";
    for (const core::BalanceMove& move : plan.balances) {
        text += " " + move.program_id + ": " + std::to_string(move.survivor_before) + " + " +
                std::to_string(move.from_points) + " = " + std::to_string(move.survivor_after);
    }
    text += "; " + std::to_string(plan.cards) + " cards point to the survivor";
    return text;
}

// Store nodes hear of a merge (sync pull, `member.merged`), so that offline they book a sale
// naming the merged-away member on the survivor and refuse its cards as the hub does: one event
// in every program the survivor now belongs to (after the merge, those of both members), with
// the survivor's balance in that program only (no store learns another program's balance).
// Webhooks never see this type (core::kEventTypes).
core::Status RecordMergeEvents(storage::WriteTxn& txn, const core::MergePlan& plan,
                               core::Timestamp now) {
    KZ_ASSIGN_OR_RETURN(auto programs, txn.ProgramsOfMember(plan.survivor_id));
    for (const std::string& program_id : programs) {
        KZ_ASSIGN_OR_RETURN(int64_t balance, txn.BalanceOf(plan.survivor_id, program_id));
        KZ_RETURN_IF_ERROR(RecordEvent(txn, "member.merged", program_id, plan.survivor_id, now,
                                       {{"member_id", plan.survivor_id},
                                        {"from_member_id", plan.from_id},
                                        {"program_id", program_id},
                                        {"revoked_card_numbers", plan.cards_revoked},
                                        {"balance", balance}}));
    }
    return core::Status::Ok();
}

}  // namespace

core::Result<std::optional<std::string>> SurvivorOf(storage::ReadTxn& txn,
                                                    const std::string& member_id) {
    std::optional<std::string> survivor;
    // Each merge closes its from-member and only open members are merged, so a chain visits
    // each member once; the bound turns a corrupted record into an error, not a hang.
    for (int hop = 0; hop < 1000; ++hop) {
        KZ_ASSIGN_OR_RETURN(auto next, txn.MergedInto(survivor.value_or(member_id)));
        if (!next) return survivor;
        survivor = std::move(next);
    }
    return MakeError(ErrorCode::kInternal, "member " + member_id + ": the merge records loop");
}

core::Result<MergeOutcome> MergeService::Merge(const Caller& caller, const std::string& survivor_id,
                                               const std::string& from_id, bool confirm) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "merge members"));
    if (!core::IsValidMemberId(from_id)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "not a member id (10 digits with a valid check digit)", "from_member_id");
    }
    MergeOutcome outcome;
    const auto plan = [&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto survivor, Holdings(txn, survivor_id, "member_id"));
        KZ_ASSIGN_OR_RETURN(auto from, Holdings(txn, from_id, "from_member_id"));
        KZ_ASSIGN_OR_RETURN(outcome.plan, core::PlanMerge(survivor, from));
        return core::Status::Ok();
    };
    if (!confirm) {
        KZ_RETURN_IF_ERROR(context_.storage().Read(plan));
        return outcome;
    }
    const core::Timestamp now = context_.Now();
    // Planned and applied in one unit of work, so nothing can change between the two.
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_RETURN_IF_ERROR(plan(txn));
        const std::string actor = caller.Describe();
        KZ_RETURN_IF_ERROR(txn.MergeMembers(outcome.plan, actor, Summary(outcome.plan), now));
        KZ_RETURN_IF_ERROR(
            txn.InsertAudit({actor, "member_merged_away:into=" + survivor_id, from_id, now}));
        KZ_RETURN_IF_ERROR(
            txn.InsertAudit({actor, "member_merged:from=" + from_id, survivor_id, now}));
        return RecordMergeEvents(txn, outcome.plan, now);
    }));
    auth_.ForgetSessionsOf(from_id);  // its stored sessions went with the merge
    outcome.merged = true;
    return outcome;
}

}  // namespace kizuna::hub
