// SqliteTxn: redemption limits, campaigns, tiers and member merges (issue 19; schema: migration
// 13). Kept apart from sqlite_txn.cpp, which holds the ledger's hot paths.
#include <string>

#include "storage/sqlite/sqlite_txn.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;
using core::MakeError;

namespace {

// One integer answer of `statement` (0 when it has no row or a NULL).
Result<int64_t> SingleInt(StatementLease& statement) {
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row || statement->IsNull(0)) return int64_t{0};
    return statement->Int(0);
}

#define KZ_CAMPAIGN_COLUMNS                                                                  \
    "campaign_id, program_id, name, budget_points, granted_points, validity_days, store_id," \
    " created_at"
#define KZ_GRANT_COLUMNS                                                                       \
    "campaign_id, grant_id, member_id, points, lot_id, balance_after, granted_by, granted_at," \
    " expires_at"

core::Campaign ReadCampaign(Statement& s) {
    core::Campaign c;
    c.campaign_id = s.Text(0);
    c.program_id = s.Text(1);
    c.name = s.Text(2);
    c.budget_points = s.Int(3);
    c.granted_points = s.Int(4);
    c.validity_days = static_cast<int>(s.Int(5));
    c.store_id = s.IsNull(6) ? std::string() : s.Text(6);
    c.created_at = s.Time(7);
    return c;
}

core::CampaignGrant ReadGrant(Statement& s) {
    core::CampaignGrant g;
    g.campaign_id = s.Text(0);
    g.grant_id = s.Text(1);
    g.member_id = s.Text(2);
    g.points = s.Int(3);
    g.lot_id = s.Int(4);
    g.balance_after = s.Int(5);
    g.granted_by = s.Text(6);
    g.granted_at = s.Time(7);
    g.expires_at = s.Time(8);
    return g;
}

}  // namespace

// ---- Redemption limits ------------------------------------------------------------------------

Result<core::RedemptionLimits> SqliteTxn::RedemptionLimitsOf(std::string_view program_id) {
    core::RedemptionLimits limits;
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT per_transaction, per_member_month,"
                                                " minimum_balance FROM program_redemption_limits"
                                                " WHERE program_id = ?1"));
        statement->Bind(1, program_id);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return limits;
        if (!statement->IsNull(0)) limits.per_transaction = statement->Int(0);
        if (!statement->IsNull(1)) limits.per_member_month = statement->Int(1);
        limits.minimum_balance = statement->Int(2);
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT store_id FROM program_non_accepting_stores"
                                            " WHERE program_id = ?1"));
    statement->Bind(1, program_id);
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) break;
        limits.non_accepting_stores.insert(statement->Text(0));
    }
    return limits;
}

Result<int64_t> SqliteTxn::RedeemedBetween(std::string_view member_id, std::string_view program_id,
                                           Timestamp from, Timestamp to) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT SUM(points) FROM redemptions"
                                            " WHERE member_id = ?1 AND program_id = ?2"
                                            " AND occurred_at >= ?3 AND occurred_at < ?4"));
    statement->BindAll(member_id, program_id, from, to);
    return SingleInt(statement);
}

Status SqliteTxn::SetRedemptionLimits(std::string_view program_id,
                                      const core::RedemptionLimits& limits, Timestamp at) {
    const std::string what = "setting the redemption limits of program " + std::string(program_id);
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("DELETE FROM program_non_accepting_stores"
                                                " WHERE program_id = ?1"));
        statement->Bind(1, program_id);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    {
        KZ_ASSIGN_OR_RETURN(
            auto statement,
            connection_.Prepare("INSERT INTO program_redemption_limits (program_id,"
                                " per_transaction, per_member_month, minimum_balance, updated_at)"
                                " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (program_id) DO UPDATE"
                                " SET per_transaction = ?2, per_member_month = ?3,"
                                " minimum_balance = ?4, updated_at = ?5"));
        statement->Bind(1, program_id);
        if (limits.per_transaction) {
            statement->Bind(2, *limits.per_transaction);
        } else {
            statement->BindNull(2);
        }
        if (limits.per_member_month) {
            statement->Bind(3, *limits.per_member_month);
        } else {
            statement->BindNull(3);
        }
        statement->Bind(4, limits.minimum_balance);
        statement->Bind(5, at);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO program_non_accepting_stores"
                                            " (program_id, store_id) VALUES (?1, ?2)"));
    for (const std::string& store_id : limits.non_accepting_stores) {
        statement->BindAll(program_id, store_id);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
        statement->Reset();
    }
    return Status::Ok();
}

