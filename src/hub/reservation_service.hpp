#pragma once
// Reservations (second seed, 予約): a store, or the member themself, reserves an item for pickup
// at a store; every store of that store's program sees it (the program is the coalition unit,
// so a reservation made at the online shop shows at the physical store and the other way
// round), and so does the member. Each create and status change records an event
// (reservation.created / reservation.updated) in the same write.
// Thread-safety: every method may be called from any thread.

#include <optional>
#include <string>
#include <vector>

#include "core/reservation.hpp"
#include "core/result.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {

class HubContext;

// The most reservations one list answer carries.
inline constexpr int kMaxReservationList = 500;

struct ReservationRequest {
    std::string reservation_id;  // the idempotency key, scoped to the creator
    std::string member_id;       // a member caller may leave it empty (themself)
    std::string store_id;        // pickup store; a store caller may leave it empty (itself)
    std::string item_name;
    std::string item_sku;
    int64_t quantity = 1;
    core::Timestamp pickup_at{};
};

struct ReservationAnswer {
    core::Reservation reservation;
    bool replayed = false;  // the same request again, or a change to the status it already has
};

class ReservationService {
  public:
    explicit ReservationService(HubContext& context) : context_(context) {}

    // A store (for a member, at a store of its own program) or a member (for themself, at any
    // store). The same id from the same creator with the same request answers the first
    // reservation with `replayed`; with another request it is kIdempotencyConflict.
    // Errors: kInvalidArgument naming the field, kNotFound (member, store), kForbidden.
    core::Result<ReservationAnswer> Create(const Caller& caller, const ReservationRequest& r);

    // Moves a reservation the caller can see to `status` (reserved -> picked_up | cancelled).
    // `created_by` ("store:<id>" / "member:<id>") picks one when reservations of several
    // creators share the id. A member may only cancel. Errors: kNotFound (none visible),
    // kInvalidArgument ("created_by": ambiguous), kRuleViolation (a terminal status),
    // kForbidden.
    core::Result<ReservationAnswer> UpdateStatus(const Caller& caller,
                                                 const std::string& reservation_id,
                                                 const std::string& created_by,
                                                 core::ReservationStatus status);

    // A store: the member's reservations in its program (member_id required). A member: their
    // own (member_id empty or theirs). Newest first, at most `limit` (1..kMaxReservationList).
    core::Result<std::vector<core::Reservation>> List(const Caller& caller,
                                                      const std::string& member_id, int limit);

  private:
    HubContext& context_;
};

}  // namespace kizuna::hub
