#include "bulk_loader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include <sqlite3.h>

#include "core/ledger.hpp"
#include "storage/sqlite/connection.hpp"

namespace kizuna::bench {

using core::ErrorCode;
using storage::sqlite::Connection;
using storage::sqlite::NullIfEmpty;

namespace {

// Column names come from PRAGMA table_info; quoted so any name is a valid identifier.
std::string Quoted(std::string_view name) {
    std::string quoted = "\"";
    for (char c : name) {
        quoted += c;
        if (c == '"') quoted += '"';
    }
    return quoted + "\"";
}

}  // namespace

BulkLoader::BulkLoader(std::string db_path, std::unique_ptr<Connection> connection)
    : db_path_(std::move(db_path)), connection_(std::move(connection)) {}

BulkLoader::~BulkLoader() {
    StopFlusher();
    // Without Finish the transaction is abandoned; with no journal the file may then be
    // unusable, as the header says.
    connection_.reset();
    // Closed only after SQLite's own descriptors: closing any descriptor of a file drops the
    // process's POSIX locks on it, SQLite's included.
    if (fd_ >= 0) ::close(fd_);
}

core::Result<std::unique_ptr<BulkLoader>> BulkLoader::Open(const std::string& db_path) {
    storage::sqlite::DatabaseLocation location;
    location.path = db_path;
    location.durable = false;  // synchronous=OFF; Finish syncs once
    // Nobody else should have the file: do not wait long for someone who does.
    location.busy_timeout_ms = 500;
    KZ_ASSIGN_OR_RETURN(auto connection, Connection::Open(location, Connection::Role::kWriter));
    // No journal: a failed seed is seeded again. SQLite refuses to leave WAL while another
    // connection (a running hub) has the file open.
    {
        KZ_ASSIGN_OR_RETURN(auto mode, connection->Prepare("PRAGMA journal_mode=OFF"));
        KZ_ASSIGN_OR_RETURN(bool row, mode->Step());
        if (!row || mode->Text(0) != "off") {
            return core::MakeError(ErrorCode::kUnavailable,
                                   "cannot switch " + db_path +
                                       " to bulk loading: is a hub or another seed using it?");
        }
    }
    // Foreign keys off: every row this loader writes refers to rows written before it (members
    // before their cards and history, the stores' programs by the hub), so checking each
    // reference only costs time. 64 MiB of page cache: 8 to 64 MiB measured the same, 3 GiB
    // slower (all the writes then wait for the commit).
    KZ_RETURN_IF_ERROR(connection->ExecScript(
        "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; BEGIN"));
    std::unique_ptr<BulkLoader> loader(new BulkLoader(db_path, std::move(connection)));
    loader->fd_ = ::open(db_path.c_str(), O_RDWR | O_CLOEXEC);
    if (loader->fd_ < 0) {
        return core::MakeError(ErrorCode::kUnavailable,
                               "cannot open " + db_path + ": " + std::strerror(errno));
    }
    loader->flusher_ = std::thread([raw = loader.get()] { raw->Flush(); });
    return loader;
}

void BulkLoader::Flush() {
    // Starts the write-back of what SQLite has handed to the OS so far, without waiting for it,
    // once a second: the disk writes while the load computes, and the one fsync at the end
    // waits only for the last second's pages (it waited 2.4 s for 2 GB on a quiet machine, and
    // the bench machine's disk is many times slower under load). A hint: errors are ignored,
    // Finish's fsync is what counts.
    std::unique_lock lock(flusher_mutex_);
    while (!flusher_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
        lock.unlock();
        (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
        lock.lock();
    }
}

void BulkLoader::StopFlusher() {
    if (!flusher_.joinable()) return;
    {
        std::lock_guard lock(flusher_mutex_);
        stop_ = true;
    }
    flusher_wake_.notify_all();
    flusher_.join();
}

// bench_member_id(i) and bench_card_number(i): the ids of BulkMembers::ids[i], without a copy.
template <std::string SeedMember::*kField>
void SeedIdFunction(sqlite3_context* context, int, sqlite3_value** args) {
    const auto* ids = static_cast<const std::vector<SeedMember>*>(sqlite3_user_data(context));
    const sqlite3_int64 i = sqlite3_value_int64(args[0]);
    if (i < 0 || static_cast<size_t>(i) >= ids->size()) {
        sqlite3_result_error(context, "bench seed id out of range", -1);
        return;
    }
    const std::string& id = (*ids)[static_cast<size_t>(i)].*kField;
    sqlite3_result_text(context, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
}

core::Status BulkLoader::InsertMembers(const BulkMembers& members, size_t from, size_t to) {
    if (to > members.ids->size() || from > to) {
        return core::MakeError(ErrorCode::kInvalidArgument, "members out of range");
    }
    if (from == to) return core::Status::Ok();
    sqlite3* db = connection_->handle();
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    void* ids = const_cast<std::vector<SeedMember>*>(members.ids);
    if (sqlite3_create_function_v2(db, "bench_member_id", 1, flags, ids,
                                   SeedIdFunction<&SeedMember::member_id>, nullptr, nullptr,
                                   nullptr) != SQLITE_OK ||
        sqlite3_create_function_v2(db, "bench_card_number", 1, flags, ids,
                                   SeedIdFunction<&SeedMember::card_number>, nullptr, nullptr,
                                   nullptr) != SQLITE_OK) {
        return core::MakeError(
            ErrorCode::kInternal,
            std::string("cannot register the id functions: ") + sqlite3_errmsg(db));
    }
    constexpr const char* kCounter =
        "WITH RECURSIVE s(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2) ";
    // The columns and bound values of SqliteTxn::InsertMember and InsertCard; CheckLikeReference
    // compares the result with rows the hub wrote.
    const core::Member& m = members.like;
    {
        KZ_ASSIGN_OR_RETURN(
            auto insert,
            connection_->Prepare(
                std::string(kCounter) +
                "INSERT INTO members (member_id, password_hash, name, name_kana, postal_code, "
                "address, phone, phone_normalized, birth_date, occupation, email, "
                "consent_email_offers, consent_postal_offers, consent_share_profile, status, "
                "created_at) SELECT bench_member_id(i), ?3, ?4 || (i + 1), ?5, ?6, ?7, ?8, ?9, "
                "?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17 FROM s"));
        insert->BindAll(static_cast<int64_t>(from), static_cast<int64_t>(to), m.password_hash,
                        members.name_prefix, m.profile.name_kana, m.profile.postal_code,
                        m.profile.address, m.profile.phone, core::NormalizePhone(m.profile.phone),
                        m.profile.birth_date, m.profile.occupation, m.profile.email,
                        m.consents.email_offers, m.consents.postal_offers, m.consents.share_profile,
                        m.status == core::MemberStatus::kClosed ? "closed" : "active",
                        m.created_at);
        KZ_RETURN_IF_ERROR(insert->Run());
    }
    const core::Card& c = members.card_like;
    KZ_ASSIGN_OR_RETURN(
        auto insert,
        connection_->Prepare(std::string(kCounter) +
                             "INSERT INTO cards (card_number, member_id, generation, status, "
                             "medium, issued_by_store, issued_at, revoked_at) SELECT "
                             "bench_card_number(i), bench_member_id(i), ?3, ?4, ?5, ?6, ?7, ?8 "
                             "FROM s"));
    insert->BindAll(static_cast<int64_t>(from), static_cast<int64_t>(to), c.generation,
                    core::CardStatusName(c.status), core::CardMediumName(c.medium),
                    NullIfEmpty{c.issued_by_store}, c.issued_at, c.revoked_at);
    return insert->Run();
}

core::Result<int64_t> BulkLoader::MemberRowId(std::string_view member_id) {
    KZ_ASSIGN_OR_RETURN(auto statement,
                        connection_->Prepare("SELECT rowid FROM members WHERE member_id = ?1"));
    statement->Bind(1, member_id);
    KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
    if (!row) return core::MakeError(ErrorCode::kNotFound, "no member " + std::string(member_id));
    return statement->Int(0);
}

core::Status BulkLoader::LoadLedger(const std::vector<BulkStore>& stores, int64_t first_rowid,
                                    const History& history) {
    if (stores.empty() || history.entries < 1) {
        return core::MakeError(ErrorCode::kInvalidArgument, "no stores or no entries to book");
    }
    // Small tables the generated statements join: the home stores, the entries' numbers with
    // their ref and date, and a member's total by rowid % 90 (History::Delta repeats every 90).
    KZ_RETURN_IF_ERROR(connection_->ExecScript(
        "CREATE TEMP TABLE bulk_home (idx INTEGER PRIMARY KEY, store_id TEXT NOT NULL,"
        " program_id TEXT NOT NULL);"
        "CREATE TEMP TABLE bulk_k (n INTEGER PRIMARY KEY, ref TEXT NOT NULL,"
        " occurred_at INTEGER NOT NULL);"
        "CREATE TEMP TABLE bulk_total (r INTEGER PRIMARY KEY, total INTEGER NOT NULL)"));
    for (size_t i = 0; i < stores.size(); ++i) {
        KZ_ASSIGN_OR_RETURN(auto insert,
                            connection_->Prepare("INSERT INTO temp.bulk_home VALUES (?1, ?2, ?3)"));
        insert->BindAll(static_cast<int64_t>(i), stores[i].store_id, stores[i].program_id);
        KZ_RETURN_IF_ERROR(insert->Run());
    }
    for (int n = 1; n <= history.entries; ++n) {
        KZ_ASSIGN_OR_RETURN(auto insert,
                            connection_->Prepare("INSERT INTO temp.bulk_k VALUES (?1, ?2, ?3)"));
        insert->BindAll(n, History::Ref(n), history.OccurredAt(n));
        KZ_RETURN_IF_ERROR(insert->Run());
    }
    for (int r = 0; r < 90; ++r) {
        int64_t total = 0;
        for (int n = 1; n <= history.entries; ++n) total += History::Delta(r, n);
        KZ_ASSIGN_OR_RETURN(auto insert,
                            connection_->Prepare("INSERT INTO temp.bulk_total VALUES (?1, ?2)"));
        insert->BindAll(r, total);
        KZ_RETURN_IF_ERROR(insert->Run());
    }

    const std::string homes = std::to_string(stores.size());
    // Members in rowid order (= member id order: the ids ascend as they were inserted), then
    // their entries 1..N: ledger_entries and ledger_member only append. Columns, order and
    // bound values are SqliteTxn::AppendEntry's (store_id NULL if empty, the kind's name).
    int64_t last_entry_before = 0;
    {
        KZ_ASSIGN_OR_RETURN(auto last, connection_->Prepare("SELECT COALESCE(MAX(entry_id), 0)"
                                                            " FROM ledger_entries"));
        KZ_ASSIGN_OR_RETURN(bool row, last->Step());
        if (row) last_entry_before = last->Int(0);
    }
    {
        KZ_ASSIGN_OR_RETURN(
            auto entries,
            connection_->Prepare(
                "INSERT INTO ledger_entries (member_id, program_id, store_id, delta, kind, ref,"
                " occurred_at, note, recorded_at)"
                " SELECT m.member_id, h.program_id, NULLIF(h.store_id, ''),"
                " 10 + ((m.rowid + k.n) % 90), ?2, k.ref, k.occurred_at, ?3, k.occurred_at"
                " FROM members AS m JOIN temp.bulk_home AS h ON h.idx = m.rowid % " +
                homes +
                " CROSS JOIN temp.bulk_k AS k"
                " WHERE m.rowid >= ?1 ORDER BY m.rowid, k.n"));
        entries->BindAll(first_rowid, core::EntryKindName(core::EntryKind::kAdjustment),
                         History::kNote);
        KZ_RETURN_IF_ERROR(entries->Run());
    }
    // The settlement totals AppendEntry keeps beside each entry: per (program, booking day in
    // Japan time, store, kind), added to what the hub's own entries put there (core/settlement:
    // the day is floor((recorded_at + 9 h) / 1 day)).
    {
        KZ_ASSIGN_OR_RETURN(
            auto totals,
            connection_->Prepare(
                "INSERT INTO settlement_days (program_id, day, store_id, kind, points_in,"
                " points_out, entries, late_entries)"
                " SELECT e.program_id, (e.recorded_at + 32400) / 86400, COALESCE(e.store_id, ''),"
                " e.kind, SUM(MAX(e.delta, 0)), SUM(MAX(-e.delta, 0)), COUNT(*), 0"
                " FROM ledger_entries AS e WHERE e.entry_id > ?1 GROUP BY 1, 2, 3, 4"
                " ON CONFLICT (program_id, day, store_id, kind) DO UPDATE SET"
                " points_in = points_in + excluded.points_in,"
                " points_out = points_out + excluded.points_out,"
                " entries = entries + excluded.entries"));
        totals->Bind(1, last_entry_before);
        KZ_RETURN_IF_ERROR(totals->Run());
    }
    // One lot per member holding the whole sum, as SqliteTxn::InsertLot writes it (no
    // purchase: NULL), and the balance: balance = sum of entries = points left in lots.
    {
        KZ_ASSIGN_OR_RETURN(
            auto lots,
            connection_->Prepare(
                "INSERT INTO lots (member_id, program_id, store_id, purchase_id, earned,"
                " remaining, earned_at, expires_at)"
                " SELECT m.member_id, h.program_id, NULLIF(h.store_id, ''), ?2, t.total, t.total,"
                " ?3, ?4 FROM members AS m JOIN temp.bulk_home AS h ON h.idx = m.rowid % " +
                homes +
                " JOIN temp.bulk_total AS t ON t.r = m.rowid % 90"
                " WHERE m.rowid >= ?1 ORDER BY m.rowid"));
        lots->BindAll(first_rowid, NullIfEmpty{""}, history.now, history.ExpiresAt());
        KZ_RETURN_IF_ERROR(lots->Run());
    }
    {
        KZ_ASSIGN_OR_RETURN(
            auto balances, connection_->Prepare(
                               "INSERT INTO balances (member_id, program_id, points)"
                               " SELECT m.member_id, h.program_id, t.total"
                               " FROM members AS m JOIN temp.bulk_home AS h ON h.idx = m.rowid % " +
                               homes +
                               " JOIN temp.bulk_total AS t ON t.r = m.rowid % 90"
                               " WHERE m.rowid >= ?1 ORDER BY m.rowid"));
        balances->Bind(1, first_rowid);
        KZ_RETURN_IF_ERROR(balances->Run());
    }
    return connection_->ExecScript(
        "DROP TABLE temp.bulk_home; DROP TABLE temp.bulk_k; DROP TABLE temp.bulk_total");
}

core::Status BulkLoader::CheckLikeReference(const std::string& table, const std::string& order_by,
                                            std::string_view reference_member,
                                            std::string_view bulk_member,
                                            const std::vector<std::string>& varying) {
    std::vector<std::string> columns;
    {
        KZ_ASSIGN_OR_RETURN(auto info,
                            connection_->Prepare("SELECT name FROM pragma_table_info(?1)"));
        info->Bind(1, table);
        while (true) {
            KZ_ASSIGN_OR_RETURN(bool row, info->Step());
            if (!row) break;
            columns.push_back(info->Text(0));
        }
    }
    if (columns.empty()) return core::MakeError(ErrorCode::kNotFound, "no table " + table);
    std::string select = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i) {
        if (i > 0) select += ", ";
        select += "typeof(" + Quoted(columns[i]) + "), quote(" + Quoted(columns[i]) + ")";
    }
    select += " FROM " + Quoted(table) + " WHERE member_id = ?1 ORDER BY " + order_by + " LIMIT 1";

    auto read = [&](std::string_view member) -> core::Result<std::vector<std::string>> {
        KZ_ASSIGN_OR_RETURN(auto statement, connection_->Prepare(select));
        statement->Bind(1, member);
        KZ_ASSIGN_OR_RETURN(bool row, statement->Step());
        if (!row) {
            return core::MakeError(ErrorCode::kNotFound,
                                   "no row of member " + std::string(member) + " in " + table);
        }
        std::vector<std::string> values;
        for (int i = 0; i < static_cast<int>(columns.size()) * 2; ++i) {
            values.push_back(statement->Text(i));
        }
        return values;
    };
    KZ_ASSIGN_OR_RETURN(auto reference, read(reference_member));
    KZ_ASSIGN_OR_RETURN(auto bulk, read(bulk_member));
    for (size_t i = 0; i < columns.size(); ++i) {
        const bool same_type = reference[2 * i] == bulk[2 * i];
        const bool must_match =
            std::find(varying.begin(), varying.end(), columns[i]) == varying.end();
        if (!same_type || (must_match && reference[2 * i + 1] != bulk[2 * i + 1])) {
            return core::MakeError(ErrorCode::kInternal,
                                   table + "." + columns[i] + " differs: the hub wrote " +
                                       reference[2 * i + 1] + " (" + reference[2 * i] +
                                       "), the bulk load " + bulk[2 * i + 1] + " (" + bulk[2 * i] +
                                       ")");
        }
    }
    return core::Status::Ok();
}

core::Status BulkLoader::Finish() {
    if (finished_) return core::Status::Ok();
    KZ_RETURN_IF_ERROR(connection_->ExecScript("COMMIT; PRAGMA journal_mode=WAL"));
    finished_ = true;
    connection_.reset();
    StopFlusher();
    // The one fsync of the load (SQLite, with synchronous=OFF, made none; it refuses to change
    // the setting inside the transaction): everything written is in the OS's cache of the file.
    if (::fsync(fd_) != 0) {
        return core::MakeError(ErrorCode::kUnavailable,
                               "cannot sync " + db_path_ + ": " + std::strerror(errno));
    }
    return core::Status::Ok();
}

}  // namespace kizuna::bench
