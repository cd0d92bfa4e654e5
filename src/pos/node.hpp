#pragma once
// Node: the store node's behaviour (issue 16, DESIGN.md "Store node and sync"). Each store call
// is forwarded to the hub and answered with the hub's answer, caching what it taught (members,
// cards, balances, reservations). When the hub is down (no answer, or 5xx) a write is done
// offline: points by core's earning rule engine, ids from leased blocks, "already registered?"
// from the cache, revoked cards refused, redemption only when enabled and capped per member per
// day; the write goes to the OUTBOX and is answered 202 with the hub's body plus
// "pending": true. While the outbox holds anything, new writes join it (not forwarded) so the
// hub sees them in order. Sync pushes the outbox in order (batches of at most 500, each entry
// removed only after the hub answered for it: the hub applies each event_id once, so a crash
// between its commit and ours is harmless), then pulls the hub's changes from the cursor
// (applied and the cursor moved in one local transaction), then refills the id leases.
// Thread-safety: every method is safe from any number of threads at once; Sync runs one at a
// time.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/random.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "pos/hub_link.hpp"
#include "pos/node_store.hpp"

namespace kizuna::pos {

struct NodeOptions {
    // Points a member may redeem offline per UTC day; 0: no offline redemption.
    int64_t offline_redemption_cap = 0;
    int lease_stock = 100;  // member ids and card numbers kept leased for offline enrollment
    int push_batch = 500;   // events per POST /v1/sync/push (the hub takes at most 500)
    int pull_limit = 500;   // events per GET /v1/sync/pull
};

// Who is at the till, as the caller presented it (issue 17): its bearer token (the store's API
// key, or one of the store's terminal keys) and its Kizuna-Staff header ("STAFF_ID:PIN", or
// empty). Online both go to the hub with the call; offline the node checks them itself against
// the store's terminals and staff it last pulled (GET /v1/sync/till) and records the terminal and
// the staff member on the outbox event, which the hub applies as them.
struct TillCall {
    std::string token;  // a terminal's key; empty: the store's own (the node's)
    std::string staff;
};

// An answer to give the caller: HTTP status and JSON body text.
struct NodeAnswer {
    int status = 200;
    std::string body;
};

struct NodeStatus {
    bool hub_reachable = false;
    int64_t outbox_pending = 0;
    std::optional<std::string> last_sync_at;  // RFC 3339
    int64_t cursor = 0;
    int64_t flagged = 0;   // pushed events the hub applied but flagged (an offline over-spend)
    int64_t rejected = 0;  // pushed events the hub refused (kept in the node's sync_results)
};

class Node {
  public:
    // `store`, `hub`, `clock` and `random` must outlive the node.
    Node(NodeStore& store, HubLink& hub, const core::Clock& clock, core::Random& random,
         NodeOptions options);

    // Reads the outbox size; bootstraps from the hub (store, rule, offers, card key, revoked
    // cards, cursor) if this node never has. Errors: kUnavailable when it never bootstrapped
    // and the hub cannot be reached (the node may still serve; Sync bootstraps later).
    core::Status Start();

    // The terminal a caller's key names: one of the store's terminals the node has pulled and
    // that is not revoked (a terminal added at the hub is known here after the next sync); none
    // for anything else.
    std::optional<std::string> TerminalOf(const std::string& token);

