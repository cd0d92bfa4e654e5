#include "hub/terminal_service.hpp"

#include <map>

#include "core/ids.hpp"
#include "core/purchase.hpp"
#include "core/store.hpp"
#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/auth_service.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// Void entries name their purchase as "void/<id>" (points_service).
bool IsVoidEntry(const core::LedgerEntry& e) { return e.ref.starts_with("void/"); }

}  // namespace

core::Result<TerminalIssued> TerminalService::AddTerminal(const Caller& caller,
                                                          const std::string& name) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "add terminals"));
    KZ_RETURN_IF_ERROR(core::ValidateName(name, "name"));
    TerminalIssued issued;
    issued.api_key = std::string(kTerminalKeyPrefix) + crypto::NewSecretToken();
    core::Terminal& t = issued.terminal;
    t.terminal_id = context_.NewOpaqueId("tm");
    t.store_id = caller.store_id;
    t.name = name;
    t.key_hash = crypto::Digest(issued.api_key);
    t.created_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write(
        [&](storage::WriteTxn& txn) -> core::Status { return txn.InsertTerminal(t); }));
    return issued;
}

core::Result<std::vector<core::Terminal>> TerminalService::ListTerminals(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "list terminals"));
    std::vector<core::Terminal> terminals;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(terminals, txn.TerminalsOf(caller.store_id));
        return core::Status::Ok();
    }));
    return terminals;
}

core::Status TerminalService::RevokeTerminal(const Caller& caller, const std::string& terminal_id) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "revoke terminals"));
    return context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto terminal, txn.FindTerminal(terminal_id));
        if (!terminal || terminal->store_id != caller.store_id) {
            return MakeError(ErrorCode::kNotFound, "this store has no terminal " + terminal_id);
        }
        return txn.RevokeTerminal(terminal_id, context_.Now());
    });
}

core::Result<core::StaffMember> TerminalService::AddStaff(const Caller& caller,
                                                          const StaffRequest& r) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "add staff"));
    KZ_RETURN_IF_ERROR(core::ValidateClientId(r.staff_id, "staff_id"));
    KZ_RETURN_IF_ERROR(core::ValidateName(r.name, "name"));
    KZ_RETURN_IF_ERROR(core::ValidatePin(r.pin, "pin"));
    core::StaffMember staff;
    // Staff ids are global (the Kizuna-Staff header names one without its store): the store's
    // id keeps two stores' "hanako" apart.
    staff.staff_id = r.staff_id;
    staff.store_id = caller.store_id;
    staff.name = r.name;
    staff.role = r.role;
    staff.pin_hash = auth_.HashPassword(r.pin);
    staff.created_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        auto inserted = txn.InsertStaff(staff);
        if (!inserted.ok() && inserted.error().code == ErrorCode::kAlreadyExists) {
            return MakeError(ErrorCode::kAlreadyExists,
                             "staff id " + r.staff_id + " is taken; choose another", "staff_id");
        }
        return inserted;
    }));
    staff.pin_hash.clear();
    return staff;
}

core::Result<std::vector<core::StaffMember>> TerminalService::ListStaff(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "list staff"));
    std::vector<core::StaffMember> staff;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(staff, txn.StaffOf(caller.store_id));
        return core::Status::Ok();
    }));
    for (auto& member : staff) member.pin_hash.clear();
    return staff;
}

core::Status TerminalService::RemoveStaff(const Caller& caller, const std::string& staff_id) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "remove staff"));
    return context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto staff, txn.FindStaff(staff_id));
        if (!staff || staff->store_id != caller.store_id) {
            return MakeError(ErrorCode::kNotFound, "this store has no staff member " + staff_id);
        }
        return txn.RemoveStaff(staff_id, context_.Now());
    });
}

core::Result<core::TillSettings> TerminalService::Settings(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "read till settings"));
    std::optional<core::TillSettings> settings;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(settings, txn.FindTillSettings(caller.store_id));
        return core::Status::Ok();
    }));
    return settings.value_or(core::TillSettings{});
}

core::Result<core::TillSettings> TerminalService::SetSettings(const Caller& caller,
                                                              const core::TillSettings& settings) {
    KZ_RETURN_IF_ERROR(RequireManager(caller, "change till settings"));
    KZ_RETURN_IF_ERROR(core::ValidateTillSettings(settings));
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        return txn.PutTillSettings(caller.store_id, settings);
    }));
    return settings;
}

core::Result<DayReport> TerminalService::Day(const Caller& caller, const std::string& date) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "read the day report"));
    DayReport report;
    report.store_id = caller.store_id;
    std::vector<core::Purchase> purchases;
    std::vector<core::LedgerEntry> entries;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto settings, txn.FindTillSettings(caller.store_id));
        report.utc_offset_minutes = settings.value_or(core::TillSettings{}).utc_offset_minutes;
        if (date.empty()) {
            report.day = core::BusinessDayOf(context_.Now(), report.utc_offset_minutes);
        } else {
            KZ_ASSIGN_OR_RETURN(report.day,
                                core::BusinessDayOfDate(date, report.utc_offset_minutes, "date"));
        }
        KZ_ASSIGN_OR_RETURN(purchases, txn.StorePurchasesBetween(caller.store_id, report.day.start,
                                                                 report.day.end));
        KZ_ASSIGN_OR_RETURN(
            entries, txn.StoreEntriesBetween(caller.store_id, report.day.start, report.day.end));
        return core::Status::Ok();
    }));
    std::map<std::string, DayTotals> by_terminal;
    auto add = [&](const std::string& terminal_id, auto&& change) {
        DayTotals& t = by_terminal[terminal_id];
        t.terminal_id = terminal_id;
        change(t);
        change(report.totals);
    };
    for (const core::Purchase& p : purchases) {
        add(p.terminal_id, [&](DayTotals& t) {
            if (p.voided_at) {
                ++t.voids_count;
                t.voids_total += p.total;
            } else {
                ++t.sales_count;
                t.sales_total += p.total;
                t.points_paid_value += p.points_value;
            }
        });
    }
    for (const core::LedgerEntry& e : entries) {
        report.ledger_net += e.delta;
        add(e.terminal_id, [&](DayTotals& t) {
            if (IsVoidEntry(e)) {
                t.points_voided -= e.delta;
                return;
            }
            switch (e.kind) {
                case core::EntryKind::kEarn:
                    t.points_issued += e.delta;
                    break;
                case core::EntryKind::kRedeem:
                    t.points_redeemed -= e.delta;
                    break;
                case core::EntryKind::kRefundReversal:
                    t.points_reversed -= e.delta;
                    break;
                case core::EntryKind::kExpire:
                case core::EntryKind::kAdjustment:
                    break;
            }
        });
    }
    for (auto& [terminal_id, totals] : by_terminal) report.terminals.push_back(totals);
    return report;
}

}  // namespace kizuna::hub
