// Usage registration (seed function 3): purchases and their refunds, by stores.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

void RecordPurchase(const RequestContext& ctx, Respond respond) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::PurchaseRequest request;
    request.purchase_id = body.RequiredString("purchase_id");
    if (body.ok()) request.member = ReadMemberRef(body);
    request.occurred_at = body.OptionalTime("occurred_at");
    request.currency = body.OptionalString("currency").value_or("");
    request.lines = ReadPurchaseLines(body, "lines");
    if (!body.ok()) return respond(ErrorResponse(body.error()));

    // Answered when the purchase is durable, without a thread waiting for it.
    ctx.hub.points().RecordPurchaseAsync(
        ctx.caller, request,
        [later = ctx.defer,
         respond = std::move(respond)](core::Result<hub::PurchaseReceipt> outcome) mutable {
            // Called on the storage's writer thread: the answer is built elsewhere.
            Task answer = [respond = std::move(respond), outcome = std::move(outcome)] {
                if (!outcome) return respond(ErrorResponse(outcome.error()));
                const hub::PurchaseReceipt& receipt = *outcome;
                Json json = Json::object();
                json["purchase_id"] = receipt.purchase_id;
                json["member_id"] = receipt.member_id;
                json["program_id"] = receipt.program_id;
                json["total"] = receipt.total;
                json["points_earned"] = receipt.points_earned;
                json["balance"] = receipt.balance;
                json["replayed"] = receipt.replayed;
                respond(IdempotentWriteResponse(receipt.replayed, json));
            };
            if (later) {
                later(std::move(answer));
            } else {
                answer();
            }
        });
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

HttpResponse Refund(const RequestContext& ctx) {
    const std::string& purchase_id = ctx.Param("id");
    if (!core::ValidateClientId(purchase_id, "purchase_id").ok()) {
        return NotFound("purchase", purchase_id);
    }
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
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
    if (!body.ok()) return ErrorResponse(body.error());

    auto receipt = ctx.hub.points().Refund(ctx.caller, request);
    if (!receipt) return ErrorResponse(receipt.error());
    Json json = Json::object();
    json["refund_id"] = receipt->refund_id;
    json["purchase_id"] = receipt->purchase_id;
    json["amount"] = receipt->amount;
    json["points_reversed"] = receipt->points_reversed;
    json["points_unrecovered"] = receipt->points_unrecovered;
    json["balance"] = receipt->balance;
    json["replayed"] = receipt->replayed;
    return IdempotentWriteResponse(receipt->replayed, json);
}

}  // namespace

void AddPurchaseRoutes(Router& router) {
    router.Add({"POST", "/v1/purchases", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, RecordPurchase});
    router.Add({"POST", "/v1/purchases/{id}/refunds", Access::Roles({Role::kStore}), Refund});
}

}  // namespace kizuna::http
