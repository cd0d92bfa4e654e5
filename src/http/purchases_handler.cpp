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
        AnswerWhenDurable<hub::PurchaseReceipt>(ctx, std::move(respond), PurchaseReceiptToJson));
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

}  // namespace

void AddPurchaseRoutes(Router& router) {
    router.Add({"POST", "/v1/purchases", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, RecordPurchase});
    router.Add({"POST", "/v1/purchases/{id}/refunds", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, Refund});
}

}  // namespace kizuna::http
