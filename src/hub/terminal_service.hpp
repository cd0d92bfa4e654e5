#pragma once
// The till's administration (issue 17): a store's terminals (one API key per till, revocable),
// its staff (clerk or manager, each with a PIN), its till settings (limits, business-day clock),
// and the end-of-day (Z) report. Managing terminals, staff and settings needs manager rights
// (Caller::HasManagerRights: the store's own key, or a manager's PIN); the day report and the
// lists are open to every till of the store.
//
// Thread-safety: every method may be called from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/till.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class AuthService;
class HubContext;

struct TerminalIssued {
    core::Terminal terminal;
    std::string api_key;  // "kzt_…", shown once; only its digest is stored
};

struct StaffRequest {
    std::string staff_id;  // chosen by the store (a client id), e.g. "hanako"
    std::string name;
    core::StaffRole role = core::StaffRole::kClerk;
    std::string pin;
};

// One till's (or the store key's: empty terminal_id) share of a day.
struct DayTotals {
    std::string terminal_id;
    int64_t sales_count = 0;        // purchases of the day not voided
    int64_t sales_total = 0;        // their totals, minor units
    int64_t points_paid_value = 0;  // of which paid with points
    int64_t voids_count = 0;        // purchases of the day voided
    int64_t voids_total = 0;
    int64_t points_issued = 0;    // earn entries of the day (+)
    int64_t points_redeemed = 0;  // redeem entries of the day (-), at checkout and alone
    int64_t points_reversed = 0;  // refund_reversal entries of the day (-)
    int64_t points_voided = 0;    // void entries of the day: earned taken back less used returned
};

struct DayReport {
    std::string store_id;
    core::BusinessDay day;
    int utc_offset_minutes = 0;
    DayTotals totals;                  // terminal_id empty
    std::vector<DayTotals> terminals;  // by terminal id, the store key ("") first
    int64_t ledger_net = 0;            // sum of the store's entries of the day
};

class TerminalService {
  public:
    TerminalService(HubContext& context, AuthService& auth) : context_(context), auth_(auth) {}

    // Errors: kForbidden (no manager rights), kInvalidArgument (name).
    core::Result<TerminalIssued> AddTerminal(const Caller& caller, const std::string& name);
    core::Result<std::vector<core::Terminal>> ListTerminals(const Caller& caller);
    // Errors: kNotFound (not this store's terminal), kForbidden.
    core::Status RevokeTerminal(const Caller& caller, const std::string& terminal_id);

    // Errors: kForbidden, kInvalidArgument (id, name, role, PIN), kAlreadyExists (id taken).
    core::Result<core::StaffMember> AddStaff(const Caller& caller, const StaffRequest& request);
    core::Result<std::vector<core::StaffMember>> ListStaff(const Caller& caller);
    core::Status RemoveStaff(const Caller& caller, const std::string& staff_id);

    core::Result<core::TillSettings> Settings(const Caller& caller);
    // Errors: kForbidden, kInvalidArgument naming the field.
    core::Result<core::TillSettings> SetSettings(const Caller& caller,
                                                 const core::TillSettings& settings);

    // The store's business day `date` (YYYY-MM-DD in its clock; empty: today), from its ledger
    // entries and purchases of that day. Errors: kInvalidArgument ("date").
    core::Result<DayReport> Day(const Caller& caller, const std::string& date);

  private:
    HubContext& context_;
    AuthService& auth_;
};

}  // namespace kizuna::hub
