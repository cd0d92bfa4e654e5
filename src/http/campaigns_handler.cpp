// Campaigns (issue 19): POST /v1/campaigns, POST /v1/campaigns/{id}/grants, GET
// /v1/campaigns/{id} (operator, or a store of the campaign's program).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

Json CampaignToJson(const core::Campaign& c) {
    Json json = Json::object();
    json["campaign_id"] = c.campaign_id;
    json["program_id"] = c.program_id;
    json["name"] = c.name;
    json["budget_points"] = c.budget_points;
    json["granted_points"] = c.granted_points;
    json["budget_left"] = c.budget_points - c.granted_points;
    json["validity_days"] = c.validity_days;
    json["store_id"] = c.store_id.empty() ? Json() : Json(c.store_id);
    json["created_at"] = core::FormatRfc3339(c.created_at);
    return json;
}

Json GrantToJson(const core::CampaignGrant& g) {
    Json json = Json::object();
    json["grant_id"] = g.grant_id;
    json["campaign_id"] = g.campaign_id;
    json["member_id"] = g.member_id;
    json["points"] = g.points;
    json["balance"] = g.balance_after;
    json["granted_by"] = g.granted_by;
    json["granted_at"] = core::FormatRfc3339(g.granted_at);
    json["expires_at"] = core::FormatRfc3339(g.expires_at);
    return json;
}

HttpResponse CreateCampaign(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::NewCampaign request;
    request.name = body.RequiredString("name");
    request.budget_points = body.RequiredInt("budget_points");
    const int64_t validity = body.RequiredInt("validity_days");
    request.program_id = body.OptionalNullableString("program_id").value_or("");
    if (!body.ok()) return ErrorResponse(body.error());
    if (validity < 1 || validity > 3650) {
        return ErrorResponse(core::InvalidField("validity_days", "must be between 1 and 3650"));
    }
    request.validity_days = static_cast<int>(validity);
    auto campaign = ctx.hub.campaigns().Create(ctx.caller, request);
    if (!campaign) return ErrorResponse(campaign.error());
    return JsonResponse(201, CampaignToJson(*campaign));
}

HttpResponse Grant(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::GrantRequest request;
    request.grant_id = body.RequiredString("grant_id");
    request.member_id = body.RequiredString("member_id");
    request.points = body.RequiredInt("points");
    if (!body.ok()) return ErrorResponse(body.error());
    auto receipt = ctx.hub.campaigns().Grant(ctx.caller, ctx.Param("id"), request);
    if (!receipt) return ErrorResponse(receipt.error());
    Json json = GrantToJson(receipt->grant);
    json["budget_left"] = receipt->budget_left;
    return IdempotentWriteResponse(receipt->replayed, json);
}

HttpResponse Show(const RequestContext& ctx) {
    auto view = ctx.hub.campaigns().Show(ctx.caller, ctx.Param("id"));
    if (!view) return ErrorResponse(view.error());
    Json json = CampaignToJson(view->campaign);
    Json grants = Json::array();
    for (const core::CampaignGrant& grant : view->recent_grants) {
        grants.push_back(GrantToJson(grant));
    }
    json["recent_grants"] = std::move(grants);
    return JsonResponse(200, json);
}

}  // namespace

void AddCampaignRoutes(Router& router) {
    const Access who = Access::Roles({Role::kOperator, Role::kStore});
    router.Add({"POST", "/v1/campaigns", who, CreateCampaign});
    router.Add({"GET", "/v1/campaigns/{id}", who, Show});
    router.Add({"POST", "/v1/campaigns/{id}/grants", who, Grant});
}

}  // namespace kizuna::http
