// Health, the card-signing public key, metrics and the OpenAPI document.
#include "core/card_record.hpp"
#include "http/handlers.hpp"
#include "http/openapi.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

HttpResponse Health(const RequestContext& ctx) {
    Json json = Json::object();
    json["status"] = "ok";
    json["storage"] = ctx.hub.storage().BackendName();
    return JsonResponse(200, json);
}

HttpResponse CardKey(const RequestContext& ctx) {
    Json json = Json::object();
    json["algorithm"] = "Ed25519";
    json["public_key"] = core::Base64UrlEncode(ctx.hub.card_public_key());
    return JsonResponse(200, json);
}

HttpResponse OpenApi(const RequestContext&) {
    HttpResponse response;
    response.body = std::string(OpenApiDocument());
    return response;
}

}  // namespace

void AddSystemRoutes(Router& router, std::function<std::string()> render_metrics) {
    router.Add({"GET", "/healthz", Access::Public(), Health, /*runs_inline=*/true});
    router.Add({"GET", "/v1/card-key", Access::Public(), CardKey, /*runs_inline=*/true});
    router.Add({"GET", "/v1/openapi.json", Access::Public(), OpenApi, /*runs_inline=*/true});
    router.Add({"GET", "/metrics", Access::Roles({Role::kOperator}),
                [render = std::move(render_metrics)](const RequestContext&) {
                    HttpResponse response;
                    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
                    response.body = render();
                    return response;
                }});
}

}  // namespace kizuna::http
