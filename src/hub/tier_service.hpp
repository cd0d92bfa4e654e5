#pragma once
// Tiers (issue 19; core/tier.hpp): a program's levels set by the operator
// (PUT /v1/programs/{id}/tiers), a member's standing shown to the stores of the program
// (GET /v1/members/{id}), and the two steps a purchase takes inside its unit of work
// (TierForPurchase before it is stored: the multiplier it earns at; RaiseTierAfterPurchase after:
// the level it reached holds to the period's end).

#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/tier.hpp"
#include "core/time.hpp"
#include "hub/caller.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

class TierService {
  public:
    explicit TierService(HubContext& context) : context_(context) {}

    // Operator only. Replaces the program's tiers (empty: none). Levels already held this period
    // are kept by name where the name remains. Errors: kForbidden, kNotFound, kInvalidArgument.
    core::Result<core::TierSchedule> Set(const Caller& caller, const std::string& program_id,
                                         const core::TierSchedule& schedule);
    // A store, of a member in the store's program: none when the program has no tiers.
    // Errors: kForbidden, kNotFound (member).
    core::Result<std::optional<core::TierStanding>> StandingOf(const Caller& caller,
                                                               const std::string& member_id);

  private:
    HubContext& context_;
};

// The member's tier at a purchase's recording, read inside its unit of work.
struct PurchaseTier {
    core::TierSchedule schedule;
    core::TierStanding standing;  // before the purchase: its multiplier applies to it
    core::Timestamp now{};
};

// None when the program has no tiers. Errors: those of storage.
core::Result<std::optional<PurchaseTier>> TierForPurchase(storage::ReadTxn& txn,
                                                          const std::string& member_id,
                                                          const std::string& program_id,
                                                          core::Timestamp now);
// After the purchase is stored: when its value lifts the member past their level, the new level
// is held to the period's end (so the very next purchase earns by it).
core::Status RaiseTierAfterPurchase(storage::WriteTxn& txn, const PurchaseTier& tier,
                                    const std::string& member_id, const std::string& program_id);

// "1.5" for 1500: a multiplier in thousandths as people write it.
std::string FormatMultiplier(int64_t multiplier_milli);

// The standing of a member in a program with tiers, read from `txn`.
core::Result<core::TierStanding> ReadStanding(storage::ReadTxn& txn,
                                              const core::TierSchedule& schedule,
                                              const std::string& member_id,
                                              const std::string& program_id, core::Timestamp now);

}  // namespace kizuna::hub
