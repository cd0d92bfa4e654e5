#include "hub/redemption_limit_service.hpp"

#include "hub/access.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

core::Result<core::RedemptionLimits> RedemptionLimitService::Set(
    const Caller& caller, const std::string& program_id, const core::RedemptionLimits& limits) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "set redemption limits"));
    KZ_RETURN_IF_ERROR(core::ValidateRedemptionLimits(limits));
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(program_id));
        if (!program) return MakeError(ErrorCode::kNotFound, "no program " + program_id);
        for (const std::string& store_id : limits.non_accepting_stores) {
            KZ_ASSIGN_OR_RETURN(auto store, txn.FindStore(store_id));
            if (!store || store->program_id != program_id) {
                return MakeError(ErrorCode::kInvalidArgument,
                                 "store " + store_id + " is not a store of program " + program_id,
                                 "non_accepting_stores");
            }
        }
        return txn.SetRedemptionLimits(program_id, limits, context_.Now());
    }));
    return limits;
}

core::Result<ProgramSettings> RedemptionLimitService::SettingsOf(const Caller& caller,
                                                                 const std::string& program_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator, Role::kStore}, "read programs"));
    // A store sees its own program only; another program is as unknown to it as a missing one.
    if (caller.role == Role::kStore && caller.program_id != program_id) {
        return MakeError(ErrorCode::kNotFound, "no program " + program_id);
    }
    ProgramSettings settings;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(program_id));
        if (!program) return MakeError(ErrorCode::kNotFound, "no program " + program_id);
        settings.program = std::move(*program);
        KZ_ASSIGN_OR_RETURN(settings.redemption_limits, txn.RedemptionLimitsOf(program_id));
        KZ_ASSIGN_OR_RETURN(settings.tiers, txn.TierScheduleOf(program_id));
        return core::Status::Ok();
    }));
    return settings;
}

core::Status CheckRedemptionLimitsInTxn(storage::WriteTxn& txn, const std::string& store_id,
                                        const std::string& member_id, const std::string& program_id,
                                        int64_t points, core::Timestamp now) {
    KZ_ASSIGN_OR_RETURN(auto limits, txn.RedemptionLimitsOf(program_id));
    if (limits.empty()) return core::Status::Ok();
    core::RedemptionAttempt attempt;
    attempt.store_id = store_id;
    attempt.points = points;
    KZ_ASSIGN_OR_RETURN(attempt.balance, txn.BalanceOf(member_id, program_id));
    if (limits.per_member_month) {
        KZ_ASSIGN_OR_RETURN(attempt.redeemed_this_month,
                            txn.RedeemedBetween(member_id, program_id, core::MonthStart(now),
                                                core::NextMonthStart(now)));
    }
    return core::CheckRedemptionLimits(limits, attempt);
}

}  // namespace kizuna::hub
