#include "hub/tier_service.hpp"

#include "hub/access.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

std::string FormatMultiplier(int64_t multiplier_milli) {
    std::string text = std::to_string(multiplier_milli / core::kMultiplierOne);
    int64_t fraction = multiplier_milli % core::kMultiplierOne;
    if (fraction == 0) return text;
    std::string digits = std::to_string(core::kMultiplierOne + fraction).substr(1);
    while (digits.back() == '0') digits.pop_back();
    return text + "." + digits;
}

core::Result<core::TierStanding> ReadStanding(storage::ReadTxn& txn,
                                              const core::TierSchedule& schedule,
                                              const std::string& member_id,
                                              const std::string& program_id, core::Timestamp now) {
    const core::Timestamp period_start = core::TierPeriodStart(now);
    KZ_ASSIGN_OR_RETURN(int64_t value_now, txn.TierValueOf(member_id, program_id, schedule.basis,
                                                           now - core::kTierWindow, now));
    KZ_ASSIGN_OR_RETURN(int64_t value_at_start,
                        txn.TierValueOf(member_id, program_id, schedule.basis,
                                        period_start - core::kTierWindow, period_start));
    KZ_ASSIGN_OR_RETURN(auto held, txn.HeldTierOf(member_id, program_id));
    return core::StandingOf(schedule, value_now, value_at_start, held, now);
}

core::Result<std::optional<PurchaseTier>> TierForPurchase(storage::ReadTxn& txn,
                                                          const std::string& member_id,
                                                          const std::string& program_id,
                                                          core::Timestamp now) {
    KZ_ASSIGN_OR_RETURN(auto schedule, txn.TierScheduleOf(program_id));
    if (schedule.tiers.empty()) return std::optional<PurchaseTier>();
    PurchaseTier tier;
    KZ_ASSIGN_OR_RETURN(tier.standing, ReadStanding(txn, schedule, member_id, program_id, now));
    tier.schedule = std::move(schedule);
    tier.now = now;
    return std::optional<PurchaseTier>(std::move(tier));
}

core::Status RaiseTierAfterPurchase(storage::WriteTxn& txn, const PurchaseTier& tier,
                                    const std::string& member_id, const std::string& program_id) {
    KZ_ASSIGN_OR_RETURN(int64_t value, txn.TierValueOf(member_id, program_id, tier.schedule.basis,
                                                       tier.now - core::kTierWindow, tier.now));
    const std::size_t reached = core::TierLevelFor(tier.schedule, value);
    if (reached <= tier.standing.level) return core::Status::Ok();
    const core::Tier& level = tier.schedule.tiers[reached];
    KZ_RETURN_IF_ERROR(txn.SetHeldTier(member_id, program_id,
                                       core::HeldTier{level.name, core::TierPeriodStart(tier.now)},
                                       tier.now));
    // Store nodes of the program hear of it (sync pull), to earn at the new tier offline;
    // webhooks never see this type.
    return RecordEvent(txn, "member.tier_changed", program_id, member_id, tier.now,
                       {{"member_id", member_id},
                        {"program_id", program_id},
                        {"tier", level.name},
                        {"multiplier_milli", level.multiplier_milli},
                        {"held_until", EventTime(core::TierPeriodEnd(tier.now))}});
}

core::Result<core::TierSchedule> TierService::Set(const Caller& caller,
                                                  const std::string& program_id,
                                                  const core::TierSchedule& schedule) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "set tiers"));
    KZ_RETURN_IF_ERROR(core::ValidateTierSchedule(schedule));
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(program_id));
        if (!program) return MakeError(ErrorCode::kNotFound, "no program " + program_id);
        return txn.SetTierSchedule(program_id, schedule, context_.Now());
    }));
    return schedule;
}

core::Result<std::optional<core::TierStanding>> TierService::StandingOf(
    const Caller& caller, const std::string& member_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "see members' tiers"));
    std::optional<core::TierStanding> standing;
    const core::Timestamp now = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(member_id));
        if (!exists) return MakeError(ErrorCode::kNotFound, "no member " + member_id);
        KZ_ASSIGN_OR_RETURN(auto schedule, txn.TierScheduleOf(caller.program_id));
        if (schedule.tiers.empty()) return core::Status::Ok();
        KZ_ASSIGN_OR_RETURN(standing,
                            ReadStanding(txn, schedule, member_id, caller.program_id, now));
        return core::Status::Ok();
    }));
    return standing;
}

}  // namespace kizuna::hub