// ---- Campaigns --------------------------------------------------------------------------------

Result<std::optional<core::Campaign>> SqliteTxn::FindCampaign(std::string_view campaign_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_CAMPAIGN_COLUMNS
                                            " FROM campaigns WHERE campaign_id = ?1"));
    statement->Bind(1, campaign_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<core::Campaign>();
    return std::optional<core::Campaign>(ReadCampaign(*statement));
}

Result<std::optional<core::CampaignGrant>> SqliteTxn::FindCampaignGrant(
    std::string_view campaign_id, std::string_view grant_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_GRANT_COLUMNS " FROM campaign_grants"
                                            " WHERE campaign_id = ?1 AND grant_id = ?2"));
    statement->BindAll(campaign_id, grant_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<core::CampaignGrant>();
    return std::optional<core::CampaignGrant>(ReadGrant(*statement));
}

Result<std::vector<core::CampaignGrant>> SqliteTxn::GrantsOfCampaign(std::string_view campaign_id,
                                                                     int limit) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_GRANT_COLUMNS " FROM campaign_grants"
                                            " WHERE campaign_id = ?1"
                                            " ORDER BY granted_at DESC, lot_id DESC LIMIT ?2"));
    statement->BindAll(campaign_id, limit);
    std::vector<core::CampaignGrant> grants;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return grants;
        grants.push_back(ReadGrant(*statement));
    }
}

Status SqliteTxn::InsertCampaign(const core::Campaign& c) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO campaigns (" KZ_CAMPAIGN_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    statement->BindAll(c.campaign_id, c.program_id, c.name, c.budget_points, c.granted_points,
                       c.validity_days, NullIfEmpty{c.store_id}, c.created_at);
    return InContext(statement->Run(), "inserting campaign " + c.campaign_id);
}

Status SqliteTxn::InsertCampaignGrant(const core::CampaignGrant& g) {
    const std::string what = "granting " + std::to_string(g.points) + " points of campaign " +
                             g.campaign_id + " to member " + g.member_id;
    {
        // The budget check and the decrement in one statement, under the writer: two grants can
        // never both take the last points.
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("UPDATE campaigns SET granted_points ="
                                                " granted_points + ?2 WHERE campaign_id = ?1"
                                                " AND granted_points + ?2 <= budget_points"));
        statement->BindAll(g.campaign_id, g.points);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kRuleViolation,
                         "campaign " + g.campaign_id + " has too few points left to grant " +
                             std::to_string(g.points),
                         "points");
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO campaign_grants (" KZ_GRANT_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    statement->BindAll(g.campaign_id, g.grant_id, g.member_id, g.points, g.lot_id, g.balance_after,
                       g.granted_by, g.granted_at, g.expires_at);
    return InContext(statement->Run(), what);
}

// ---- Tiers ------------------------------------------------------------------------------------

Result<core::TierSchedule> SqliteTxn::TierScheduleOf(std::string_view program_id) {
    core::TierSchedule schedule;
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT basis FROM program_tier_schedules"
                                                " WHERE program_id = ?1"));
        statement->Bind(1, program_id);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return schedule;
        const std::string basis = statement->Text(0);
        KZ_ASSIGN_OR_RETURN(schedule.basis, StoredEnum(core::ParseTierBasis(basis, "basis"),
                                                       "program_tier_schedules.basis", basis));
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT name, threshold, multiplier_milli"
                                            " FROM program_tiers WHERE program_id = ?1"
                                            " ORDER BY position"));
    statement->Bind(1, program_id);
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return schedule;
        schedule.tiers.push_back(
            core::Tier{statement->Text(0), statement->Int(1), statement->Int(2)});
    }
}