    // The store endpoints, with the hub's contract. `body` is the request body as sent; `till`
    // who is at the till (default: the store itself, nobody identified).
    NodeAnswer Enroll(const std::string& body, const TillCall& till = {});
    NodeAnswer SearchMembers(const std::string& body, const TillCall& till = {});
    NodeAnswer ReissueCard(const std::string& member_id, const std::string& body,
                           const TillCall& till = {});
    NodeAnswer GetMember(const std::string& member_id, const TillCall& till = {});
    NodeAnswer Purchase(const std::string& body, const TillCall& till = {});
    // A purchase done offline without a thread waiting on it: answered through `reply`, at once
    // (a request refused before any write) or on the store's writer thread once durable. For
    // when QueuesWrites(): Purchase would not forward it either. `till` is identified on the
    // calling thread (a store read; a PIN's hash check when the PIN is not remembered).
    using Reply = std::function<void(NodeAnswer)>;
    void PurchaseOffline(const std::string& body, const TillCall& till, Reply reply);
    // True while the outbox holds something, so that writes join it rather than go to the hub.
    bool QueuesWrites() const { return outbox_pending_.load() > 0; }
    NodeAnswer Redeem(const std::string& body, const TillCall& till = {});
    NodeAnswer Refund(const std::string& purchase_id, const std::string& body,
                      const TillCall& till = {});
    NodeAnswer CreateReservation(const std::string& body, const TillCall& till = {});
    NodeAnswer UpdateReservation(const std::string& reservation_id, const std::string& body,
                                 const TillCall& till = {});
    NodeAnswer ListReservations(const std::string& member_id, const std::string& query,
                                const TillCall& till = {});
    NodeAnswer Offers(const TillCall& till = {});
    NodeAnswer StoreMe(const TillCall& till = {});
    // Any other call, with the caller's token (empty: none) and Kizuna-Staff header (a void
    // needs a manager's): forwarded, or 503 when the hub is down.
    NodeAnswer PassThrough(const std::string& method, const std::string& target,
                           const std::string* body, const std::string& token,
                           const std::string& staff = {});

    // Push then pull then lease refill. Errors: kUnavailable when the hub cannot be reached
    // (what was done before stays done).
    core::Status Sync();
    NodeStatus Status();

  private:
    struct Offline;  // the offline handlers (node.cpp)
    // The till identified offline: terminal and staff checked against what was pulled.
    struct TillIdentity {
        std::string terminal_id;
        std::string staff_id;
        bool manager = false;         // a manager's PIN came with the call
        bool manager_rights = false;  // as hub::Caller::HasManagerRights
    };
    // Errors: kUnauthenticated (unknown or revoked terminal key, malformed Kizuna-Staff, unknown
    // or removed staff member, wrong PIN), as the hub would answer.
    core::Result<TillIdentity> Identify(const TillCall& till);
    bool PinMatches(const std::string& staff_id, const std::string& pin_hash,
                    const std::string& pin);
    HubReply CallHub(const char* method, const std::string& path, const std::string* body,
                     const TillCall& till);
    core::Status PullTill();

    // Forwards a write unless the outbox holds something; the hub's answer, or none when the
    // write must be done offline.
    // An offline write in one local transaction: the answer already given to (kind, id) if
    // there is one (200: a retry), else `plan`, which sets the answer: 202 once it queued the
    // event (kept for retries, marked "replayed"), or a refusal. An empty `id`: no retries kept.
    using Plan = std::function<core::Status(NodeTxn&, NodeAnswer&)>;
    NodeAnswer Offline(const char* kind, const std::string& id, const Plan& plan);
    // Offline, answered through `reply` (on the store's writer thread); `plan` may run twice
    // (NodeStore reruns a batch when a unit fails after writing).
    void OfflineAsync(const char* kind, std::string id, Plan plan, Reply reply);
    std::optional<NodeAnswer> TryForward(const char* method, const std::string& path,
                                         const std::string& body, bool is_write,
                                         const TillCall& till);
    void NoteReply(const HubReply& reply);
    core::Status Bootstrap();
    core::Status Push();
    core::Status Pull();
    core::Status RefillLeases();
    std::string NewEventId();

    NodeStore& store_;
    HubLink& hub_;
    const core::Clock& clock_;
    core::Random& random_;
    std::mutex random_mutex_;
    NodeOptions options_;
    std::atomic<int64_t> outbox_pending_{0};
    std::atomic<bool> hub_reachable_{false};
    std::atomic<bool> bootstrapped_{false};
    std::mutex sync_mutex_;
    // PINs checked offline in the last minutes (digest of staff id, hash and PIN -> until), so a
    // till sending the same PIN with every sale costs one Argon2id check, as at the hub.
    std::mutex pins_mutex_;
    std::map<std::string, core::Timestamp> verified_pins_;
};

}  // namespace kizuna::pos
