// SqliteTxn's settlement methods: program economics, the per-day settlement totals kept beside
// the ledger, and closed periods (migration 12).

#include <string>

#include "storage/sqlite/sqlite_txn.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;
using core::MakeError;

Status SqliteTxn::BookSettlement(const core::LedgerEntry& e, int64_t entry_id) {
    const Timestamp recorded_at = e.recorded_at == Timestamp{} ? e.occurred_at : e.recorded_at;
    int64_t day = core::SettlementDay(recorded_at);
    {
        // A closed period never changes: an entry whose booking day falls in one (a clock set
        // back) counts on the first day after the latest closed period.
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT last_day FROM settlement_closings"
                                                " WHERE program_id = ?1"
                                                " ORDER BY period DESC LIMIT 1"));
        statement->Bind(1, e.program_id);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (row && day <= statement->Int(0)) day = statement->Int(0) + 1;
    }
    const bool late = core::SettlementDay(e.occurred_at) < core::FirstDayOf(core::PeriodOfDay(day));
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare(
                "INSERT INTO settlement_days (program_id, day, store_id, kind, points_in,"
                " points_out, entries, late_entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)"
                " ON CONFLICT (program_id, day, store_id, kind) DO UPDATE SET"
                " points_in = points_in + excluded.points_in,"
                " points_out = points_out + excluded.points_out, entries = entries + 1,"
                " late_entries = late_entries + excluded.late_entries"));
        statement->BindAll(e.program_id, day, e.store_id, core::EntryKindName(e.kind),
                           e.delta > 0 ? e.delta : int64_t{0}, e.delta < 0 ? -e.delta : int64_t{0},
                           late ? 1 : 0);
        KZ_RETURN_IF_ERROR(statement->Run());
    }
    if (!late) return Status::Ok();
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO settlement_late_entries (program_id,"
                                            " day, entry_id) VALUES (?1, ?2, ?3)"));
    statement->BindAll(e.program_id, day, entry_id);
    return statement->Run();
}

Result<std::vector<std::string>> SqliteTxn::CheckSettlementTotals() {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare(
            "WITH e AS (SELECT program_id, COALESCE(store_id, '') AS store_id, kind,"
            "                  SUM(MAX(delta, 0)) AS p_in, SUM(MAX(-delta, 0)) AS p_out,"
            "                  COUNT(*) AS n"
            "           FROM ledger_entries GROUP BY 1, 2, 3),"
            " d AS (SELECT program_id, store_id, kind, SUM(points_in) AS p_in,"
            "              SUM(points_out) AS p_out, SUM(entries) AS n"
            "       FROM settlement_days GROUP BY 1, 2, 3),"
            " k AS (SELECT program_id, store_id, kind FROM e"
            "       UNION SELECT program_id, store_id, kind FROM d)"
            " SELECT k.program_id, k.store_id, k.kind, e.p_in, e.p_out, e.n, d.p_in, d.p_out, d.n"
            " FROM k LEFT JOIN e USING (program_id, store_id, kind)"
            " LEFT JOIN d USING (program_id, store_id, kind)"
            " WHERE e.n IS NULL OR d.n IS NULL OR e.p_in <> d.p_in OR e.p_out <> d.p_out"
            "    OR e.n <> d.n ORDER BY 1, 2, 3"));
    std::vector<std::string> problems;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return problems;
        auto triple = [&](int first) {
            if (statement->IsNull(first)) return std::string("none");
            return "+" + std::to_string(statement->Int(first)) + " -" +
                   std::to_string(statement->Int(first + 1)) + " in " +
                   std::to_string(statement->Int(first + 2)) + " entries";
        };
        problems.push_back("program " + statement->Text(0) + " store '" + statement->Text(1) +
                           "' kind " + statement->Text(2) + ": ledger entries " + triple(3) +
                           ", settlement totals " + triple(6));
    }
}