Result<std::optional<core::HeldTier>> SqliteTxn::HeldTierOf(std::string_view member_id,
                                                            std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT tier_name, period_start FROM member_tiers"
                                            " WHERE member_id = ?1 AND program_id = ?2"));
    statement->BindAll(member_id, program_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<core::HeldTier>();
    return std::optional<core::HeldTier>(core::HeldTier{statement->Text(0), statement->Time(1)});
}

Result<int64_t> SqliteTxn::TierValueOf(std::string_view member_id, std::string_view program_id,
                                       core::TierBasis basis, Timestamp from, Timestamp to) {
    // Purchases in the window (the member index, by occurred_at), less what refunds of those
    // purchases took back.
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare(
            basis == core::TierBasis::kSpend
                ? "SELECT COALESCE(SUM(p.total), 0) - COALESCE((SELECT SUM(r.amount)"
                  " FROM refunds r JOIN purchases q ON q.purchase_no = r.purchase_no"
                  " WHERE q.member_id = ?1 AND q.program_id = ?2"
                  " AND q.occurred_at > ?3 AND q.occurred_at <= ?4), 0)"
                  " FROM purchases p WHERE p.member_id = ?1 AND p.program_id = ?2"
                  " AND p.occurred_at > ?3 AND p.occurred_at <= ?4"
                : "SELECT COALESCE(SUM(p.points_earned), 0) - COALESCE((SELECT"
                  " SUM(r.points_reversed + r.points_unrecovered)"
                  " FROM refunds r JOIN purchases q ON q.purchase_no = r.purchase_no"
                  " WHERE q.member_id = ?1 AND q.program_id = ?2"
                  " AND q.occurred_at > ?3 AND q.occurred_at <= ?4), 0)"
                  " FROM purchases p WHERE p.member_id = ?1 AND p.program_id = ?2"
                  " AND p.occurred_at > ?3 AND p.occurred_at <= ?4"));
    statement->BindAll(member_id, program_id, from, to);
    KZ_ASSIGN_OR_RETURN(int64_t value, SingleInt(statement));
    return std::max<int64_t>(0, value);
}

Status SqliteTxn::SetTierSchedule(std::string_view program_id, const core::TierSchedule& schedule,
                                  Timestamp at) {
    const std::string what = "setting the tiers of program " + std::string(program_id);
    for (const char* sql : {"DELETE FROM program_tiers WHERE program_id = ?1",
                            "DELETE FROM program_tier_schedules WHERE program_id = ?1"}) {
        KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
        statement->Bind(1, program_id);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    if (schedule.tiers.empty()) return Status::Ok();
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("INSERT INTO program_tier_schedules (program_id,"
                                                " basis, updated_at) VALUES (?1, ?2, ?3)"));
        statement->BindAll(program_id, core::TierBasisName(schedule.basis), at);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO program_tiers (program_id, position,"
                                            " name, threshold, multiplier_milli)"
                                            " VALUES (?1, ?2, ?3, ?4, ?5)"));
    for (std::size_t i = 0; i < schedule.tiers.size(); ++i) {
        const core::Tier& tier = schedule.tiers[i];
        statement->BindAll(program_id, static_cast<int64_t>(i), tier.name, tier.threshold,
                           tier.multiplier_milli);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
        statement->Reset();
    }
    return Status::Ok();
}

Status SqliteTxn::SetHeldTier(std::string_view member_id, std::string_view program_id,
                              const core::HeldTier& held, Timestamp at) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("INSERT INTO member_tiers (member_id, program_id, tier_name,"
                            " period_start, reached_at) VALUES (?1, ?2, ?3, ?4, ?5)"
                            " ON CONFLICT (member_id, program_id) DO UPDATE SET tier_name = ?3,"
                            " period_start = ?4, reached_at = ?5"));
    statement->BindAll(member_id, program_id, held.name, held.period_start, at);
    return InContext(statement->Run(), "keeping the tier of member " + std::string(member_id));
}

// ---- Member merges ----------------------------------------------------------------------------

