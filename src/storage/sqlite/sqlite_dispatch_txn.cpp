// The SQLite side of offer dispatch (issue 18): runs, their recipient outbox, the offers sent,
// and the selection's bulk reads over a range of member ids (one query per kind of data per
// page of members, each walking an index that starts with member_id).
#include <sstream>

#include "storage/sqlite/sqlite_txn.hpp"

namespace kizuna::storage::sqlite {

using core::ErrorCode;
using core::MakeError;

namespace {

std::string JoinChannels(const std::vector<std::string>& channels) {
    std::string joined;
    for (const std::string& channel : channels) joined += (joined.empty() ? "" : ",") + channel;
    return joined;
}

std::vector<std::string> SplitChannels(const std::string& text) {
    std::vector<std::string> channels;
    std::stringstream parts(text);
    std::string part;
    while (std::getline(parts, part, ',')) {
        if (!part.empty()) channels.push_back(part);
    }
    return channels;
}

#define KZ_DISPATCH_COLUMNS                                                                  \
    "dispatch_id, status, dry_run, channels, program_id, max_per_member, include_general, "  \
    "created_by, created_at, updated_at, finished_at, paused_until, select_after, members, " \
    "error"

DispatchRun ReadRun(Statement& s) {
    DispatchRun run;
    run.dispatch_id = s.Text(0);
    run.status = s.Text(1);
    run.dry_run = s.Bool(2);
    run.channels = SplitChannels(s.Text(3));
    run.program_id = s.Text(4);
    run.max_per_member = static_cast<int>(s.Int(5));
    run.include_general = s.Bool(6);
    run.created_by = s.Text(7);
    run.created_at = s.Time(8);
    run.updated_at = s.Time(9);
    run.finished_at = s.OptionalTime(10);
    run.paused_until = s.OptionalTime(11);
    run.select_after = s.Text(12);
    run.members = s.Int(13);
    run.error = s.Text(14);
    return run;
}

#define KZ_RECIPIENT_COLUMNS                                                                 \
    "dispatch_id, member_id, channel, state, items, attempts, next_attempt_at, updated_at, " \
    "reason"

DispatchRecipient ReadRecipient(Statement& s) {
    DispatchRecipient r;
    r.dispatch_id = s.Text(0);
    r.member_id = s.Text(1);
    r.channel = s.Text(2);
    r.state = s.Text(3);
    r.items = s.Text(4);
    r.attempts = static_cast<int>(s.Int(5));
    r.next_attempt_at = s.Time(6);
    r.updated_at = s.Time(7);
    r.reason = s.Text(8);
    return r;
}

}  // namespace

Result<std::optional<DispatchRun>> SqliteTxn::FindDispatch(std::string_view dispatch_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_DISPATCH_COLUMNS " FROM dispatch_runs"
                                            " WHERE dispatch_id = ?1"));
    statement->Bind(1, dispatch_id);
    KZ_ASSIGN_OR_RETURN(auto runs, Collect<DispatchRun>(statement, ReadRun));
    if (runs.empty()) return std::optional<DispatchRun>();
    return std::optional<DispatchRun>(std::move(runs.front()));
}

Result<std::vector<DispatchRun>> SqliteTxn::ListDispatches(int limit) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_DISPATCH_COLUMNS " FROM dispatch_runs"
                                            " ORDER BY created_at DESC, dispatch_id DESC"
                                            " LIMIT ?1"));
    statement->Bind(1, limit);
    return Collect<DispatchRun>(statement, ReadRun);
}

Result<std::vector<DispatchRun>> SqliteTxn::UnfinishedDispatches() {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT " KZ_DISPATCH_COLUMNS " FROM dispatch_runs"
                                            " WHERE status IN ('selecting', 'running', 'paused')"
                                            " ORDER BY created_at, dispatch_id"));
    return Collect<DispatchRun>(statement, ReadRun);
}

Result<std::vector<DispatchStateCount>> SqliteTxn::DispatchStateCounts(
    std::string_view dispatch_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT channel, state, COUNT(*)"
                                            " FROM dispatch_recipients WHERE dispatch_id = ?1"
                                            " GROUP BY channel, state ORDER BY channel, state"));
    statement->Bind(1, dispatch_id);
    return Collect<DispatchStateCount>(statement, [](Statement& s) {
        return DispatchStateCount{s.Text(0), s.Text(1), s.Int(2)};
    });
}

