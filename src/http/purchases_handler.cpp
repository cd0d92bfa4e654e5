// Usage registration (seed function 3): purchases and their refunds, by stores.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "http/request_readers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {

hub::PurchaseRequest ReadPurchaseRequest(JsonReader& body) {
    hub::PurchaseRequest request;
    request.purchase_id = body.RequiredString("purchase_id");
    if (body.ok()) request.member = ReadMemberRef(body);
    request.occurred_at = body.OptionalTime("occurred_at");
    request.currency = body.OptionalString("currency").value_or("");
    request.lines = ReadPurchaseLines(body, "lines");
    // "points_used": a number of points, or "all" the member has (see PurchaseRequest).
    if (body.IsString("points_used")) {
        if (body.OptionalString("points_used") == "all") {
            request.use_all_points = true;
        } else {
            body.Fail("points_used", "points_used must be a whole number or \"all\"");
        }
    } else {
        request.points_used = body.OptionalInt("points_used");
    }
    request.receipt_details = body.OptionalBool("receipt").value_or(false);
    return request;
}

namespace {

using hub::Role;

void RecordPurchase(const RequestContext& ctx, Respond respond) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::PurchaseRequest request = ReadPurchaseRequest(body);
    if (!body.ok()) return respond(ErrorResponse(body.error()));

    // Answered when the purchase is durable, without a thread waiting for it.
    ctx.hub.points().RecordPurchaseAsync(
        ctx.caller, request,
        AnswerWhenDurable<hub::PurchaseReceipt>(ctx, std::move(respond), PurchaseReceiptText));
}

// Refund lines name a line of the purchase (sku or name) and a quantity; the price comes from
// the purchase.
std::vector<core::PurchaseLine> ReadRefundLines(JsonReader& body) {
    std::vector<core::PurchaseLine> lines;
    std::vector<JsonReader> items = body.ObjectArray("lines", false);
    if (body.ok() && items.empty()) body.Fail("lines", "lines must have at least one line");
    for (JsonReader& item : items) {
        core::PurchaseLine line;
        line.sku = item.OptionalString("sku").value_or("");
        line.name = item.OptionalString("name").value_or("");
        if (item.ok() && line.sku.empty() && line.name.empty()) {
            item.Fail("sku", item.PathOf("sku") + " or " + item.PathOf("name") + " is required");
        }
        line.quantity = item.RequiredInt("quantity");
        if (!body.ok()) break;
        lines.push_back(std::move(line));
    }
    return lines;
}

}  // namespace

hub::RefundRequest ReadRefundRequest(JsonReader& body, const std::string& purchase_id) {
    hub::RefundRequest request;
    request.purchase_id = purchase_id;
    request.refund_id = body.RequiredString("refund_id");
    bool has_amount = body.Has("amount");
    bool has_lines = body.Has("lines");
    if (body.ok() && has_amount == has_lines) {
        body.Fail("amount", has_amount ? "give either amount or lines, not both"
                                       : "amount or lines is required");
    }
    if (has_amount) request.amount = body.OptionalInt("amount");
    if (has_lines) request.lines = ReadRefundLines(body);
    return request;
}

namespace {

void Refund(const RequestContext& ctx, Respond respond) {
    const std::string& purchase_id = ctx.Param("id");
    if (!core::ValidateClientId(purchase_id, "purchase_id").ok()) {
        return respond(NotFound("purchase", purchase_id));
    }
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::RefundRequest request = ReadRefundRequest(body, purchase_id);
    if (!body.ok()) return respond(ErrorResponse(body.error()));

    ctx.hub.points().RefundAsync(
        ctx.caller, request,
        AnswerWhenDurable<hub::RefundReceipt>(ctx, std::move(respond), RefundReceiptToJson));
}

Json VoidReceiptToJson(const hub::VoidReceipt& receipt) {
    Json json = Json::object();
    json["purchase_id"] = receipt.purchase_id;
    json["member_id"] = receipt.member_id;
    json["points_reversed"] = receipt.points_reversed;
    json["points_restored"] = receipt.points_restored;
    json["balance"] = receipt.balance;
    json["voided_at"] = TimeToJson(receipt.voided_at);
    json["replayed"] = receipt.replayed;
    return json;
}

// A void takes no body: the purchase id is its idempotency key (voiding twice answers the
// first void again).
void Void(const RequestContext& ctx, Respond respond) {
    const std::string& purchase_id = ctx.Param("id");
    if (!core::ValidateClientId(purchase_id, "purchase_id").ok()) {
        return respond(NotFound("purchase", purchase_id));
    }
    hub::VoidRequest request{purchase_id};
    ctx.hub.points().VoidAsync(
        ctx.caller, request,
        AnswerWhenDurable<hub::VoidReceipt>(ctx, std::move(respond), VoidReceiptToJson));
}

}  // namespace

void AddPurchaseRoutes(Router& router) {
    router.Add({"POST", "/v1/purchases", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, RecordPurchase});
    router.Add({"POST", "/v1/purchases/{id}/refunds", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, Refund});
    router.Add({"POST", "/v1/purchases/{id}/void", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, Void});
}

}  // namespace kizuna::http