Result<std::vector<core::ProgramEconomics>> SqliteTxn::EconomicsVersions(
    std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT version, effective_from, point_value,"
                                            " issuing_fee_bp, breakage, created_at"
                                            " FROM program_economics WHERE program_id = ?1"
                                            " ORDER BY version"));
    statement->Bind(1, program_id);
    std::vector<core::ProgramEconomics> versions;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return versions;
        core::ProgramEconomics v;
        v.program_id = std::string(program_id);
        v.version = static_cast<int>(statement->Int(0));
        const std::string from = statement->Text(1);
        auto period = core::ParsePeriod(from, "program_economics.effective_from");
        if (!period) return MakeError(ErrorCode::kInternal, period.error().message);
        v.effective_from = *period;
        v.point_value = statement->Int(2);
        v.issuing_fee_bp = statement->Int(3);
        auto breakage = core::ParseBreakagePolicy(statement->Text(4), "program_economics.breakage");
        if (!breakage) return MakeError(ErrorCode::kInternal, breakage.error().message);
        v.breakage = *breakage;
        v.created_at = statement->Time(5);
        versions.push_back(std::move(v));
    }
}

Result<std::vector<SettlementTotal>> SqliteTxn::SettlementTotals(std::string_view program_id,
                                                                 int64_t first_day,
                                                                 int64_t last_day) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT d.store_id, COALESCE(s.name, ''), d.kind, SUM(d.points_in),"
                            " SUM(d.points_out), SUM(d.entries), SUM(d.late_entries)"
                            " FROM settlement_days d LEFT JOIN stores s ON s.store_id = d.store_id"
                            " WHERE d.program_id = ?1 AND d.day BETWEEN ?2 AND ?3"
                            " GROUP BY d.store_id, d.kind ORDER BY d.store_id, d.kind"));
    statement->BindAll(program_id, first_day, last_day);
    std::vector<SettlementTotal> totals;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return totals;
        totals.push_back(SettlementTotal{.store_id = statement->Text(0),
                                         .store_name = statement->Text(1),
                                         .kind = statement->Text(2),
                                         .points_in = statement->Int(3),
                                         .points_out = statement->Int(4),
                                         .entries = statement->Int(5),
                                         .late_entries = statement->Int(6)});
    }
}

Result<int64_t> SqliteTxn::OutstandingBefore(std::string_view program_id, int64_t day) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT COALESCE(SUM(points_in) - SUM(points_out), 0)"
                                            " FROM settlement_days"
                                            " WHERE program_id = ?1 AND day < ?2"));
    statement->BindAll(program_id, day);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    return row ? statement->Int(0) : 0;
}

Result<std::vector<core::LedgerEntry>> SqliteTxn::LateEntries(
    std::string_view program_id, int64_t first_day, int64_t last_day,
    std::optional<std::string_view> store_id, int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT e.entry_id, e.member_id, e.store_id, e.delta, e.kind, e.ref,"
                            " e.occurred_at, e.note, COALESCE(e.recorded_at, e.occurred_at)"
                            " FROM settlement_late_entries l"
                            " JOIN ledger_entries e ON e.entry_id = l.entry_id"
                            " WHERE l.program_id = ?1 AND l.day BETWEEN ?2 AND ?3"
                            " AND (?4 IS NULL OR e.store_id = ?4)"
                            " ORDER BY l.day, l.entry_id LIMIT ?5"));
    statement->BindAll(program_id, first_day, last_day, store_id, limit);
    std::vector<core::LedgerEntry> entries;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return entries;
        core::LedgerEntry e;
        e.entry_id = statement->Int(0);
        e.member_id = statement->Text(1);
        e.program_id = std::string(program_id);
        e.store_id = statement->Text(2);
        e.delta = statement->Int(3);
        const std::string kind = statement->Text(4);
        auto parsed = core::ParseEntryKind(kind);
        if (!parsed) return MakeError(ErrorCode::kInternal, "unknown ledger entry kind " + kind);
        e.kind = *parsed;
        e.ref = statement->Text(5);
        e.occurred_at = statement->Time(6);
        e.note = statement->Text(7);
        e.recorded_at = statement->Time(8);
        entries.push_back(std::move(e));
    }
}

