#pragma once
// Coalition economics and settlement between the stores of a program (core/settlement.hpp has
// the arithmetic and the identity every statement satisfies).
//
// - Economics are versioned like earning rules and never apply to the past: a change takes
//   effect from a whole period (calendar month, Japan time) that has no booked entry yet — the
//   current period while nothing is booked in it, else a later one.
// - A statement is computed from the per-day totals storage keeps beside the ledger (an entry
//   counts in the period of the day the hub booked it), so a month's statement reads a few
//   thousand rows whatever the number of entries, on a read snapshot that never stops purchases.
// - Closing a period that has ended freezes its statement's inputs in storage; later entries,
//   whatever their occurred_at, count in an open period (late ones are listed with their dates).
// - The operator sees every store's row and the program's deposit; a store sees its own row.
// Thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "core/ledger.hpp"
#include "core/result.hpp"
#include "core/settlement.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

struct EconomicsRequest {
    std::optional<core::Period> effective_from;  // none: the earliest period allowed
    int64_t point_value = 1;
    int64_t issuing_fee_bp = 0;
    core::BreakagePolicy breakage = core::BreakagePolicy::kOperator;
};

struct EconomicsView {
    core::ProgramEconomics in_force;               // for the current period
    std::vector<core::ProgramEconomics> versions;  // oldest first
    core::Period current_period{};
};

struct SettlementStatement {
    std::string program_id;
    std::string program_name;
    std::string currency;  // of the program's stores ("JPY")
    core::Statement statement;
    bool closed = false;
    core::Timestamp closed_at{};  // when closed
    core::Timestamp as_of{};      // when computed (an open period goes on changing)
    // Whether the program's figures (deposit, fees kept) are the caller's to see: operator only.
    bool program_visible = false;
    // Entries booked in the period that occurred in an earlier one, at most kMaxLateListed.
    std::vector<core::LedgerEntry> late_entries;
};

inline constexpr int kMaxLateListed = 1000;

class SettlementService {
  public:
    explicit SettlementService(HubContext& context) : context_(context) {}

    // Operator only. Errors: kNotFound (program); kInvalidArgument (values, naming the field);
    // kRuleViolation when effective_from is a past period, or the current one with entries
    // booked in it already (field "effective_from").
    core::Result<core::ProgramEconomics> SetEconomics(const Caller& caller,
                                                      const std::string& program_id,
                                                      const EconomicsRequest& request);
    // Operator, or a store of the program.
    core::Result<EconomicsView> GetEconomics(const Caller& caller, const std::string& program_id);

    // The statement of `period` (none: the current one): the stored one when it is closed.
    // Operator: every store of the program (and the operator's own row when it has entries);
    // a store of the program: its own row only. Errors: kNotFound, kForbidden (another
    // program's store, members), kInternal when a statement would not balance.
    core::Result<SettlementStatement> GetStatement(const Caller& caller,
                                                   const std::string& program_id,
                                                   std::optional<core::Period> period);
    // Operator only. Freezes the statement of a period that has ended (kRuleViolation before
    // then); closing a closed period answers the stored statement and changes nothing.
    core::Result<SettlementStatement> ClosePeriod(const Caller& caller,
                                                  const std::string& program_id,
                                                  core::Period period);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
