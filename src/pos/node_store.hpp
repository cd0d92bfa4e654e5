#pragma once
// NodeStore: a store node's local SQLite database (DIR/node.db): what the node knows of its store
// (the store, program, earning rule, offers, the hub's card key), the members and cards it has
// seen with their cached balances, the revoked cards, leased member ids and card numbers, the
// pull cursor, and the OUTBOX of events it created while it could not (or must not) forward.
//
// Durability is the hub storage's discipline (src/storage/README.md, "Durability"): WAL with
// synchronous=NORMAL, and every write transaction is followed by a sync of the log through the
// storage's LogSync before its units are answered, so a unit answered Ok survives a power cut
// (and so a kill -9) of the node.
// Group commit: one writer thread ("kz-node-writer") runs every unit queued while it was busy
// in one transaction, commits once, syncs the log once, then answers each unit. Units run
// without a savepoint each; when one fails after it wrote, the batch is rolled back and run again
// with a savepoint per unit, so a failing unit is still rolled back alone (a unit may therefore
// run twice: it must not act outside its NodeTxn). Log writes are coalesced by the storage's
// WalWriteBuffer (one write per commit rather than two per page).
// Thread-safety: every method is safe from any thread. A unit, and a WriteAsync completion, runs
// on the writer thread: neither may call Write.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace kizuna::storage::sqlite {
class Connection;
class LogSync;
class WalWriteBuffer;
}  // namespace kizuna::storage::sqlite

namespace kizuna::pos {

// One event the node created, waiting to be pushed (POST /v1/sync/push).
struct OutboxEvent {
    int64_t sequence = 0;  // local order
    std::string event_id;  // client-generated, the hub's exactly-once key
    std::string type;      // "purchase.created", …
    std::string occurred_at;
    std::string body;  // JSON object text
};

struct CachedMember {
    std::string member_id;
    std::string email;
    std::string phone;
    std::optional<int64_t> balance;  // the last balance learned (or computed offline)
    std::string detail;              // JSON text of the last GET /v1/members/{id} answer, or ""
};

struct CachedCard {
    std::string card_number;
    std::string member_id;  // empty when only its revocation is known
    int generation = 0;
    bool revoked = false;
};

// The unit of work of NodeStore::Write / Read. Methods report failures as Status; a unit that
// returns an error is rolled back whole.
class NodeTxn {
  public:
    explicit NodeTxn(storage::sqlite::Connection& connection) : db_(connection) {}

    // Small named values: "cursor", "store", "program", "rule", "card_public_key",
    // "last_sync_at", … Missing: none.
    core::Result<std::optional<std::string>> GetMeta(const std::string& key);
    core::Status SetMeta(const std::string& key, const std::string& value);

    // Members and cards. PutMember keeps fields the new value leaves empty (none: unchanged).
    core::Status PutMember(const CachedMember& member);
    core::Result<std::optional<CachedMember>> FindMember(const std::string& member_id);
    core::Result<std::optional<CachedMember>> FindMemberByContact(const std::string& email,
                                                                  const std::string& phone);
    core::Status SetBalance(const std::string& member_id, int64_t balance);
    core::Status PutCard(const CachedCard& card);  // revoked stays revoked
    core::Result<std::optional<CachedCard>> FindCard(const std::string& card_number);
    core::Status RevokeCard(const std::string& card_number);
    // Revokes the member's known cards of a generation below `generation` (a reissue elsewhere).
    core::Status RevokeCardsBefore(const std::string& member_id, int generation);
    // `from` was merged into `into` at the hub (a member.merged pull): remembers it, and moves
    // what the node keeps of `from` (cards, purchases, reservations, offline redemptions) to
    // `into`; `from`'s cached balance is forgotten (it went to `into`).
    core::Status MergeMember(const std::string& from, const std::string& into);
    // The member `member_id` is now: the end of its chain of merges, or itself (also when empty).
    // Errors: kInternal when the chain does not end (never written by the node).
    core::Result<std::string> CurrentMemberId(const std::string& member_id);

    // Leases: values the hub reserved for this node (kind "member_id" / "card_number").
    core::Status AddLeases(const std::string& kind, const std::vector<std::string>& values);
    core::Result<int64_t> CountLeases(const std::string& kind);
    // Takes (removes) the oldest leased value; kUnavailable when none is left.
    core::Result<std::string> TakeLease(const std::string& kind);

    // The outbox, in order.
    core::Status AppendOutbox(const OutboxEvent& event);
    core::Result<std::vector<OutboxEvent>> PeekOutbox(int limit);
    core::Result<int64_t> CountOutbox();
    core::Status RemoveOutbox(const std::string& event_id);

    // Answers given to offline writes, by (kind, client id): a retried write gets the same.
    core::Status PutOfflineAnswer(const std::string& kind, const std::string& id,
                                  const std::string& answer);
    core::Result<std::optional<std::string>> FindOfflineAnswer(const std::string& kind,
                                                               const std::string& id);

    // Purchases made through this node (for offline refunds).
    struct LocalPurchase {
        std::string purchase_id;
        std::string member_id;
        int64_t total = 0;
        int64_t points = 0;
        int64_t refunded = 0;  // money refunded so far
    };
    core::Status PutPurchase(const LocalPurchase& purchase);
    core::Result<std::optional<LocalPurchase>> FindPurchase(const std::string& purchase_id);
    core::Status AddRefunded(const std::string& purchase_id, int64_t amount);

