#include "pos/node_store.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <exception>
#include <future>
#include <iterator>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/log_sync.hpp"
#include "storage/sqlite/wal_write_buffer.hpp"

namespace kizuna::pos {

using core::ErrorCode;
using storage::sqlite::Connection;
using storage::sqlite::NullIfEmpty;

namespace {

// The node's schema, version 1. A newer schema gets a new step appended, never an edit.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members(
  member_id TEXT PRIMARY KEY, email TEXT, phone TEXT, balance INTEGER, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS members_email ON members(email);
CREATE INDEX IF NOT EXISTS members_phone ON members(phone);
CREATE TABLE IF NOT EXISTS cards(
  card_number TEXT PRIMARY KEY, member_id TEXT, generation INTEGER NOT NULL,
  revoked INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS cards_member ON cards(member_id);
CREATE TABLE IF NOT EXISTS leases(
  kind TEXT NOT NULL, value TEXT NOT NULL, added INTEGER PRIMARY KEY AUTOINCREMENT,
  UNIQUE(kind, value));
CREATE TABLE IF NOT EXISTS outbox(
  sequence INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
  occurred_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offline_answers(
  kind TEXT NOT NULL, id TEXT NOT NULL, answer TEXT NOT NULL, PRIMARY KEY(kind, id));
CREATE TABLE IF NOT EXISTS purchases(
  purchase_id TEXT PRIMARY KEY, member_id TEXT, total INTEGER NOT NULL, points INTEGER NOT NULL,
  refunded INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS redeemed_offline(
  member_id TEXT NOT NULL, day TEXT NOT NULL, points INTEGER NOT NULL,
  PRIMARY KEY(member_id, day));
CREATE TABLE IF NOT EXISTS reservations(
  reservation_id TEXT PRIMARY KEY, member_id TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reservations_member ON reservations(member_id);
CREATE TABLE IF NOT EXISTS offers(offer_id TEXT PRIMARY KEY, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_results(
  event_id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL,
  http_status INTEGER NOT NULL, body TEXT NOT NULL);
PRAGMA user_version=1;
-- Version 2: the members merged away at the hub (member.merged pulls), each with whom it merged
-- into.
CREATE TABLE IF NOT EXISTS merged_members(
  member_id TEXT PRIMARY KEY, into_member_id TEXT NOT NULL);
PRAGMA user_version=2;
)sql";

}  // namespace

// ---- NodeTxn ---------------------------------------------------------------------------------

core::Result<std::optional<std::string>> NodeTxn::GetMeta(const std::string& key) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT value FROM meta WHERE key=?1"));
    st->BindAll(key);
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st->Text(0));
}

core::Status NodeTxn::SetMeta(const std::string& key, const std::string& value) {
    KZ_ASSIGN_OR_RETURN(auto st,
                        db_.Prepare("INSERT INTO meta(key, value) VALUES(?1, ?2) "
                                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value"));
    st->BindAll(key, value);
    return st->Run();
}

core::Status NodeTxn::PutMember(const CachedMember& m) {
    KZ_ASSIGN_OR_RETURN(
        auto st,
        db_.Prepare("INSERT INTO members(member_id, email, phone, balance, detail) "
                    "VALUES(?1, ?2, ?3, ?4, coalesce(?5, '')) ON CONFLICT(member_id) DO UPDATE SET "
                    "email=coalesce(excluded.email, email), phone=coalesce(excluded.phone, phone), "
                    "balance=coalesce(excluded.balance, balance), "
                    "detail=CASE WHEN ?5 IS NULL THEN detail ELSE ?5 END"));
    st->BindAll(m.member_id, NullIfEmpty{m.email}, NullIfEmpty{m.phone});
    if (m.balance) {
        st->Bind(4, *m.balance);
    } else {
        st->BindNull(4);
    }
    st->Bind(5, NullIfEmpty{m.detail});
    return st->Run();
}

namespace {
CachedMember MemberRow(const storage::sqlite::Statement& st) {
    CachedMember m;
    m.member_id = st.Text(0);
    m.email = st.Text(1);
    m.phone = st.Text(2);
    if (!st.IsNull(3)) m.balance = st.Int(3);
    m.detail = st.Text(4);
    return m;
}
}  // namespace

core::Result<std::optional<CachedMember>> NodeTxn::FindMember(const std::string& member_id) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT member_id, email, phone, balance, detail "
                                             "FROM members WHERE member_id=?1"));
    st->BindAll(member_id);
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<CachedMember>();
    return std::optional<CachedMember>(MemberRow(*st));
}

core::Result<std::optional<CachedMember>> NodeTxn::FindMemberByContact(const std::string& email,
                                                                       const std::string& phone) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT member_id, email, phone, balance, detail "
                                             "FROM members WHERE (?1 IS NOT NULL AND email=?1) "
                                             "OR (?2 IS NOT NULL AND phone=?2) LIMIT 1"));
    st->BindAll(NullIfEmpty{email}, NullIfEmpty{phone});
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<CachedMember>();
    return std::optional<CachedMember>(MemberRow(*st));
}