Result<std::optional<core::MemberHoldings>> SqliteTxn::HoldingsOf(std::string_view member_id) {
    core::MemberHoldings h;
    h.member_id = std::string(member_id);
    {
        KZ_ASSIGN_OR_RETURN(auto statement,
                            connection_.Prepare("SELECT status FROM members WHERE member_id = ?1"));
        statement->Bind(1, member_id);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return std::optional<core::MemberHoldings>();
        h.active = statement->Text(0) == "active";
    }
    KZ_ASSIGN_OR_RETURN(auto balances, BalancesOf(member_id));
    for (const Balance& b : balances) h.balances.push_back({b.program_id, b.points});
    KZ_ASSIGN_OR_RETURN(auto cards, CardsOf(member_id));
    h.cards = static_cast<int64_t>(cards.size());
    for (const core::Card& card : cards) {
        if (card.status == core::CardStatus::kActive) h.active_cards.push_back(card.card_number);
    }
    const auto count = [&](const char* sql, int64_t* out) -> Status {
        KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
        statement->Bind(1, member_id);
        KZ_ASSIGN_OR_RETURN(*out, SingleInt(statement));
        return Status::Ok();
    };
    KZ_RETURN_IF_ERROR(count("SELECT COUNT(*) FROM purchases WHERE member_id = ?1", &h.purchases));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM redemptions WHERE member_id = ?1", &h.redemptions));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM ledger_entries WHERE member_id = ?1", &h.entries));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM lots WHERE member_id = ?1 AND remaining > 0", &h.open_lots));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM reservations WHERE member_id = ?1", &h.reservations));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM offers_sent WHERE member_id = ?1", &h.offers_sent));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM dispatch_recipients"
              " WHERE member_id = ?1 AND state = 'pending'",
              &h.dispatch_pending));
    KZ_RETURN_IF_ERROR(count("SELECT COUNT(*) FROM sessions WHERE member_id = ?1", &h.sessions));
    KZ_RETURN_IF_ERROR(
        count("SELECT COUNT(*) FROM password_resets"
              " WHERE member_id = ?1 AND used_at IS NULL",
              &h.password_resets_open));
    return std::optional<core::MemberHoldings>(std::move(h));
}

Result<std::optional<std::string>> SqliteTxn::MergedInto(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("SELECT survivor_id FROM member_merges"
                                                            " WHERE from_id = ?1"));
    statement->Bind(1, member_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(statement->Text(0));
}

