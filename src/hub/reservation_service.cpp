#include "hub/reservation_service.hpp"

#include <algorithm>
#include <utility>

#include "core/ids.hpp"
#include "core/purchase.hpp"
#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

// Whether the caller may see (and change) the reservation.
bool Visible(const Caller& caller, const core::Reservation& r) {
    if (caller.role == Role::kStore) return r.program_id == caller.program_id;
    if (caller.role == Role::kMember) return r.member_id == caller.member_id;
    return false;
}

EventData ReservationData(const core::Reservation& r) {
    EventData data;
    data["reservation_id"] = r.reservation_id;
    data["status"] = core::ReservationStatusName(r.status);
    data["member_id"] = r.member_id;
    data["store_id"] = r.store_id;
    data["program_id"] = r.program_id;
    data["item"] = {{"name", r.item_name}, {"sku", r.item_sku}};
    data["quantity"] = r.quantity;
    data["pickup_at"] = EventTime(r.pickup_at);
    data["created_by"] = r.created_by;
    data["updated_by"] = r.updated_by;
    data["created_at"] = EventTime(r.created_at);
    data["updated_at"] = EventTime(r.updated_at);
    return data;
}

core::Error NoReservation(const std::string& id) {
    return MakeError(ErrorCode::kNotFound, "no reservation " + id + " that this caller can see",
                     "reservation_id");
}

}  // namespace

core::Result<ReservationAnswer> ReservationService::Create(const Caller& caller,
                                                           const ReservationRequest& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore, Role::kMember}, "make reservations"));
    core::Reservation r;
    r.reservation_id = request.reservation_id;
    r.member_id = request.member_id;
    r.store_id = request.store_id;
    if (caller.role == Role::kMember) {
        if (r.member_id.empty()) r.member_id = caller.member_id;
        if (r.member_id != caller.member_id) {
            return MakeError(ErrorCode::kForbidden, "a member may reserve only for themself",
                             "member_id");
        }
        if (r.store_id.empty()) {
            return MakeError(ErrorCode::kInvalidArgument, "name the pickup store", "store_id");
        }
    } else if (r.store_id.empty()) {
        r.store_id = caller.store_id;
    }
    if (!core::IsValidMemberId(r.member_id)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "not a member id (10 digits with a valid check digit)", "member_id");
    }
    r.item_name = request.item_name;
    r.item_sku = request.item_sku;
    r.quantity = request.quantity;
    r.pickup_at = request.pickup_at;
    KZ_RETURN_IF_ERROR(core::ValidateReservation(r));

    KZ_ASSIGN_OR_RETURN(auto store, context_.StoreById(r.store_id));
    // A store reserves only at the stores of its own program; another program's store is
    // reported as missing, as another program's purchase is.
    if (!store || (caller.role == Role::kStore && store->program_id != caller.program_id)) {
        return MakeError(ErrorCode::kNotFound,
                         "no store " + r.store_id +
                             (caller.role == Role::kStore ? " in this store's program" : ""),
                         "store_id");
    }
    r.program_id = store->program_id;
    r.created_by = caller.Describe();
    r.updated_by = r.created_by;
    r.fingerprint = crypto::Digest(core::CanonicalReservation(r));
    r.status = core::ReservationStatus::kReserved;
    r.created_at = context_.Now();
    r.updated_at = r.created_at;

    ReservationAnswer answer;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        answer = {};
        KZ_ASSIGN_OR_RETURN(auto existing, txn.FindReservation(r.created_by, r.reservation_id));
        if (existing) {
            if (existing->fingerprint != r.fingerprint) {
                return MakeError(ErrorCode::kIdempotencyConflict,
                                 "reservation_id " + r.reservation_id +
                                     " was already used for a different reservation; use a new "
                                     "id for a new reservation",
                                 "reservation_id");
            }
            answer = {std::move(*existing), true};
            return core::Status::Ok();
        }
        KZ_ASSIGN_OR_RETURN(bool member_exists, txn.MemberExists(r.member_id));
        if (!member_exists) {
            return MakeError(ErrorCode::kNotFound, "no member " + r.member_id, "member_id");
        }
        KZ_RETURN_IF_ERROR(txn.InsertReservation(r));
        KZ_RETURN_IF_ERROR(RecordEvent(txn, "reservation.created", r.program_id, r.member_id,
                                       r.created_at, ReservationData(r)));
        answer = {r, false};
        return core::Status::Ok();
    }));
    return answer;
}

core::Result<ReservationAnswer> ReservationService::UpdateStatus(const Caller& caller,
                                                                 const std::string& reservation_id,
                                                                 const std::string& created_by,
                                                                 core::ReservationStatus status) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore, Role::kMember}, "change reservations"));
    if (!core::ValidateClientId(reservation_id, "reservation_id").ok()) {
        return NoReservation(reservation_id);
    }
    if (caller.role == Role::kMember && status == core::ReservationStatus::kPickedUp) {
        return MakeError(ErrorCode::kForbidden,
                         "only the store marks a reservation picked up; a member may cancel it",
                         "status");
    }
    const core::Timestamp now = context_.Now();
    const std::string actor = caller.Describe();
    ReservationAnswer answer;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        answer = {};
        KZ_ASSIGN_OR_RETURN(auto candidates, txn.ReservationsWithId(reservation_id));
        std::erase_if(candidates, [&](const core::Reservation& r) {
            return !Visible(caller, r) || (!created_by.empty() && r.created_by != created_by);
        });
        if (candidates.empty()) return NoReservation(reservation_id);
        if (candidates.size() > 1) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "several reservations have id " + reservation_id +
                                 "; say whose with created_by (\"store:<id>\" or "
                                 "\"member:<id>\")",
                             "created_by");
        }
        core::Reservation r = std::move(candidates.front());
        KZ_RETURN_IF_ERROR(core::CheckReservationTransition(r.status, status));
        if (r.status == status) {
            answer = {std::move(r), true};
            return core::Status::Ok();
        }
        r.status = status;
        r.updated_at = now;
        r.updated_by = actor;
        KZ_RETURN_IF_ERROR(txn.UpdateReservation(r));
        KZ_RETURN_IF_ERROR(RecordEvent(txn, "reservation.updated", r.program_id, r.member_id, now,
                                       ReservationData(r)));
        answer = {std::move(r), false};
        return core::Status::Ok();
    }));
    return answer;
}

core::Result<std::vector<core::Reservation>> ReservationService::List(const Caller& caller,
                                                                      const std::string& member_id,
                                                                      int limit) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore, Role::kMember}, "list reservations"));
    std::string member = member_id;
    std::optional<std::string_view> program;
    if (caller.role == Role::kMember) {
        if (member.empty()) member = caller.member_id;
        if (member != caller.member_id) {
            return MakeError(ErrorCode::kForbidden, "a member may list only their own reservations",
                             "member_id");
        }
    } else {
        if (member.empty()) {
            return MakeError(ErrorCode::kInvalidArgument, "member_id is required", "member_id");
        }
        program = caller.program_id;
    }
    if (!core::IsValidMemberId(member)) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "not a member id (10 digits with a valid check digit)", "member_id");
    }
    limit = std::clamp(limit, 1, kMaxReservationList);
    std::vector<core::Reservation> reservations;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(reservations, txn.ReservationsOf(member, program, limit));
        if (reservations.empty()) {
            KZ_ASSIGN_OR_RETURN(bool exists, txn.MemberExists(member));
            if (!exists) return MakeError(ErrorCode::kNotFound, "no member " + member, "member_id");
        }
        return core::Status::Ok();
    }));
    return reservations;
}

}  // namespace kizuna::hub