core::Status NodeTxn::SetBalance(const std::string& member_id, int64_t balance) {
    KZ_ASSIGN_OR_RETURN(auto st,
                        db_.Prepare("INSERT INTO members(member_id, balance, detail) "
                                    "VALUES(?1, ?2, '') ON CONFLICT(member_id) DO UPDATE SET "
                                    "balance=excluded.balance"));
    st->BindAll(member_id, balance);
    return st->Run();
}

core::Status NodeTxn::PutCard(const CachedCard& card) {
    KZ_ASSIGN_OR_RETURN(
        auto st, db_.Prepare("INSERT INTO cards(card_number, member_id, generation, revoked) "
                             "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(card_number) DO UPDATE SET "
                             "member_id=coalesce(excluded.member_id, member_id), "
                             "generation=max(generation, excluded.generation), "
                             "revoked=max(revoked, excluded.revoked)"));
    st->BindAll(card.card_number, NullIfEmpty{card.member_id}, card.generation, card.revoked);
    return st->Run();
}

core::Result<std::optional<CachedCard>> NodeTxn::FindCard(const std::string& card_number) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT card_number, member_id, generation, revoked "
                                             "FROM cards WHERE card_number=?1"));
    st->BindAll(card_number);
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<CachedCard>();
    CachedCard card;
    card.card_number = st->Text(0);
    card.member_id = st->Text(1);
    card.generation = static_cast<int>(st->Int(2));
    card.revoked = st->Bool(3);
    return std::optional<CachedCard>(std::move(card));
}

core::Status NodeTxn::RevokeCard(const std::string& card_number) {
    return PutCard(CachedCard{card_number, "", 0, true});
}

core::Status NodeTxn::RevokeCardsBefore(const std::string& member_id, int generation) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("UPDATE cards SET revoked=1 "
                                             "WHERE member_id=?1 AND generation<?2"));
    st->BindAll(member_id, generation);
    return st->Run();
}

core::Status NodeTxn::MergeMember(const std::string& from, const std::string& into) {
    static constexpr const char* kMoves[] = {
        ("INSERT INTO merged_members(member_id, into_member_id) VALUES(?1, ?2) "
         "ON CONFLICT(member_id) DO UPDATE SET into_member_id=excluded.into_member_id"),
        "UPDATE cards SET member_id=?2 WHERE member_id=?1",
        "UPDATE purchases SET member_id=?2 WHERE member_id=?1",
        ("UPDATE reservations SET member_id=?2, detail=CASE WHEN json_valid(detail) "
         "THEN json_set(detail, '$.member_id', ?2) ELSE detail END WHERE member_id=?1"),
        // The offline cap is the person's: what either record redeemed today counts.
        ("INSERT INTO redeemed_offline(member_id, day, points) SELECT ?2, day, points "
         "FROM redeemed_offline WHERE member_id=?1 AND true "
         "ON CONFLICT(member_id, day) DO UPDATE SET points=points+excluded.points"),
        "DELETE FROM redeemed_offline WHERE member_id=?1 AND member_id<>?2",
        // Its balance moved to the survivor (the event brings the survivor's).
        "UPDATE members SET balance=NULL WHERE member_id=?1 AND member_id<>?2",
    };
    for (const char* sql : kMoves) {
        KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare(sql));
        st->BindAll(from, into);
        KZ_RETURN_IF_ERROR(st->Run());
    }
    return core::Status::Ok();
}

