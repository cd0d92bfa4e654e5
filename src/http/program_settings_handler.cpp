// A program's loyalty settings (issue 19): GET /v1/programs/{id} with its redemption limits and
// tiers; PUT /v1/programs/{id}/redemption-limits and PUT /v1/programs/{id}/tiers (operator).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

Json LimitsToJson(const core::RedemptionLimits& limits) {
    Json json = Json::object();
    json["per_transaction"] = limits.per_transaction ? Json(*limits.per_transaction) : Json();
    json["per_member_month"] = limits.per_member_month ? Json(*limits.per_member_month) : Json();
    json["minimum_balance"] = limits.minimum_balance;
    Json stores = Json::array();
    for (const std::string& store_id : limits.non_accepting_stores) stores.push_back(store_id);
    json["non_accepting_stores"] = std::move(stores);
    return json;
}

Json TiersToJson(const core::TierSchedule& schedule) {
    Json json = Json::object();
    json["basis"] = core::TierBasisName(schedule.basis);
    json["period"] = "calendar_year_utc";
    Json tiers = Json::array();
    for (const core::Tier& tier : schedule.tiers) {
        Json t = Json::object();
        t["name"] = tier.name;
        t["threshold"] = tier.threshold;
        t["multiplier"] = MilliToJson(tier.multiplier_milli);
        tiers.push_back(std::move(t));
    }
    json["tiers"] = std::move(tiers);
    return json;
}

HttpResponse GetProgram(const RequestContext& ctx) {
    auto settings = ctx.hub.redemption_limits().SettingsOf(ctx.caller, ctx.Param("id"));
    if (!settings) return ErrorResponse(settings.error());
    Json json = ProgramToJson(settings->program);
    json["redemption_limits"] = LimitsToJson(settings->redemption_limits);
    json["tiers"] = TiersToJson(settings->tiers);
    return JsonResponse(200, json);
}

// The caps are nullable (null: no cap), as GET shows them: a body with null caps reads as one
// without them. `body` has passed JsonReader's checks (an object, nesting bounded).
std::string WithoutNullCaps(const std::string& body) {
    Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return body;
    for (const char* cap : {"per_transaction", "per_member_month"}) {
        if (json.contains(cap) && json[cap].is_null()) json.erase(cap);
    }
    return DumpJson(json);
}

HttpResponse PutRedemptionLimits(const RequestContext& ctx) {
    if (JsonReader checked = JsonReader::ParseBody(ctx.request.body); !checked.ok()) {
        return ErrorResponse(checked.error());
    }
    JsonReader body = JsonReader::ParseBody(WithoutNullCaps(ctx.request.body));
    core::RedemptionLimits limits;
    limits.per_transaction = body.OptionalInt("per_transaction");
    limits.per_member_month = body.OptionalInt("per_member_month");
    limits.minimum_balance = body.OptionalInt("minimum_balance").value_or(0);
    for (std::string& store_id : body.OptionalStringArray("non_accepting_stores")) {
        limits.non_accepting_stores.insert(std::move(store_id));
    }
    if (!body.ok()) return ErrorResponse(body.error());
    auto stored = ctx.hub.redemption_limits().Set(ctx.caller, ctx.Param("id"), limits);
    if (!stored) return ErrorResponse(stored.error());
    return JsonResponse(200, LimitsToJson(*stored));
}

HttpResponse PutTiers(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    core::TierSchedule schedule;
    if (auto basis = body.OptionalString("basis")) {
        auto parsed = core::ParseTierBasis(*basis, "basis");
        if (!parsed) return ErrorResponse(parsed.error());
        schedule.basis = *parsed;
    }
    for (JsonReader& tier : body.ObjectArray("tiers", true)) {
        core::Tier t;
        t.name = tier.RequiredString("name");
        t.threshold = tier.RequiredInt("threshold");
        t.multiplier_milli = tier.OptionalMilli("multiplier").value_or(core::kMultiplierOne);
        schedule.tiers.push_back(std::move(t));
    }
    if (!body.ok()) return ErrorResponse(body.error());
    auto stored = ctx.hub.tiers().Set(ctx.caller, ctx.Param("id"), schedule);
    if (!stored) return ErrorResponse(stored.error());
    return JsonResponse(200, TiersToJson(*stored));
}

}  // namespace

void AddProgramSettingsRoutes(Router& router) {
    router.Add(
        {"GET", "/v1/programs/{id}", Access::Roles({Role::kOperator, Role::kStore}), GetProgram});
    router.Add({"PUT", "/v1/programs/{id}/redemption-limits", Access::Roles({Role::kOperator}),
                PutRedemptionLimits});
    router.Add({"PUT", "/v1/programs/{id}/tiers", Access::Roles({Role::kOperator}), PutTiers});
}

}  // namespace kizuna::http
