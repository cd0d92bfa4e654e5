#pragma once
// Reservations (second seed, 予約): a member reserves an item for pickup at a store, at the
// store or online; every store of the pickup store's program sees it, and so does the member.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class ReservationStatus { kReserved, kPickedUp, kCancelled };

// "reserved", "picked_up", "cancelled".
std::string_view ReservationStatusName(ReservationStatus status);
// Errors: kInvalidArgument naming `field`.
Result<ReservationStatus> ParseReservationStatus(std::string_view text, std::string_view field);

struct Reservation {
    // The idempotency scope: "store:<id>" or "member:<id>", whoever created it. The same
    // reservation_id from two creators names two reservations.
    std::string created_by;
    std::string reservation_id;  // client-chosen (ValidateClientId)
    std::string member_id;
    std::string store_id;    // where the item is picked up
    std::string program_id;  // the pickup store's: who may see it
    std::string item_name;   // 1..200 characters
    std::string item_sku;    // 0..100 characters
    int64_t quantity = 1;    // 1..kMaxReservationQuantity
    Timestamp pickup_at{};
    ReservationStatus status = ReservationStatus::kReserved;
    std::string fingerprint;  // digest of CanonicalReservation, for replays
    Timestamp created_at{};
    Timestamp updated_at{};
    std::string updated_by;  // "store:<id>" / "member:<id>" of the last change
};

inline constexpr int64_t kMaxReservationQuantity = 10000;

// Checks what a client sent: id, item name and sku (UTF-8, no control characters, lengths),
// quantity bounds, pickup_at within 1970..9999. Errors: kInvalidArgument naming the field
// ("reservation_id", "item.name", "item.sku", "quantity", "pickup_at").
Status ValidateReservation(const Reservation& reservation);

// reserved -> picked_up | cancelled; the terminal states never change. Asking for the state a
// reservation is already in is Ok (a retried PATCH). Errors: kRuleViolation ("status") for a
// change out of a terminal state or back to reserved.
Status CheckReservationTransition(ReservationStatus from, ReservationStatus to);

// An injective text of what the creator asked for (id, member, pickup store, item, quantity,
// pickup time), digested into the fingerprint that tells a replay from a conflicting reuse.
std::string CanonicalReservation(const Reservation& reservation);

}  // namespace kizuna::core