core::Result<std::string> NodeTxn::CurrentMemberId(const std::string& member_id) {
    KZ_ASSIGN_OR_RETURN(
        auto st, db_.Prepare("SELECT into_member_id FROM merged_members WHERE member_id=?1"));
    std::string current = member_id;
    // The hub never merges a merged-away member again, so a chain ends; the bound only guards
    // against a node file that says otherwise.
    for (int hop = 0; hop < 64; ++hop) {
        if (current.empty()) return current;
        st->Reset();
        st->BindAll(current);
        KZ_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) return current;
        current = st->Text(0);
    }
    return core::MakeError(ErrorCode::kInternal,
                           "member " + member_id + " has no end to its chain of merges here");
}

core::Status NodeTxn::AddLeases(const std::string& kind, const std::vector<std::string>& values) {
    for (const std::string& value : values) {
        KZ_ASSIGN_OR_RETURN(
            auto st, db_.Prepare("INSERT OR IGNORE INTO leases(kind, value) VALUES(?1, ?2)"));
        st->BindAll(kind, value);
        KZ_RETURN_IF_ERROR(st->Run());
    }
    return core::Status::Ok();
}

core::Result<int64_t> NodeTxn::CountLeases(const std::string& kind) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT count(*) FROM leases WHERE kind=?1"));
    st->BindAll(kind);
    KZ_RETURN_IF_ERROR(st->Step());
    return st->Int(0);
}

core::Result<std::string> NodeTxn::TakeLease(const std::string& kind) {
    std::string value;
    {
        KZ_ASSIGN_OR_RETURN(
            auto st, db_.Prepare("SELECT value FROM leases WHERE kind=?1 ORDER BY added LIMIT 1"));
        st->BindAll(kind);
        KZ_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) {
            return core::MakeError(ErrorCode::kUnavailable,
                                   "the node has no leased " + kind +
                                       " left; it refills its stock while the hub is reachable");
        }
        value = st->Text(0);
    }
    KZ_ASSIGN_OR_RETURN(auto del, db_.Prepare("DELETE FROM leases WHERE kind=?1 AND value=?2"));
    del->BindAll(kind, value);
    KZ_RETURN_IF_ERROR(del->Run());
    return value;
}

core::Status NodeTxn::AppendOutbox(const OutboxEvent& e) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT INTO outbox(event_id, type, occurred_at, "
                                             "body) VALUES(?1, ?2, ?3, ?4)"));
    st->BindAll(e.event_id, e.type, e.occurred_at, e.body);
    return st->Run();
}

core::Result<std::vector<OutboxEvent>> NodeTxn::PeekOutbox(int limit) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT sequence, event_id, type, occurred_at, body "
                                             "FROM outbox ORDER BY sequence LIMIT ?1"));
    st->BindAll(limit);
    std::vector<OutboxEvent> events;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        events.push_back({st->Int(0), st->Text(1), st->Text(2), st->Text(3), st->Text(4)});
    }
    return events;
}

core::Result<int64_t> NodeTxn::CountOutbox() {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT count(*) FROM outbox"));
    KZ_RETURN_IF_ERROR(st->Step());
    return st->Int(0);
}

core::Status NodeTxn::RemoveOutbox(const std::string& event_id) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("DELETE FROM outbox WHERE event_id=?1"));
    st->BindAll(event_id);
    return st->Run();
}

core::Status NodeTxn::PutOfflineAnswer(const std::string& kind, const std::string& id,
                                       const std::string& answer) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT OR REPLACE INTO offline_answers(kind, id, "
                                             "answer) VALUES(?1, ?2, ?3)"));
    st->BindAll(kind, id, answer);
    return st->Run();
}

core::Result<std::optional<std::string>> NodeTxn::FindOfflineAnswer(const std::string& kind,
                                                                    const std::string& id) {
    KZ_ASSIGN_OR_RETURN(auto st,
                        db_.Prepare("SELECT answer FROM offline_answers WHERE kind=?1 AND id=?2"));
    st->BindAll(kind, id);
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st->Text(0));
}

core::Status NodeTxn::PutPurchase(const LocalPurchase& p) {
    KZ_ASSIGN_OR_RETURN(auto st,
                        db_.Prepare("INSERT OR IGNORE INTO purchases(purchase_id, member_id, "
                                    "total, points, refunded) VALUES(?1, ?2, ?3, ?4, ?5)"));
    st->BindAll(p.purchase_id, NullIfEmpty{p.member_id}, p.total, p.points, p.refunded);
    return st->Run();
}

