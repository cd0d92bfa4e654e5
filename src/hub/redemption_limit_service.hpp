#pragma once
// A program's redemption limits (issue 19; core/redemption_limits.hpp): set by the operator
// (PUT /v1/programs/{id}/redemption-limits), read with the program, and checked by every
// redemption inside its unit of work (CheckRedemptionLimitsInTxn, called by PointsService).

#include <string>

#include "core/redemption_limits.hpp"
#include "core/result.hpp"
#include "core/store.hpp"
#include "core/tier.hpp"
#include "core/time.hpp"
#include "hub/caller.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

// What GET /v1/programs/{id} shows: the program with its redemption limits and tiers.
struct ProgramSettings {
    core::Program program;
    core::RedemptionLimits redemption_limits;
    core::TierSchedule tiers;
};

class RedemptionLimitService {
  public:
    explicit RedemptionLimitService(HubContext& context) : context_(context) {}

    // Operator only. Replaces the program's limits; every non-accepting store must be a store of
    // the program. Errors: kForbidden, kNotFound (program), kInvalidArgument naming the field.
    core::Result<core::RedemptionLimits> Set(const Caller& caller, const std::string& program_id,
                                             const core::RedemptionLimits& limits);
    // The operator, or a store of the program. Errors: kForbidden, kNotFound.
    core::Result<ProgramSettings> SettingsOf(const Caller& caller, const std::string& program_id);

  private:
    HubContext& context_;
};

// Inside a redemption's unit of work, after the member's due expiries are booked: refuses it with
// kRedemptionLimit naming the limit when the program's limits do. Errors: those of storage.
core::Status CheckRedemptionLimitsInTxn(storage::WriteTxn& txn, const std::string& store_id,
                                        const std::string& member_id, const std::string& program_id,
                                        int64_t points, core::Timestamp now);

}  // namespace kizuna::hub
