#include "core/reservation.hpp"

#include "core/purchase.hpp"
#include "core/text.hpp"

namespace kizuna::core {
namespace {

constexpr std::size_t kMaxItemNameChars = 200;
constexpr std::size_t kMaxItemSkuChars = 100;
// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
constexpr int64_t kEarliestPickup = 0;
constexpr int64_t kLatestPickup = 253402300799;

void AppendField(std::string& out, std::string_view value) {
    out += std::to_string(value.size());
    out += ':';
    out += value;
    out += ';';
}

}  // namespace

std::string_view ReservationStatusName(ReservationStatus status) {
    switch (status) {
        case ReservationStatus::kReserved:
            return "reserved";
        case ReservationStatus::kPickedUp:
            return "picked_up";
        case ReservationStatus::kCancelled:
            return "cancelled";
    }
    return "reserved";
}

Result<ReservationStatus> ParseReservationStatus(std::string_view text, std::string_view field) {
    for (auto status : {ReservationStatus::kReserved, ReservationStatus::kPickedUp,
                        ReservationStatus::kCancelled}) {
        if (text == ReservationStatusName(status)) return status;
    }
    return InvalidField(field, "must be \"reserved\", \"picked_up\" or \"cancelled\"");
}

Status ValidateReservation(const Reservation& r) {
    KZ_RETURN_IF_ERROR(ValidateClientId(r.reservation_id, "reservation_id"));
    KZ_RETURN_IF_ERROR(CheckText(r.item_name, "item.name", 1, kMaxItemNameChars));
    KZ_RETURN_IF_ERROR(CheckText(r.item_sku, "item.sku", 0, kMaxItemSkuChars));
    if (r.quantity < 1 || r.quantity > kMaxReservationQuantity) {
        return InvalidField("quantity", "must be between 1 and 10000");
    }
    const int64_t pickup = ToUnixSeconds(r.pickup_at);
    if (pickup < kEarliestPickup || pickup > kLatestPickup) {
        return InvalidField("pickup_at", "must be between 1970-01-01 and 9999-12-31");
    }
    return Status::Ok();
}

Status CheckReservationTransition(ReservationStatus from, ReservationStatus to) {
    if (from == to) return Status::Ok();
    if (from == ReservationStatus::kReserved) return Status::Ok();
    return MakeError(ErrorCode::kRuleViolation,
                     "the reservation is already " + std::string(ReservationStatusName(from)) +
                         " and cannot become " + std::string(ReservationStatusName(to)),
                     "status");
}

std::string CanonicalReservation(const Reservation& r) {
    std::string out = "reservation/1;";
    AppendField(out, r.reservation_id);
    AppendField(out, r.member_id);
    AppendField(out, r.store_id);
    AppendField(out, r.item_name);
    AppendField(out, r.item_sku);
    AppendField(out, std::to_string(r.quantity));
    AppendField(out, std::to_string(ToUnixSeconds(r.pickup_at)));
    return out;
}

}  // namespace kizuna::core