core::Result<std::optional<NodeTxn::LocalPurchase>> NodeTxn::FindPurchase(
    const std::string& purchase_id) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT purchase_id, member_id, total, points, "
                                             "refunded FROM purchases WHERE purchase_id=?1"));
    st->BindAll(purchase_id);
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<LocalPurchase>();
    return std::optional<LocalPurchase>(
        LocalPurchase{st->Text(0), st->Text(1), st->Int(2), st->Int(3), st->Int(4)});
}

core::Status NodeTxn::AddRefunded(const std::string& purchase_id, int64_t amount) {
    KZ_ASSIGN_OR_RETURN(
        auto st, db_.Prepare("UPDATE purchases SET refunded=refunded+?2 WHERE purchase_id=?1"));
    st->BindAll(purchase_id, amount);
    return st->Run();
}

core::Result<int64_t> NodeTxn::RedeemedOffline(const std::string& member_id,
                                               const std::string& day) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT coalesce(sum(points), 0) FROM "
                                             "redeemed_offline WHERE member_id=?1 AND day=?2"));
    st->BindAll(member_id, day);
    KZ_RETURN_IF_ERROR(st->Step());
    return st->Int(0);
}

core::Status NodeTxn::AddRedeemedOffline(const std::string& member_id, const std::string& day,
                                         int64_t points) {
    KZ_ASSIGN_OR_RETURN(auto st,
                        db_.Prepare("INSERT INTO redeemed_offline(member_id, day, points) "
                                    "VALUES(?1, ?2, ?3) ON CONFLICT(member_id, day) DO UPDATE "
                                    "SET points=points+excluded.points"));
    st->BindAll(member_id, day, points);
    return st->Run();
}

core::Status NodeTxn::PutReservation(const std::string& reservation_id,
                                     const std::string& member_id, const std::string& detail) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT OR REPLACE INTO reservations(reservation_id, "
                                             "member_id, detail) VALUES(?1, ?2, ?3)"));
    st->BindAll(reservation_id, NullIfEmpty{member_id}, detail);
    return st->Run();
}

core::Result<std::optional<std::string>> NodeTxn::FindReservation(
    const std::string& reservation_id) {
    KZ_ASSIGN_OR_RETURN(auto st,
                        db_.Prepare("SELECT detail FROM reservations WHERE reservation_id=?1"));
    st->BindAll(reservation_id);
    KZ_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st->Text(0));
}

core::Result<std::vector<std::string>> NodeTxn::ReservationsOf(const std::string& member_id) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT detail FROM reservations WHERE member_id=?1 "
                                             "ORDER BY reservation_id"));
    st->BindAll(member_id);
    std::vector<std::string> out;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        out.push_back(st->Text(0));
    }
    return out;
}

core::Status NodeTxn::ReplaceOffers(
    const std::vector<std::pair<std::string, std::string>>& offers) {
    KZ_RETURN_IF_ERROR(db_.Run("DELETE FROM offers"));
    for (const auto& [id, detail] : offers) KZ_RETURN_IF_ERROR(PutOffer(id, detail));
    return core::Status::Ok();
}

core::Status NodeTxn::PutOffer(const std::string& offer_id, const std::string& detail) {
    KZ_ASSIGN_OR_RETURN(
        auto st, db_.Prepare("INSERT OR REPLACE INTO offers(offer_id, detail) VALUES(?1, ?2)"));
    st->BindAll(offer_id, detail);
    return st->Run();
}

core::Result<std::vector<std::string>> NodeTxn::Offers() {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT detail FROM offers ORDER BY offer_id"));
    std::vector<std::string> out;
    while (true) {
        KZ_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        out.push_back(st->Text(0));
    }
    return out;
}

core::Status NodeTxn::RecordSyncResult(const std::string& event_id, const std::string& type,
                                       const std::string& status, int64_t http_status,
                                       const std::string& body) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("INSERT OR REPLACE INTO sync_results(event_id, type, "
                                             "status, http_status, body) VALUES(?1,?2,?3,?4,?5)"));
    st->BindAll(event_id, type, status, http_status, body);
    return st->Run();
}

