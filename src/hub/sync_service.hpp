#pragma once
// The hub side of store node sync (DESIGN "Store node and sync"): a node bootstraps from a
// consistent snapshot, leases ids to enroll offline, pushes the events it recorded offline, and
// pulls what happened in its program since its cursor.
//
// Push is exactly once per (store, event_id): each event is one unit of work that writes its
// effect and its sync record (sync_events) together, so a replay (whole batch, part of it, or
// after the hub committed but before the node saw the answer) finds the record and answers the
// stored result as "duplicate", changing nothing. A batch's units are queued in order without
// waiting (Storage::WriteAsync), so the group-commit writer applies a batch of 500 in one or a
// few transactions and one log sync each.
//
// Conflicts are never silent: an offline enrollment whose email or phone is another member's is
// enrolled anyway (with its leased id; the email stays with the first member), an offline
// redemption larger than the balance books what the balance holds, a sale on a card revoked
// before it is booked; each is "flagged" and leaves a row in sync_conflicts.
// Thread-safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/card.hpp"
#include "core/earning_rule.hpp"
#include "core/offer.hpp"
#include "core/result.hpp"
#include "core/store.hpp"
#include "core/tier.hpp"
#include "core/till.hpp"
#include "hub/caller.hpp"
#include "hub/member_service.hpp"
#include "hub/points_service.hpp"
#include "hub/reservation_service.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;
class AuthService;

inline constexpr int kMaxPushEvents = 500;
inline constexpr int kMaxLeaseCount = 1000;  // ids per lease call
inline constexpr int kDefaultPullLimit = 500;
inline constexpr int kMaxPullLimit = 1000;
inline constexpr std::size_t kMaxSyncEventIdLength = 64;

// The snapshot a node starts from; `cursor` is the last event sequence at the snapshot, so a
// pull from it misses nothing.
struct SyncBootstrap {
    int64_t cursor = 0;
    core::Store store;
    core::Program program;
    std::vector<core::EarningRule> rule_versions;  // oldest first; the last is current
    // The store's current offers, and those with a points multiplier that start later.
    std::vector<core::Offer> offers;
    std::string card_public_key;  // 32 raw bytes (Ed25519), as GET /v1/card-key
    std::vector<std::string> revoked_cards;
};

// What a node needs to act for the store's till while the hub is down (issues 17 and 19): the
// store's staff with their PIN hashes (Argon2id, checked at the node), its terminals with their
// key digests, its till settings and the program's tiers. Removed staff and revoked terminals are
// included, with their time, so the node refuses them.
struct SyncTill {
    std::vector<core::StaffMember> staff;
    std::vector<core::Terminal> terminals;
    core::TillSettings settings;
    core::TierSchedule tiers;
};

// member.enrolled: POST /v1/members' body plus the store's leased ids.
struct OfflineEnrollment {
    NewMember member;
    std::string member_id;
    std::string card_number;
};

// card.issued: a new card for a member, with a leased number (or one the hub picks).
struct OfflineCard {
    std::string member_id;
    std::string card_number;  // empty: the hub picks one
    std::string password;     // checked when given
    core::CardMedium medium = core::CardMedium::kVirtual;
};

// reservation.updated: PATCH /v1/reservations/{id}'s body plus the id.
struct ReservationChange {
    std::string reservation_id;
    std::string created_by;
    core::ReservationStatus status = core::ReservationStatus::kReserved;
};

// One event a node pushed, its body already read into the online request it stands for; an
// Error when the body could not be read (the event is rejected with it).
struct SyncEvent {
    std::string event_id;
    std::string type;
    core::Timestamp occurred_at{};
    // The till the node did it for: the terminal whose key the till presented and the staff
    // member whose PIN the node checked (each empty: none). The event is applied as that
    // terminal and staff member (their rights, and named on its ledger entries). A terminal_id
    // that names no registered terminal is only the node's label for the till (sync record).
    std::string terminal_id;
    std::variant<core::Error, PurchaseRequest, RefundRequest, RedemptionRequest, OfflineEnrollment,
                 OfflineCard, ReservationRequest, ReservationChange>
        request;
    std::string staff_id{};
};

// What the online endpoint would have answered, as the API renders it (src/http passes these;
// the hub knows no JSON of the API). Each returns the body as JSON text.
struct SyncRendering {
    std::function<std::string(const PurchaseReceipt&)> purchase;
    std::function<std::string(const RefundReceipt&)> refund;
    std::function<std::string(const RedemptionReceipt&)> redemption;
    std::function<std::string(const Enrollment&)> enrollment;
    std::function<std::string(const IssuedCard&)> card;
    std::function<std::string(const ReservationAnswer&)> reservation;
    std::function<std::string(const core::Error&)> error;
    std::function<int(const core::Error&)> error_status;
};

struct SyncResult {
    std::string event_id;
    std::string status;  // "applied", "duplicate", "flagged", "rejected"
    int http_status = 200;
    std::string body;  // JSON text
};

struct PushAnswer {
    std::vector<SyncResult> results;  // in the order of the events
    int64_t cursor = 0;               // the last event sequence once the batch is applied
};

struct PullPage {
    std::vector<storage::Event> events;
    int64_t cursor = 0;  // the last sequence looked at, or the request's cursor
    bool more = false;
};

class SyncService {
  public:
    SyncService(HubContext& context, AuthService& auth, PointsService& points,
                ReservationService& reservations)
        : context_(context), auth_(auth), points_(points), reservations_(reservations) {}

    // Stores only (the caller's store). Errors: kForbidden, kUnavailable.
    core::Result<SyncBootstrap> Bootstrap(const Caller& caller);
    // Stores only (the caller's store). Errors: kForbidden, kUnavailable.
    core::Result<SyncTill> Till(const Caller& caller);
    // Stores only. `count` fresh values of `kind` ("member_id" / "card_number"), reserved for
    // the store. Errors: kInvalidArgument, kForbidden, kUnavailable.
    core::Result<std::vector<std::string>> Lease(const Caller& caller, const std::string& kind,
                                                 int count);
    // Stores only; at most kMaxPushEvents. Applies the events in order (see the file comment);
    // one event's failure is its result ("rejected"), not the batch's. Errors: kInvalidArgument
    // (too many events, an event id repeated in the batch), kForbidden, kUnavailable (the
    // storage failed: nothing of the unanswered events is known to be applied; push again).
    core::Result<PushAnswer> Push(const Caller& caller, std::vector<SyncEvent> events,
                                  const SyncRendering& rendering);
    // Stores only. Events after `cursor` of the store's program, but not the store's own
    // purchases, refunds and redemptions. Errors: kInvalidArgument (limit), kForbidden.
    core::Result<PullPage> Pull(const Caller& caller, int64_t cursor, int limit);
    // The operator: every store's; a store: its own. Oldest first, after `after`, at most
    // `limit` (1..1000).
    core::Result<std::vector<storage::SyncConflict>> Conflicts(const Caller& caller, int64_t after,
                                                               int limit);

  private:
    struct Planned;
    // The caller an event is applied as: the node's store, with the event's terminal and staff
    // member. Errors: kUnauthenticated (another store's terminal or not this store's staff
    // member, or revoked or removed before the event).
    core::Result<Caller> TillCaller(const Caller& caller, const SyncEvent& event);
    Planned Plan(const Caller& caller, const core::Store& store, SyncEvent& event,
                 const SyncRendering& rendering);

    HubContext& context_;
    AuthService& auth_;
    PointsService& points_;
    ReservationService& reservations_;
};

}  // namespace kizuna::hub
