// Reservations (second seed, 予約): made by a store or by the member, seen by every store of the
// pickup store's program and by the member.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "http/request_readers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {

Json ReservationToJson(const core::Reservation& r) {
    Json json = Json::object();
    json["reservation_id"] = r.reservation_id;
    json["status"] = core::ReservationStatusName(r.status);
    json["member_id"] = r.member_id;
    json["store_id"] = r.store_id;
    json["program_id"] = r.program_id;
    Json item = Json::object();
    item["name"] = r.item_name;
    item["sku"] = r.item_sku;
    json["item"] = std::move(item);
    json["quantity"] = r.quantity;
    json["pickup_at"] = TimeToJson(r.pickup_at);
    json["created_by"] = r.created_by;
    json["created_at"] = TimeToJson(r.created_at);
    json["updated_by"] = r.updated_by;
    json["updated_at"] = TimeToJson(r.updated_at);
    return json;
}

hub::ReservationRequest ReadReservationRequest(JsonReader& body) {
    hub::ReservationRequest request;
    request.reservation_id = body.RequiredString("reservation_id");
    request.member_id = body.OptionalString("member_id").value_or("");
    request.store_id = body.OptionalString("store_id").value_or("");
    if (auto item = body.Object("item", true)) {
        request.item_name = item->RequiredString("name");
        request.item_sku = item->OptionalString("sku").value_or("");
    }
    request.quantity = body.OptionalInt("quantity").value_or(1);
    request.pickup_at = body.RequiredTime("pickup_at");
    return request;
}

namespace {

using hub::Role;

constexpr int kDefaultReservationList = 100;

HttpResponse CreateReservation(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::ReservationRequest request = ReadReservationRequest(body);
    if (!body.ok()) return ErrorResponse(body.error());

    auto answer = ctx.hub.reservations().Create(ctx.caller, request);
    if (!answer) return ErrorResponse(answer.error());
    Json json = ReservationToJson(answer->reservation);
    if (answer->replayed) json["replayed"] = true;
    return IdempotentWriteResponse(answer->replayed, json);
}

HttpResponse UpdateReservation(const RequestContext& ctx) {
    const std::string& reservation_id = ctx.Param("id");
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    const std::string status_text = body.RequiredString("status");
    const std::string created_by = body.OptionalString("created_by").value_or("");
    if (!body.ok()) return ErrorResponse(body.error());
    auto status = core::ParseReservationStatus(status_text, "status");
    if (!status) return ErrorResponse(status.error());

    auto answer =
        ctx.hub.reservations().UpdateStatus(ctx.caller, reservation_id, created_by, *status);
    if (!answer) return ErrorResponse(answer.error());
    Json json = ReservationToJson(answer->reservation);
    if (answer->replayed) json["unchanged"] = true;
    return JsonResponse(200, json);
}

HttpResponse ListReservations(const RequestContext& ctx) {
    HttpResponse refusal;
    auto limit =
        QueryLimit(ctx.request, kDefaultReservationList, hub::kMaxReservationList, refusal);
    if (!limit) return refusal;
    std::string member_id;
    if (auto it = ctx.request.query.find("member_id"); it != ctx.request.query.end()) {
        member_id = it->second;
    }
    auto reservations = ctx.hub.reservations().List(ctx.caller, member_id, *limit);
    if (!reservations) return ErrorResponse(reservations.error());
    Json list = Json::array();
    for (const core::Reservation& r : *reservations) list.push_back(ReservationToJson(r));
    Json json = Json::object();
    json["reservations"] = std::move(list);
    return JsonResponse(200, json);
}

}  // namespace

void AddReservationRoutes(Router& router) {
    const Access stores_and_members = Access::Roles({Role::kStore, Role::kMember});
    router.Add({"POST", "/v1/reservations", stores_and_members, CreateReservation});
    router.Add({"GET", "/v1/reservations", stores_and_members, ListReservations});
    router.Add({"PATCH", "/v1/reservations/{id}", stores_and_members, UpdateReservation});
}

}  // namespace kizuna::http