core::Result<int64_t> NodeTxn::CountSyncResults(const std::string& status) {
    KZ_ASSIGN_OR_RETURN(auto st, db_.Prepare("SELECT count(*) FROM sync_results WHERE status=?1"));
    st->BindAll(status);
    KZ_RETURN_IF_ERROR(st->Step());
    return st->Int(0);
}

// ---- NodeStore -------------------------------------------------------------------------------

core::Result<std::unique_ptr<NodeStore>> NodeStore::Open(const std::string& path, bool durable) {
    NodeStoreOptions options;
    options.durable = durable;
    return Open(path, options);
}

core::Result<std::unique_ptr<NodeStore>> NodeStore::Open(const std::string& path,
                                                         const NodeStoreOptions& options) {
    storage::sqlite::DatabaseLocation location;
    location.path = path;
    location.durable = options.durable;
    location.base_vfs = options.base_vfs;
    std::unique_ptr<NodeStore> store(new NodeStore());
    store->options_ = options;
    if (store->options_.max_batch < 1) store->options_.max_batch = 1;
    KZ_ASSIGN_OR_RETURN(store->vfs_, storage::sqlite::WalWriteBuffer::Create(options.base_vfs));
    KZ_ASSIGN_OR_RETURN(store->connection_,
                        Connection::Open(location, Connection::Role::kWriter, store->vfs_->name()));
    KZ_RETURN_IF_ERROR(
        store->connection_->ExecScript(std::string("BEGIN IMMEDIATE;") + kSchema + "COMMIT;"));
    KZ_RETURN_IF_ERROR(store->connection_->ExecScript(
        "PRAGMA wal_autocheckpoint=" + std::to_string(options.checkpoint_pages) + ";"));
    if (options.durable) {
        KZ_ASSIGN_OR_RETURN(store->log_sync_,
                            storage::sqlite::LogSync::Open(store->connection_->handle()));
        if (int rc = store->log_sync_->Sync(); rc != SQLITE_OK) {
            return core::MakeError(ErrorCode::kUnavailable, "cannot sync " + path + "'s log");
        }
    }
    KZ_ASSIGN_OR_RETURN(store->reader_,
                        Connection::Open(location, Connection::Role::kReader, store->vfs_->name()));
    NodeStore* raw = store.get();
    store->writer_ = std::thread([raw] {
        pthread_setname_np(pthread_self(), "kz-node-writer");
        raw->WriterLoop();
    });
    return store;
}

NodeStore::~NodeStore() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queued_.notify_one();
    if (writer_.joinable()) writer_.join();
    log_sync_.reset();  // before the connections, and all before their VFS
    reader_.reset();
    connection_.reset();
    vfs_.reset();
}

core::Status NodeStore::Write(const Unit& unit) {
    if (std::this_thread::get_id() == writer_.get_id()) {
        // The writer would wait for itself.
        return core::MakeError(ErrorCode::kInternal,
                               "NodeStore::Write called from a unit or a completion; write "
                               "through the NodeTxn given");
    }
    std::promise<core::Status> outcome;
    std::future<core::Status> answered = outcome.get_future();
    // `unit` outlives its run: this thread waits below until it is answered.
    WriteAsync([&unit](NodeTxn& txn) { return unit(txn); },
               [&outcome](core::Status status) { outcome.set_value(std::move(status)); });
    return answered.get();
}

void NodeStore::WriteAsync(Unit unit, Done done) {
    std::unique_lock lock(queue_mutex_);
    if (stopping_) {
        lock.unlock();
        return done(core::MakeError(ErrorCode::kUnavailable, "the node is stopping"));
    }
    queue_.push_back(Queued{std::move(unit), std::move(done)});
    // Only an idle writer needs waking (a busy one takes the queue when its batch is answered),
    // and outside the lock: woken while it is held, the writer would only sleep again on it.
    const bool wake = queue_.size() == 1;
    lock.unlock();
    if (wake) queued_.notify_one();
}

void NodeStore::WriteBehind(Unit unit) {
    bool behind = false;
    {
        std::lock_guard lock(queue_mutex_);
        behind = queue_.size() >= options_.max_batch;
    }
    if (behind) {
        (void)Write(unit);
    } else {
        WriteAsync(std::move(unit), [](core::Status) {});
    }
}

