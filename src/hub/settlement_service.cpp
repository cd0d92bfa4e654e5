#include "hub/settlement_service.hpp"

#include <map>
#include <utility>

#include "hub/access.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {

using core::ErrorCode;
using core::MakeError;

namespace {

// What a statement is made of, read on one snapshot.
struct Gathered {
    core::Program program;
    std::string currency = "JPY";
    core::StatementInput input;
    std::optional<storage::SettlementClosing> closing;
    std::vector<core::LedgerEntry> late_entries;
};

core::Status CheckReader(const Caller& caller, const std::string& program_id,
                         std::string_view what) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator, Role::kStore}, what));
    if (caller.role == Role::kStore && caller.program_id != program_id) {
        return MakeError(ErrorCode::kForbidden,
                         "a store sees the settlement of its own program only");
    }
    return core::Status::Ok();
}

// The live inputs of `period`'s statement: every store of the program (in creation order), then
// the operator when it has entries, each with its points of the period.
core::Result<Gathered> GatherLive(storage::ReadTxn& txn, const core::Program& program,
                                  core::Period period) {
    Gathered g;
    g.program = program;
    const int64_t first = core::FirstDayOf(period);
    const int64_t last = core::LastDayOf(period);
    KZ_ASSIGN_OR_RETURN(auto versions, txn.EconomicsVersions(program.program_id));
    g.input.period = period;
    g.input.economics = core::EconomicsFor(versions, program.program_id, period);
    KZ_ASSIGN_OR_RETURN(g.input.opening_points, txn.OutstandingBefore(program.program_id, first));
    KZ_ASSIGN_OR_RETURN(auto stores, txn.ListStores());
    std::map<std::string, std::size_t> index;
    bool currency_set = false;
    for (const core::Store& store : stores) {
        if (store.program_id != program.program_id) continue;
        if (!currency_set) g.currency = store.currency;
        currency_set = true;
        index[store.store_id] = g.input.parties.size();
        g.input.parties.push_back(
            core::PartyPoints{.store_id = store.store_id, .store_name = store.name});
    }
    KZ_ASSIGN_OR_RETURN(auto totals, txn.SettlementTotals(program.program_id, first, last));
    for (const storage::SettlementTotal& total : totals) {
        auto kind = core::ParseEntryKind(total.kind);
        if (!kind) {
            return MakeError(
                ErrorCode::kInternal,
                "settlement totals name an entry kind this hub does not know: " + total.kind);
        }
        auto [it, added] = index.try_emplace(total.store_id, g.input.parties.size());
        if (added) {
            g.input.parties.push_back(core::PartyPoints{
                .store_id = total.store_id,
                .store_name = total.store_id.empty() ? "運営 (operator)" : total.store_name});
        }
        core::PartyPoints& party = g.input.parties[it->second];
        if (total.points_in > 0) core::AddToParty(party, *kind, total.points_in);
        if (total.points_out > 0) core::AddToParty(party, *kind, -total.points_out);
        party.late_entries += total.late_entries;
    }
    return g;
}

core::Result<Gathered> Gather(storage::ReadTxn& txn, const std::string& program_id,
                              core::Period period, std::optional<std::string_view> store_id) {
    KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(program_id));
    if (!program) return MakeError(ErrorCode::kNotFound, "no program " + program_id);
    KZ_ASSIGN_OR_RETURN(Gathered g, GatherLive(txn, *program, period));
    KZ_ASSIGN_OR_RETURN(g.closing, txn.FindClosing(program_id, period));
    if (g.closing) {
        g.input.economics = g.closing->economics;
        g.input.opening_points = g.closing->opening_points;
        g.input.parties = g.closing->parties;
    }
    KZ_ASSIGN_OR_RETURN(g.late_entries,
                        txn.LateEntries(program_id, core::FirstDayOf(period),
                                        core::LastDayOf(period), store_id, kMaxLateListed));
    return g;
}

core::Result<SettlementStatement> Finish(Gathered g, const Caller& caller, core::Timestamp now) {
    SettlementStatement s;
    s.program_id = g.program.program_id;
    s.program_name = g.program.name;
    s.currency = g.currency;
    s.closed = g.closing.has_value();
    if (g.closing) s.closed_at = g.closing->closed_at;
    s.as_of = now;
    KZ_ASSIGN_OR_RETURN(s.statement, core::BuildStatement(g.input));
    KZ_RETURN_IF_ERROR(core::CheckBalanced(s.statement));
    s.program_visible = caller.role == Role::kOperator;
    if (!s.program_visible) {
        std::erase_if(s.statement.rows, [&](const core::StatementRow& row) {
            return row.points.store_id != caller.store_id;
        });
        s.statement.program = {};
    }
    s.late_entries = std::move(g.late_entries);
    return s;
}