    // Points redeemed offline per member and UTC day ("2026-12-07"), for the offline cap.
    core::Result<int64_t> RedeemedOffline(const std::string& member_id, const std::string& day);
    core::Status AddRedeemedOffline(const std::string& member_id, const std::string& day,
                                    int64_t points);

    // Reservations and offers seen, as the hub's JSON text.
    core::Status PutReservation(const std::string& reservation_id, const std::string& member_id,
                                const std::string& detail);
    core::Result<std::optional<std::string>> FindReservation(const std::string& reservation_id);
    core::Result<std::vector<std::string>> ReservationsOf(const std::string& member_id);
    core::Status ReplaceOffers(const std::vector<std::pair<std::string, std::string>>& offers);
    core::Status PutOffer(const std::string& offer_id, const std::string& detail);
    core::Result<std::vector<std::string>> Offers();

    // What the hub said of a pushed event it did not simply apply (flagged, rejected).
    core::Status RecordSyncResult(const std::string& event_id, const std::string& type,
                                  const std::string& status, int64_t http_status,
                                  const std::string& body);
    core::Result<int64_t> CountSyncResults(const std::string& status);

  private:
    storage::sqlite::Connection& db_;
};

struct NodeStoreOptions {
    // False: no syncs (throw-away test databases).
    bool durable = true;
    // The SQLite VFS under the write buffer; tests pass a power-loss simulation.
    std::string base_vfs = "unix-excl";
    // Units at most in one transaction.
    std::size_t max_batch = 1000;
    // SQLite copies the log into the database on the writer, inside a commit, once the log
    // holds this many pages (PRAGMA wal_autocheckpoint): 10,000 (40 MiB) rather than SQLite's
    // 1,000 copies each hot page (the outbox's last page, a member's row) once where it changed
    // many times. Tests make it small to checkpoint often.
    int checkpoint_pages = 10000;
};

class NodeStore {
  public:
    // Opens (creating) DIR/node.db and starts its writer thread. Errors: kUnavailable (cannot
    // open, another process has it).
    static core::Result<std::unique_ptr<NodeStore>> Open(const std::string& path,
                                                         bool durable = true);
    static core::Result<std::unique_ptr<NodeStore>> Open(const std::string& path,
                                                         const NodeStoreOptions& options);
    // Answers what is queued, then stops the writer.
    ~NodeStore();
    NodeStore(const NodeStore&) = delete;
    NodeStore& operator=(const NodeStore&) = delete;

    using Unit = std::function<core::Status(NodeTxn&)>;
    using Done = std::function<void(core::Status)>;

    // Runs `unit` in a transaction (shared with the other units queued at the same time),
    // commits, syncs the log, and returns Ok only once durable. An error from the unit rolls back
    // that unit alone and is returned; a failed commit or sync fails every unit of the batch
    // (kUnavailable), and after a failed sync every later write fails until the node restarts.
    core::Status Write(const Unit& unit);
    // Write without blocking: queues `unit` and returns at once; `done` gets what Write would
    // have returned, once, on the writer thread, after the sync. `done` must be quick and must
    // not block: hand the outcome to the caller's own thread (as an HTTP answer is).
    void WriteAsync(Unit unit, Done done);
    // For caches, which a crash may lose: queues `unit` and returns without its outcome, unless
    // max_batch units wait already; then it waits as Write does, so that callers faster than the
    // disk are slowed down rather than queue without end.
    void WriteBehind(Unit unit);
    // Runs `unit` in a read transaction on a connection of its own, beside the writer, never
    // waiting for it: it sees every commit so far, including one whose sync is still running
    // (as the hub's readers do; nobody is told a write succeeded before its sync). A unit that
    // tries to write fails.
    core::Status Read(const std::function<core::Status(NodeTxn&)>& unit);

  private:
    struct Queued {
        Unit unit;
        Done done;
        core::Status status = core::Status::Ok();
    };
    NodeStore() = default;
    void WriterLoop();
    // Runs `batch` in one transaction and syncs; sets each unit's status.
    void Commit(std::vector<Queued>& batch);
    // Runs the units from the first, with a savepoint each when `isolated`. False: a unit
    // failed after it wrote (rerun isolated), or the transaction is gone (`lost`).
    bool RunUnits(std::vector<Queued>& batch, bool isolated, bool& lost);

    NodeStoreOptions options_;
    std::mutex queue_mutex_;  // guards queue_ and stopping_
    std::condition_variable queued_;
    std::vector<Queued> queue_;
    bool stopping_ = false;
    std::thread writer_;
    // Set by a failed sync: what the disk holds is then unknown, so every later write fails
    // until the node restarts (as the hub's storage does). Writer thread only.
    bool broken_ = false;
    std::unique_ptr<storage::sqlite::WalWriteBuffer> vfs_;
    std::unique_ptr<storage::sqlite::Connection> connection_;  // the writer thread's
    std::mutex reader_mutex_;                                  // guards reader_
    std::unique_ptr<storage::sqlite::Connection> reader_;
    std::unique_ptr<storage::sqlite::LogSync> log_sync_;  // null when not durable
};

}  // namespace kizuna::pos
