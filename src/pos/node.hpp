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

    // The store endpoints, with the hub's contract. `body` is the request body as sent.
    NodeAnswer Enroll(const std::string& body);
    NodeAnswer SearchMembers(const std::string& body);
    NodeAnswer ReissueCard(const std::string& member_id, const std::string& body);
    NodeAnswer GetMember(const std::string& member_id);
    NodeAnswer Purchase(const std::string& body);
    // A purchase done offline without a thread waiting on it: answered through `reply`, at once
    // (a request refused before any write) or on the store's writer thread once durable. For
    // when QueuesWrites(): Purchase would not forward it either.
    using Reply = std::function<void(NodeAnswer)>;
    void PurchaseOffline(const std::string& body, Reply reply);
    // True while the outbox holds something, so that writes join it rather than go to the hub.
    bool QueuesWrites() const { return outbox_pending_.load() > 0; }
    NodeAnswer Redeem(const std::string& body);
    NodeAnswer Refund(const std::string& purchase_id, const std::string& body);
    NodeAnswer CreateReservation(const std::string& body);
    NodeAnswer UpdateReservation(const std::string& reservation_id, const std::string& body);
    NodeAnswer ListReservations(const std::string& member_id, const std::string& query);
    NodeAnswer Offers();
    NodeAnswer StoreMe();
    // Any other call, with the caller's token (empty: none): forwarded, or 503 when the hub is
    // down.
    NodeAnswer PassThrough(const std::string& method, const std::string& target,
                           const std::string* body, const std::string& token);

    // Push then pull then lease refill. Errors: kUnavailable when the hub cannot be reached
    // (what was done before stays done).
    core::Status Sync();
    NodeStatus Status();

  private:
    struct Offline;  // the offline handlers (node.cpp)

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
                                         const std::string& body, bool is_write);
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
};

}  // namespace kizuna::pos