Result<std::vector<DispatchRecipient>> SqliteTxn::DispatchRecipients(
    std::string_view dispatch_id, std::string_view channel,
    std::optional<std::pair<std::string, std::string>> after, int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT " KZ_RECIPIENT_COLUMNS " FROM dispatch_recipients"
                            " WHERE dispatch_id = ?1 AND (?2 = '' OR channel = ?2)"
                            " AND (member_id, channel) > (?3, ?4)"
                            " ORDER BY member_id, channel LIMIT ?5"));
    statement->BindAll(dispatch_id, channel, after ? after->first : std::string(),
                       after ? after->second : std::string(), limit);
    return Collect<DispatchRecipient>(statement, ReadRecipient);
}

Result<std::vector<DispatchRecipient>> SqliteTxn::DispatchRecipientsInState(
    std::string_view dispatch_id, std::string_view channel, std::string_view state, Timestamp now,
    int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT " KZ_RECIPIENT_COLUMNS " FROM dispatch_recipients"
                            " WHERE dispatch_id = ?1 AND channel = ?2 AND state = ?3"
                            " AND (?3 <> 'pending' OR next_attempt_at <= ?4)"
                            " ORDER BY next_attempt_at, member_id LIMIT ?5"));
    statement->BindAll(dispatch_id, channel, state, now, limit);
    return Collect<DispatchRecipient>(statement, ReadRecipient);
}

Result<std::optional<Timestamp>> SqliteTxn::NextDispatchAttempt(std::string_view dispatch_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT MIN(next_attempt_at) FROM dispatch_recipients"
                                            " WHERE dispatch_id = ?1 AND state = 'pending'"));
    statement->Bind(1, dispatch_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row || statement->IsNull(0)) return std::optional<Timestamp>();
    return std::optional<Timestamp>(statement->Time(0));
}

Result<std::vector<DispatchMember>> SqliteTxn::DispatchMembersAfter(std::string_view after,
                                                                    int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT member_id, name, postal_code, address, email,"
                            " consent_email_offers, consent_postal_offers, consent_share_profile,"
                            " status FROM members WHERE member_id > ?1"
                            " ORDER BY member_id LIMIT ?2"));
    statement->BindAll(after, limit);
    return Collect<DispatchMember>(statement, [](Statement& s) {
        DispatchMember m;
        m.member_id = s.Text(0);
        m.name = s.Text(1);
        m.postal_code = s.Text(2);
        m.address = s.Text(3);
        m.email = s.Text(4);
        m.consents.email_offers = s.Bool(5);
        m.consents.postal_offers = s.Bool(6);
        m.consents.share_profile = s.Bool(7);
        m.status =
            s.TextView(8) == "closed" ? core::MemberStatus::kClosed : core::MemberStatus::kActive;
        return m;
    });
}

Result<std::vector<PurchaseSpend>> SqliteTxn::PurchaseSpendBetween(std::string_view first,
                                                                   std::string_view last,
                                                                   Timestamp since) {
    // purchases_member (member_id, occurred_at) bounds the walk; lines by their primary key.
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT p.member_id, p.purchase_no, p.store_id, p.program_id,"
                            " p.occurred_at, COALESCE(l.category, ''),"
                            " COALESCE(l.quantity * l.unit_price, p.total)"
                            " FROM purchases p LEFT JOIN purchase_lines l"
                            " ON l.purchase_no = p.purchase_no"
                            " WHERE p.member_id BETWEEN ?1 AND ?2 AND p.occurred_at >= ?3"));
    statement->BindAll(first, last, since);
    return Collect<PurchaseSpend>(statement, [](Statement& s) {
        return PurchaseSpend{s.Text(0), s.Int(1),  s.Text(2), s.Text(3),
                             s.Time(4), s.Text(5), s.Int(6)};
    });
}

Result<std::vector<SentOffer>> SqliteTxn::SentOffersBetween(std::string_view first,
                                                            std::string_view last) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT member_id, offer_id, channel, dispatch_id,"
                                            " sent_at FROM offers_sent"
                                            " WHERE member_id BETWEEN ?1 AND ?2"));
    statement->BindAll(first, last);
    return Collect<SentOffer>(statement, [](Statement& s) {
        return SentOffer{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Time(4)};
    });
}

