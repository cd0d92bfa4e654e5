// Stores (operator) and their earning rules (the store itself or the operator).
#include <limits>

#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

HttpResponse CreateStore(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::NewStore request;
    request.name = body.RequiredString("name");
    if (auto kind = body.OptionalString("kind")) {
        auto parsed = core::ParseStoreKind(*kind, "kind");
        if (parsed) {
            request.kind = *parsed;
        } else {
            body.Fail("kind", parsed.error().message);
        }
    }
    // Declared nullable: null, like absent, gives the store a program of its own.
    request.program_id = body.OptionalNullableString("program_id");
    if (auto currency = body.OptionalString("currency")) request.currency = *currency;
    if (!body.ok()) return ErrorResponse(body.error());

    auto created = ctx.hub.admin().CreateStore(ctx.caller, request);
    if (!created) return ErrorResponse(created.error());
    Json json = Json::object();
    json["store_id"] = created->store.store_id;
    json["api_key"] = created->api_key;
    json["program_id"] = created->store.program_id;
    json.update(StoreToJson(created->store));
    return JsonResponse(201, json);
}

HttpResponse CurrentStore(const RequestContext& ctx) {
    auto store = ctx.hub.admin().CurrentStore(ctx.caller);
    if (!store) return ErrorResponse(store.error());
    return JsonResponse(200, StoreToJson(*store));
}

HttpResponse ListStores(const RequestContext& ctx) {
    auto stores = ctx.hub.admin().ListStores(ctx.caller);
    if (!stores) return ErrorResponse(stores.error());
    Json list = Json::array();
    for (const core::Store& store : *stores) list.push_back(StoreToJson(store));
    Json json = Json::object();
    json["stores"] = std::move(list);
    return JsonResponse(200, json);
}

// The body of PUT /v1/stores/{id}/rule (ReadEarningRule).
core::Result<core::EarningRule> ReadRule(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    core::EarningRule rule = ReadEarningRule(body, ctx.Param("id"));
    if (!body.ok()) return body.error();
    return rule;
}

HttpResponse PutRule(const RequestContext& ctx) {
    auto rule = ReadRule(ctx);
    if (!rule) return ErrorResponse(rule.error());
    auto stored = ctx.hub.rules().SetRule(ctx.caller, ctx.Param("id"), std::move(*rule));
    if (!stored) return ErrorResponse(stored.error());
    return JsonResponse(200, RuleToJson(*stored));
}

HttpResponse GetRule(const RequestContext& ctx) {
    auto rule = ctx.hub.rules().GetRule(ctx.caller, ctx.Param("id"));
    if (!rule) return ErrorResponse(rule.error());
    return JsonResponse(200, RuleToJson(*rule));
}

}  // namespace

void AddStoreRoutes(Router& router) {
    router.Add({"POST", "/v1/stores", Access::Roles({Role::kOperator}), CreateStore});
    router.Add({"GET", "/v1/stores", Access::Roles({Role::kOperator}), ListStores});
    router.Add({"GET", "/v1/stores/me", Access::Roles({Role::kStore}), CurrentStore});
    router.Add(
        {"PUT", "/v1/stores/{id}/rule", Access::Roles({Role::kOperator, Role::kStore}), PutRule});
    router.Add({"GET", "/v1/stores/{id}/rule",
                Access::Roles({Role::kOperator, Role::kStore, Role::kMember}), GetRule});
}

}  // namespace kizuna::http