Status SqliteTxn::MergeMembers(const core::MergePlan& plan, std::string_view actor,
                               std::string_view summary, Timestamp at) {
    const std::string what = "merging member " + plan.from_id + " into " + plan.survivor_id;
    // The plan was made on what this unit of work read; check the balances it moves still are.
    for (const core::BalanceMove& move : plan.balances) {
        KZ_ASSIGN_OR_RETURN(int64_t from, BalanceOf(plan.from_id, move.program_id));
        KZ_ASSIGN_OR_RETURN(int64_t survivor, BalanceOf(plan.survivor_id, move.program_id));
        if (from != move.from_points || survivor != move.survivor_before) {
            return MakeError(ErrorCode::kRuleViolation,
                             what + ": the balances changed since the merge was planned");
        }
    }
    // Every row of the from member becomes the survivor's; the balances add up per program.
    static constexpr const char* kMoves[] = {
        "UPDATE purchases SET member_id = ?1 WHERE member_id = ?2",
        "UPDATE redemptions SET member_id = ?1 WHERE member_id = ?2",
        "UPDATE ledger_entries SET member_id = ?1 WHERE member_id = ?2",
        "UPDATE lots SET member_id = ?1 WHERE member_id = ?2",
        ("INSERT INTO balances (member_id, program_id, points)"
         " SELECT ?1, program_id, points FROM balances WHERE member_id = ?2 AND true"
         " ON CONFLICT (member_id, program_id) DO UPDATE SET points = points + excluded.points"),
        "DELETE FROM balances WHERE member_id = ?2",
        "UPDATE reservations SET member_id = ?1 WHERE member_id = ?2",
        "UPDATE campaign_grants SET member_id = ?1 WHERE member_id = ?2",
        // The survivor keeps its own held tier where both have one (its value now counts both
        // members' purchases).
        "UPDATE OR IGNORE member_tiers SET member_id = ?1 WHERE member_id = ?2",
        "DELETE FROM member_tiers WHERE member_id = ?2",
        ("INSERT OR IGNORE INTO member_programs (member_id, program_id)"
         " SELECT ?1, program_id FROM member_programs WHERE member_id = ?2"),
        // The offers the person was sent follow them, so no dispatch sends one again; where
        // both were sent the same offer on a channel, the survivor's row stands for both.
        "UPDATE OR IGNORE offers_sent SET member_id = ?1 WHERE member_id = ?2",
        "DELETE FROM offers_sent WHERE member_id = ?2",
        "DELETE FROM sessions WHERE member_id = ?2",
        "UPDATE members SET status = 'closed' WHERE member_id = ?2",
    };
    for (const char* sql : kMoves) {
        KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
        statement->BindAll(plan.survivor_id, plan.from_id);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    // The same, at the merge's time (?3).
    static constexpr const char* kChangesAt[] = {
        ("UPDATE cards SET status = 'revoked', revoked_at = COALESCE(revoked_at, ?3),"
         " merged_into = ?1 WHERE member_id = ?2"),
        // A run's rows stay under the id it selected (its record of whom it mailed); what it
        // has not sent yet never goes to the closed record.
        ("UPDATE dispatch_recipients SET state = 'skipped', updated_at = ?3,"
         " reason = 'the member was merged into member ' || ?1"
         " WHERE member_id = ?2 AND state = 'pending'"),
        // As when a member leaves (ClosePasswordResets): no reset link opens the closed record.
        "UPDATE password_resets SET used_at = ?3 WHERE member_id = ?2 AND used_at IS NULL",
    };
    for (const char* sql : kChangesAt) {
        KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare(sql));
        statement->BindAll(plan.survivor_id, plan.from_id, at);
        KZ_RETURN_IF_ERROR(InContext(statement->Run(), what));
    }
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO member_merges (survivor_id, from_id,"
                                            " actor, merged_at, points_moved, summary)"
                                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    statement->BindAll(plan.survivor_id, plan.from_id, actor, at, plan.points_moved, summary);
    return InContext(statement->Run(), what);
}

// ---- Invariant checks ---------------------------------------------------------------------------

Result<std::vector<std::string>> SqliteTxn::CheckCampaignRecords() {
    {
        // A database checked before migration 13 (kizuna hub check --file) has no campaigns.
        KZ_ASSIGN_OR_RETURN(auto exists,
                            connection_.Prepare("SELECT COUNT(*) FROM sqlite_master"
                                                " WHERE type = 'table' AND name = 'campaigns'"));
        KZ_ASSIGN_OR_RETURN(int64_t tables, SingleInt(exists));
        if (tables == 0) return std::vector<std::string>();
    }
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare(
            "WITH e AS (SELECT ref, COUNT(*) AS n, SUM(delta) AS total,"
            "                  MIN(member_id) AS member_id"
            "           FROM ledger_entries WHERE kind = 'adjustment' AND ref LIKE 'campaign:%'"
            "           GROUP BY ref)"
            " SELECT 'grant ' || g.campaign_id || '/' || g.grant_id || ': ' || g.points ||"
            "        ' points, ' || COALESCE(e.n, 0) || ' entries totalling ' ||"
            "        COALESCE(e.total, 0) || ', lot of ' || COALESCE(l.earned, 'none')"
            " FROM campaign_grants g"
            " LEFT JOIN e ON e.ref = 'campaign:' || g.campaign_id || ':' || g.grant_id"
            " LEFT JOIN lots l ON l.lot_id = g.lot_id"
            " WHERE e.n IS NULL OR e.n <> 1 OR e.total <> g.points OR e.member_id <> g.member_id"
            "    OR l.earned IS NULL OR l.earned <> g.points OR l.member_id <> g.member_id"
            " UNION ALL SELECT 'campaign ' || c.campaign_id || ': granted_points ' ||"
            "        c.granted_points || ', grants total ' || COALESCE(SUM(g.points), 0)"
            " FROM campaigns c LEFT JOIN campaign_grants g ON g.campaign_id = c.campaign_id"
            " GROUP BY c.campaign_id HAVING c.granted_points <> COALESCE(SUM(g.points), 0)"
            "    OR c.granted_points > c.budget_points"
            " ORDER BY 1"));
    std::vector<std::string> problems;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return problems;
        problems.push_back(statement->Text(0));
    }
}

}  // namespace kizuna::storage::sqlite
