// Points used at a store.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "http/request_readers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {

hub::RedemptionRequest ReadRedemptionRequest(JsonReader& body) {
    hub::RedemptionRequest request;
    request.redemption_id = body.RequiredString("redemption_id");
    if (body.ok()) request.member = ReadMemberRef(body);
    request.points = body.RequiredInt("points");
    if (body.ok() && request.points <= 0) body.Fail("points", "points must be at least 1");
    return request;
}

namespace {

using hub::Role;

void Redeem(const RequestContext& ctx, Respond respond) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::RedemptionRequest request = ReadRedemptionRequest(body);
    if (!body.ok()) return respond(ErrorResponse(body.error()));

    // Answered when the redemption is durable, without a thread waiting for it.
    ctx.hub.points().RedeemAsync(ctx.caller, request,
                                 AnswerWhenDurable<hub::RedemptionReceipt>(
                                     ctx, std::move(respond), RedemptionReceiptToJson));
}

}  // namespace

void AddRedemptionRoutes(Router& router) {
    router.Add({"POST", "/v1/redemptions", Access::Roles({Role::kStore}), nullptr,
                /*runs_inline=*/false, Redeem});
}

}  // namespace kizuna::http