std::optional<std::string_view> StoreFilter(const Caller& caller) {
    if (caller.role == Role::kStore) return std::string_view(caller.store_id);
    return std::nullopt;
}

}  // namespace

core::Result<core::ProgramEconomics> SettlementService::SetEconomics(
    const Caller& caller, const std::string& program_id, const EconomicsRequest& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "change a program's economics"));
    const core::Timestamp now = context_.Now();
    const core::Period current = core::PeriodOf(now);
    core::ProgramEconomics economics{.program_id = program_id,
                                     .version = 0,
                                     .effective_from = request.effective_from.value_or(current),
                                     .point_value = request.point_value,
                                     .issuing_fee_bp = request.issuing_fee_bp,
                                     .breakage = request.breakage,
                                     .created_at = now};
    KZ_RETURN_IF_ERROR(core::ValidateEconomics(economics));
    if (economics.effective_from < current) {
        return MakeError(ErrorCode::kRuleViolation,
                         "economics never apply to the past: effective_from must be " +
                             core::FormatPeriod(current) + " or later",
                         "effective_from");
    }
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(program_id));
        if (!program) return MakeError(ErrorCode::kNotFound, "no program " + program_id);
        if (economics.effective_from == current) {
            // Entries booked this period were booked under the economics in force: a change
            // from this period would rewrite them.
            KZ_ASSIGN_OR_RETURN(auto booked,
                                txn.SettlementTotals(program_id, core::FirstDayOf(current),
                                                     core::LastDayOf(current)));
            if (!booked.empty()) {
                if (request.effective_from) {
                    return MakeError(ErrorCode::kRuleViolation,
                                     "entries are booked in " + core::FormatPeriod(current) +
                                         " already; a change applies from " +
                                         core::FormatPeriod(core::NextPeriod(current)) +
                                         " at the earliest",
                                     "effective_from");
                }
                economics.effective_from = core::NextPeriod(current);
            }
        }
        KZ_ASSIGN_OR_RETURN(auto versions, txn.EconomicsVersions(program_id));
        economics.version = versions.empty() ? 1 : versions.back().version + 1;
        return txn.InsertEconomics(economics);
    }));
    return economics;
}

core::Result<EconomicsView> SettlementService::GetEconomics(const Caller& caller,
                                                            const std::string& program_id) {
    KZ_RETURN_IF_ERROR(CheckReader(caller, program_id, "read a program's economics"));
    EconomicsView view;
    view.current_period = core::PeriodOf(context_.Now());
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto program, txn.FindProgram(program_id));
        if (!program) return MakeError(ErrorCode::kNotFound, "no program " + program_id);
        KZ_ASSIGN_OR_RETURN(view.versions, txn.EconomicsVersions(program_id));
        return core::Status::Ok();
    }));
    view.in_force = core::EconomicsFor(view.versions, program_id, view.current_period);
    return view;
}

core::Result<SettlementStatement> SettlementService::GetStatement(
    const Caller& caller, const std::string& program_id, std::optional<core::Period> period) {
    KZ_RETURN_IF_ERROR(CheckReader(caller, program_id, "read settlements"));
    const core::Timestamp now = context_.Now();
    const core::Period wanted = period.value_or(core::PeriodOf(now));
    Gathered gathered;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(gathered, Gather(txn, program_id, wanted, StoreFilter(caller)));
        return core::Status::Ok();
    }));
    return Finish(std::move(gathered), caller, now);
}

core::Result<SettlementStatement> SettlementService::ClosePeriod(const Caller& caller,
                                                                 const std::string& program_id,
                                                                 core::Period period) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kOperator}, "close a settlement period"));
    const core::Timestamp now = context_.Now();
    if (now < core::EndOf(period)) {
        return MakeError(ErrorCode::kRuleViolation,
                         core::FormatPeriod(period) + " ends at " +
                             core::FormatRfc3339(core::EndOf(period)) +
                             "; a period can be closed only once it has ended",
                         "period");
    }
    Gathered gathered;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(gathered, Gather(txn, program_id, period, std::nullopt));
        if (gathered.closing) return core::Status::Ok();  // closed already: nothing changes
        // The statement must balance before it is frozen.
        KZ_ASSIGN_OR_RETURN(auto statement, core::BuildStatement(gathered.input));
        KZ_RETURN_IF_ERROR(core::CheckBalanced(statement));
        storage::SettlementClosing closing{.program_id = program_id,
                                           .period = period,
                                           .closed_at = now,
                                           .economics = gathered.input.economics,
                                           .opening_points = gathered.input.opening_points,
                                           .parties = gathered.input.parties};
        KZ_RETURN_IF_ERROR(txn.InsertClosing(closing));
        gathered.closing = std::move(closing);
        return core::Status::Ok();
    }));
    return Finish(std::move(gathered), caller, now);
}

}  // namespace kizuna::hub