Result<std::vector<OpenLotSummary>> SqliteTxn::OpenLotsBetween(std::string_view first,
                                                               std::string_view last) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT member_id, program_id, remaining, expires_at"
                                            " FROM lots WHERE member_id BETWEEN ?1 AND ?2"
                                            " AND remaining > 0"));
    statement->BindAll(first, last);
    return Collect<OpenLotSummary>(statement, [](Statement& s) {
        return OpenLotSummary{s.Text(0), s.Text(1), s.Int(2), s.Time(3)};
    });
}

Result<std::vector<MemberProgram>> SqliteTxn::MemberProgramsBetween(std::string_view first,
                                                                    std::string_view last) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT member_id, program_id FROM member_programs"
                                            " WHERE member_id BETWEEN ?1 AND ?2"));
    statement->BindAll(first, last);
    return Collect<MemberProgram>(statement, [](Statement& s) {
        return MemberProgram{s.Text(0), s.Text(1)};
    });
}

Status SqliteTxn::InsertDispatch(const DispatchRun& run) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO dispatch_runs (" KZ_DISPATCH_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                                            " ?11, ?12, ?13, ?14, ?15)"));
    statement->BindAll(run.dispatch_id, run.status, run.dry_run, JoinChannels(run.channels),
                       NullIfEmpty{run.program_id}, run.max_per_member, run.include_general,
                       run.created_by, run.created_at, run.updated_at, run.finished_at,
                       run.paused_until, run.select_after, run.members, run.error);
    return statement->Run();
}

Status SqliteTxn::UpdateDispatch(const DispatchRun& run) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE dispatch_runs SET status = ?2,"
                                            " updated_at = ?3, finished_at = ?4,"
                                            " paused_until = ?5, select_after = ?6, members = ?7,"
                                            " error = ?8 WHERE dispatch_id = ?1"));
    statement->BindAll(run.dispatch_id, run.status, run.updated_at, run.finished_at,
                       run.paused_until, run.select_after, run.members, run.error);
    KZ_RETURN_IF_ERROR(statement->Run());
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no dispatch " + run.dispatch_id);
    }
    return Status::Ok();
}

Status SqliteTxn::InsertDispatchRecipient(const DispatchRecipient& r) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO dispatch_recipients (" KZ_RECIPIENT_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    statement->BindAll(r.dispatch_id, r.member_id, r.channel, r.state, r.items, r.attempts,
                       r.next_attempt_at, r.updated_at, r.reason);
    return statement->Run();
}

Status SqliteTxn::UpdateDispatchRecipient(const DispatchRecipient& r) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("UPDATE dispatch_recipients SET state = ?4,"
                                            " attempts = ?5, next_attempt_at = ?6,"
                                            " updated_at = ?7, reason = ?8"
                                            " WHERE dispatch_id = ?1 AND member_id = ?2"
                                            " AND channel = ?3"));
    statement->BindAll(r.dispatch_id, r.member_id, r.channel, r.state, r.attempts,
                       r.next_attempt_at, r.updated_at, r.reason);
    KZ_RETURN_IF_ERROR(statement->Run());
    if (connection_.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no recipient " + r.member_id + " (" + r.channel +
                                                   ") in dispatch " + r.dispatch_id);
    }
    return Status::Ok();
}

Status SqliteTxn::InsertSentOffer(const SentOffer& sent) {
    // The member at the end of the chain of merges from sent.member_id (itself when none):
    // member_merges.from_id is unique and a closed member never survives a merge, so the chain
    // is a simple path.
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("WITH RECURSIVE chain (member_id, depth) AS (SELECT ?1, 0"
                            " UNION ALL SELECT m.survivor_id, c.depth + 1 FROM member_merges m"
                            " JOIN chain c ON m.from_id = c.member_id)"
                            " INSERT OR IGNORE INTO offers_sent (member_id, offer_id, channel,"
                            " dispatch_id, sent_at)"
                            " SELECT member_id, ?2, ?3, ?4, ?5 FROM chain"
                            " ORDER BY depth DESC LIMIT 1"));
    statement->BindAll(sent.member_id, sent.offer_id, sent.channel, sent.dispatch_id, sent.sent_at);
    return statement->Run();
}

#undef KZ_DISPATCH_COLUMNS
#undef KZ_RECIPIENT_COLUMNS

}  // namespace kizuna::storage::sqlite
