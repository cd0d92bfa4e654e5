// SqliteTxn's store node sync methods (migration 8): id leases, pushed-event records, conflicts,
// and the per-program reads of a node's pull and bootstrap.
#include <string>

#include "storage/sqlite/sqlite_txn.hpp"

namespace kizuna::storage::sqlite {
namespace {

SyncRecord ReadSyncRecord(Statement& s) {
    SyncRecord r;
    r.store_id = s.Text(0);
    r.event_id = s.Text(1);
    r.type = s.Text(2);
    r.occurred_at = s.Time(3);
    r.terminal_id = s.IsNull(4) ? std::string() : s.Text(4);
    r.status = s.Text(5);
    r.http_status = static_cast<int>(s.Int(6));
    r.body = s.Text(7);
    r.applied_at = s.Time(8);
    return r;
}

SyncConflict ReadConflict(Statement& s) {
    SyncConflict c;
    c.conflict_id = s.Int(0);
    c.store_id = s.Text(1);
    c.event_id = s.Text(2);
    c.kind = s.Text(3);
    c.member_id = s.Text(4);
    c.other_member_id = s.IsNull(5) ? std::string() : s.Text(5);
    c.card_number = s.IsNull(6) ? std::string() : s.Text(6);
    c.points_short = s.Int(7);
    c.detail = s.Text(8);
    c.created_at = s.Time(9);
    return c;
}

}  // namespace

Result<std::optional<IdLease>> SqliteTxn::FindIdLease(std::string_view kind,
                                                      std::string_view value) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT kind, value, store_id, leased_at, used_at"
                                            " FROM id_leases WHERE kind = ?1 AND value = ?2"));
    statement->BindAll(kind, value);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<IdLease>();
    return std::optional<IdLease>(IdLease{statement->Text(0), statement->Text(1),
                                          statement->Text(2), statement->Time(3),
                                          statement->OptionalTime(4)});
}

Result<std::optional<SyncRecord>> SqliteTxn::FindSyncRecord(std::string_view store_id,
                                                            std::string_view event_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT store_id, event_id, type, occurred_at,"
                                            " terminal_id, status, http_status, body, applied_at"
                                            " FROM sync_events WHERE store_id = ?1"
                                            " AND event_id = ?2"));
    statement->BindAll(store_id, event_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return std::optional<SyncRecord>();
    return std::optional<SyncRecord>(ReadSyncRecord(*statement));
}

Result<std::vector<SyncConflict>> SqliteTxn::SyncConflicts(std::optional<std::string_view> store_id,
                                                           int64_t after, int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT conflict_id, store_id, event_id, kind, member_id,"
                            " other_member_id, card_number, points_short, detail, created_at"
                            " FROM sync_conflicts WHERE (?1 IS NULL OR store_id = ?1)"
                            " AND conflict_id > ?2 ORDER BY conflict_id LIMIT ?3"));
    statement->BindAll(store_id, after, limit);
    std::vector<SyncConflict> conflicts;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return conflicts;
        conflicts.push_back(ReadConflict(*statement));
    }
}

Result<std::vector<Event>> SqliteTxn::ProgramEventsAfter(std::string_view program_id, int64_t after,
                                                         int limit) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("SELECT sequence, type, program_id, member_id, created_at, payload"
                            " FROM events WHERE program_id = ?1 AND sequence > ?2"
                            " ORDER BY sequence LIMIT ?3"));
    statement->BindAll(program_id, after, limit);
    std::vector<Event> events;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return events;
        Event e;
        e.sequence = statement->Int(0);
        e.type = statement->Text(1);
        e.program_id = statement->IsNull(2) ? std::string() : statement->Text(2);
        e.member_id = statement->IsNull(3) ? std::string() : statement->Text(3);
        e.created_at = statement->Time(4);
        e.payload = statement->Text(5);
        events.push_back(std::move(e));
    }
}

Result<std::vector<std::string>> SqliteTxn::RevokedCardsOfProgram(std::string_view program_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("SELECT c.card_number FROM cards c"
                                            " JOIN member_programs mp ON mp.member_id = c.member_id"
                                            " WHERE mp.program_id = ?1 AND c.status = 'revoked'"
                                            " ORDER BY c.card_number"));
    statement->Bind(1, program_id);
    std::vector<std::string> numbers;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) return numbers;
        numbers.push_back(statement->Text(0));
    }
}

Status SqliteTxn::InsertIdLease(const IdLease& lease) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO id_leases (kind, value, store_id,"
                                            " leased_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
    statement->BindAll(lease.kind, lease.value, lease.store_id, lease.leased_at, lease.used_at);
    return statement->Run();
}

Status SqliteTxn::UseIdLease(std::string_view kind, std::string_view value,
                             std::string_view store_id, Timestamp at) {
    KZ_ASSIGN_OR_RETURN(auto lease, FindIdLease(kind, value));
    if (!lease || lease->store_id != store_id) {
        return MakeError(core::ErrorCode::kNotFound,
                         std::string(kind) + " " + std::string(value) +
                             " was not leased to this store; lease ids with POST /v1/sync/leases",
                         std::string(kind));
    }
    if (lease->used_at) {
        return MakeError(core::ErrorCode::kAlreadyExists,
                         std::string(kind) + " " + std::string(value) + " was used already",
                         std::string(kind));
    }
    KZ_ASSIGN_OR_RETURN(auto statement, connection_.Prepare("UPDATE id_leases SET used_at = ?3"
                                                            " WHERE kind = ?1 AND value = ?2"));
    statement->BindAll(kind, value, at);
    return statement->Run();
}

Status SqliteTxn::InsertSyncRecord(const SyncRecord& r) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_.Prepare("INSERT INTO sync_events (store_id, event_id, type,"
                                            " occurred_at, terminal_id, status, http_status, body,"
                                            " applied_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                                            " ?9)"));
    statement->BindAll(r.store_id, r.event_id, r.type, r.occurred_at, NullIfEmpty{r.terminal_id},
                       r.status, static_cast<int64_t>(r.http_status), r.body, r.applied_at);
    return statement->Run();
}

Result<int64_t> SqliteTxn::InsertSyncConflict(const SyncConflict& c) {
    KZ_ASSIGN_OR_RETURN(
        auto statement,
        connection_.Prepare("INSERT INTO sync_conflicts (store_id, event_id, kind, member_id,"
                            " other_member_id, card_number, points_short, detail, created_at)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    statement->BindAll(c.store_id, c.event_id, c.kind, c.member_id, NullIfEmpty{c.other_member_id},
                       NullIfEmpty{c.card_number}, c.points_short, c.detail, c.created_at);
    KZ_RETURN_IF_ERROR(statement->Run());
    return connection_.LastInsertRowId();
}

}  // namespace kizuna::storage::sqlite