Result<std::optional<SettlementClosing>> SqliteTxn::FindClosing(std::string_view program_id,
                                                                core::Period period) {
    const std::string period_text = core::FormatPeriod(period);
    SettlementClosing closing;
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT closed_at, economics_version, point_value,"
                                                " issuing_fee_bp, breakage, opening_points"
                                                " FROM settlement_closings"
                                                " WHERE program_id = ?1 AND period = ?2"));
        statement->BindAll(program_id, period_text);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return std::optional<SettlementClosing>();
        closing.program_id = std::string(program_id);
        closing.period = period;
        closing.closed_at = statement->Time(0);
        closing.economics.program_id = closing.program_id;
        closing.economics.version = static_cast<int>(statement->Int(1));
        closing.economics.point_value = statement->Int(2);
        closing.economics.issuing_fee_bp = statement->Int(3);
        auto breakage =
            core::ParseBreakagePolicy(statement->Text(4), "settlement_closings.breakage");
        if (!breakage) return MakeError(ErrorCode::kInternal, breakage.error().message);
        closing.economics.breakage = *breakage;
        closing.opening_points = statement->Int(5);
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT store_id, store_name, issued, redeemed,"
                                            " reversed, expired, late_entries"
                                            " FROM settlement_closed_parties"
                                            " WHERE program_id = ?1 AND period = ?2"
                                            " ORDER BY store_id"));
    statement->BindAll(program_id, period_text);
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) break;
        closing.parties.push_back(core::PartyPoints{.store_id = statement->Text(0),
                                                    .store_name = statement->Text(1),
                                                    .issued = statement->Int(2),
                                                    .redeemed = statement->Int(3),
                                                    .reversed = statement->Int(4),
                                                    .expired = statement->Int(5),
                                                    .late_entries = statement->Int(6)});
    }
    return std::optional<SettlementClosing>(std::move(closing));
}

Status SqliteTxn::InsertEconomics(const core::ProgramEconomics& v) {
    const std::string what =
        "inserting economics version " + std::to_string(v.version) + " of program " + v.program_id;
    int64_t latest = 0;
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT COALESCE(MAX(version), 0)"
                                                " FROM program_economics WHERE program_id = ?1"));
        statement->Bind(1, v.program_id);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (row) latest = statement->Int(0);
    }
    if (v.version != latest + 1) {
        return MakeError(ErrorCode::kAlreadyExists,
                         what + ": the next version is " + std::to_string(latest + 1));
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO program_economics (program_id, version,"
                                            " effective_from, point_value, issuing_fee_bp,"
                                            " breakage, created_at)"
                                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    statement->BindAll(v.program_id, v.version, core::FormatPeriod(v.effective_from), v.point_value,
                       v.issuing_fee_bp, core::BreakagePolicyName(v.breakage), v.created_at);
    return InContext(statement->Run(), what);
}

Status SqliteTxn::InsertClosing(const SettlementClosing& c) {
    const std::string period = core::FormatPeriod(c.period);
    const std::string what = "closing " + period + " of program " + c.program_id;
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO settlement_closings (program_id, period, first_day,"
                                " last_day, closed_at, economics_version, point_value,"
                                " issuing_fee_bp, breakage, opening_points)"
                                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
        statement->BindAll(c.program_id, period, core::FirstDayOf(c.period),
                           core::LastDayOf(c.period), c.closed_at, c.economics.version,
                           c.economics.point_value, c.economics.issuing_fee_bp,
                           core::BreakagePolicyName(c.economics.breakage), c.opening_points);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    for (const core::PartyPoints& p : c.parties) {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO settlement_closed_parties (program_id, period,"
                                " store_id, store_name, issued, redeemed, reversed, expired,"
                                " late_entries) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
        statement->BindAll(c.program_id, period, p.store_id, p.store_name, p.issued, p.redeemed,
                           p.reversed, p.expired, p.late_entries);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    return Status::Ok();
}

}  // namespace kizuna::storage::sqlite