void NodeStore::WriterLoop() {
    std::vector<Queued> batch;
    while (true) {
        {
            std::unique_lock lock(queue_mutex_);
            queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued was answered
            if (queue_.size() <= options_.max_batch) {
                batch.swap(queue_);
            } else {
                auto end = queue_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch);
                batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
                queue_.erase(queue_.begin(), end);
            }
        }
        Commit(batch);
        for (Queued& q : batch) {
            try {
                q.done(std::move(q.status));
            } catch (const std::exception& e) {
                spdlog::error("a node write's completion failed: {}", e.what());
            }
        }
        batch.clear();
    }
}

bool NodeStore::RunUnits(std::vector<Queued>& batch, bool isolated, bool& lost) {
    sqlite3* db = connection_->handle();
    for (Queued& q : batch) {
        if (isolated) {
            if (auto saved = connection_->Run("SAVEPOINT unit"); !saved.ok()) {
                lost = true;
                return false;
            }
        }
        const int64_t changes_before = sqlite3_total_changes64(db);
        NodeTxn txn(*connection_);
        try {
            q.status = q.unit(txn);
        } catch (const std::exception& e) {
            q.status = core::MakeError(ErrorCode::kInternal, e.what());
        }
        if (!connection_->InTransaction()) {  // SQLite rolled the whole transaction back
            lost = true;
            return false;
        }
        if (isolated) {
            if (!q.status.ok() && !connection_->Run("ROLLBACK TO unit").ok()) lost = true;
            if (!connection_->Run("RELEASE unit").ok()) lost = true;
            if (lost) return false;
        } else if (!q.status.ok() && sqlite3_total_changes64(db) != changes_before) {
            // Every write a unit makes is an INSERT, UPDATE or DELETE, all counted; a statement
            // that fails is undone by SQLite and not counted. So a unit that failed with the
            // count moved has writes that only a savepoint of its own could undo.
            return false;
        }
    }
    return true;
}

void NodeStore::Commit(std::vector<Queued>& batch) {
    auto fail_all = [&](const core::Error& error) {
        for (Queued& q : batch) q.status = error;
    };
    if (broken_) {
        return fail_all(core::MakeError(ErrorCode::kUnavailable,
                                        "the node's database could not be synced earlier; restart "
                                        "the node"));
    }
    // A savepoint per unit costs about as much as a small unit itself, and nearly every unit
    // either succeeds or fails before it writes: savepoints only when a batch needs them.
    bool lost = false;
    for (bool isolated : {false, true}) {
        if (auto begun = connection_->Run("BEGIN IMMEDIATE"); !begun.ok()) {
            return fail_all(begun.error());
        }
        if (RunUnits(batch, isolated, lost)) break;
        if (lost) {
            if (connection_->InTransaction()) (void)connection_->Run("ROLLBACK");
            return fail_all(core::MakeError(ErrorCode::kUnavailable,
                                            "the node's database rolled the batch back"));
        }
        (void)connection_->Run("ROLLBACK");  // then again, a savepoint per unit
    }
    if (auto committed = connection_->Run("COMMIT"); !committed.ok()) {
        if (connection_->InTransaction()) (void)connection_->Run("ROLLBACK");
        return fail_all(committed.error());
    }
    if (log_sync_ != nullptr) {
        // The frames the buffer still holds reach the file before the sync, whatever order
        // SQLite wrote the commit frame's parts in.
        int rc = storage::sqlite::WalWriteBuffer::FlushLog(connection_->handle());
        if (rc == SQLITE_OK) rc = log_sync_->Sync();
        if (rc != SQLITE_OK) {
            broken_ = true;
            return fail_all(core::MakeError(ErrorCode::kUnavailable,
                                            "the node could not make its database durable (log "
                                            "sync failed, SQLite code " +
                                                std::to_string(rc) + ")"));
        }
    }
}

core::Status NodeStore::Read(const std::function<core::Status(NodeTxn&)>& unit) {
    std::lock_guard lock(reader_mutex_);
    KZ_RETURN_IF_ERROR(reader_->Run("BEGIN"));
    NodeTxn txn(*reader_);
    core::Status status = core::Status::Ok();
    try {
        status = unit(txn);
    } catch (...) {
        (void)reader_->Run("ROLLBACK");
        throw;
    }
    (void)reader_->Run("ROLLBACK");
    return status;
}

}  // namespace kizuna::pos
