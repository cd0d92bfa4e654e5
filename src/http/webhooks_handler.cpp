// Webhooks: a store registers URLs to hear of its program's events, lists them, reads their
// deliveries and replays one.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

constexpr int kDefaultDeliveryList = 100;

// Never the secret: it is shown once, by the registration's answer.
Json WebhookToJson(const core::Webhook& webhook) {
    Json json = Json::object();
    json["webhook_id"] = webhook.webhook_id;
    json["url"] = webhook.url;
    json["events"] = webhook.events;
    json["store_id"] = webhook.store_id;
    json["program_id"] = webhook.program_id;
    json["created_at"] = TimeToJson(webhook.created_at);
    return json;
}

Json OptionalTimeToJson(const std::optional<core::Timestamp>& t) {
    return t ? TimeToJson(*t) : Json(nullptr);
}

Json DeliveryToJson(const hub::DeliveryView& view) {
    const core::WebhookDelivery& d = view.delivery;
    Json json = Json::object();
    json["delivery_id"] = d.delivery_id;
    json["webhook_id"] = d.webhook_id;
    json["event_id"] = "evt_" + std::to_string(d.event_sequence);
    json["event_type"] = view.event_type;
    json["status"] = core::DeliveryStatusName(d.status);
    json["attempts"] = d.attempts;
    json["created_at"] = TimeToJson(d.created_at);
    json["first_attempt_at"] = OptionalTimeToJson(d.first_attempt_at);
    json["last_attempt_at"] = OptionalTimeToJson(d.last_attempt_at);
    json["next_attempt_at"] =
        d.status == core::DeliveryStatus::kPending ? TimeToJson(d.next_attempt_at) : Json(nullptr);
    json["last_status"] = d.last_status == 0 ? Json(nullptr) : Json(d.last_status);
    json["last_error"] = d.last_error;
    json["delivered_at"] = OptionalTimeToJson(d.delivered_at);
    return json;
}

// A decimal id of at most 18 digits from the path or the query; none if malformed.
std::optional<int64_t> DecimalId(const std::string& text) {
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
    }
    return std::stoll(text);
}

HttpResponse RegisterWebhook(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::NewWebhook request;
    request.url = body.RequiredString("url");
    if (body.ok() && !body.Has("events")) body.Fail("events", "events is required");
    request.events = body.OptionalStringArray("events");
    if (!body.ok()) return ErrorResponse(body.error());

    auto webhook = ctx.hub.webhooks().Register(ctx.caller, request);
    if (!webhook) return ErrorResponse(webhook.error());
    Json json = Json::object();
    json["webhook_id"] = webhook->webhook_id;
    json["secret"] = webhook->secret;
    json.update(WebhookToJson(*webhook));
    return JsonResponse(201, json);
}

HttpResponse ListWebhooks(const RequestContext& ctx) {
    auto webhooks = ctx.hub.webhooks().List(ctx.caller);
    if (!webhooks) return ErrorResponse(webhooks.error());
    Json list = Json::array();
    for (const core::Webhook& webhook : *webhooks) list.push_back(WebhookToJson(webhook));
    Json json = Json::object();
    json["webhooks"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse ListDeliveries(const RequestContext& ctx) {
    HttpResponse refusal;
    auto limit = QueryLimit(ctx.request, kDefaultDeliveryList, hub::kMaxDeliveryList, refusal);
    if (!limit) return refusal;
    std::optional<int64_t> before;
    if (auto it = ctx.request.query.find("before"); it != ctx.request.query.end()) {
        before = DecimalId(it->second);
        if (!before) {
            return ErrorResponse(core::MakeError(core::ErrorCode::kInvalidArgument,
                                                 "before must be a delivery id", "before"));
        }
    }
    auto deliveries = ctx.hub.webhooks().Deliveries(ctx.caller, ctx.Param("id"), *limit, before);
    if (!deliveries) return ErrorResponse(deliveries.error());
    Json list = Json::array();
    for (const hub::DeliveryView& view : *deliveries) list.push_back(DeliveryToJson(view));
    Json json = Json::object();
    json["deliveries"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse ReplayDelivery(const RequestContext& ctx) {
    const std::string& text = ctx.Param("delivery_id");
    auto delivery_id = DecimalId(text);
    if (!delivery_id) return NotFound("delivery", text);
    auto replayed = ctx.hub.webhooks().Replay(ctx.caller, ctx.Param("id"), *delivery_id);
    if (!replayed) return ErrorResponse(replayed.error());
    return JsonResponse(202, DeliveryToJson(*replayed));
}

}  // namespace

void AddWebhookRoutes(Router& router) {
    const Access stores = Access::Roles({Role::kStore});
    router.Add({"POST", "/v1/webhooks", stores, RegisterWebhook});
    router.Add({"GET", "/v1/webhooks", stores, ListWebhooks});
    router.Add({"GET", "/v1/webhooks/{id}/deliveries", stores, ListDeliveries});
    router.Add(
        {"POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/replay", stores, ReplayDelivery});
}

}  // namespace kizuna::http
