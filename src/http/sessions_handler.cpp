// Member log-in: a session token for a member id, card number or email and a password.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

HttpResponse Login(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::LoginRequest request;
    request.login = body.RequiredString("login");
    request.password = body.RequiredString("password");
    if (!body.ok()) return ErrorResponse(body.error());
    request.client = ctx.request.remote_address;

    auto session = ctx.hub.auth().Login(request);
    if (!session) return ErrorResponse(session.error());
    Json json = Json::object();
    json["token"] = session->token;
    json["member_id"] = session->member_id;
    json["expires_at"] = TimeToJson(session->expires_at);
    return JsonResponse(201, json);
}

HttpResponse Logout(const RequestContext& ctx) {
    auto token = BearerToken(ctx.request.authorization);
    if (!token) return ErrorResponse(token.error());
    auto ended = ctx.hub.auth().Logout(*token);
    if (!ended.ok()) return ErrorResponse(ended.error());
    Json json = Json::object();
    json["logged_out"] = true;
    json["sessions_ended"] = 1;
    return JsonResponse(200, json);
}

HttpResponse LogoutEverywhere(const RequestContext& ctx) {
    auto ended = ctx.hub.auth().LogoutEverywhere(ctx.caller.member_id);
    if (!ended) return ErrorResponse(ended.error());
    Json json = Json::object();
    json["logged_out"] = true;
    json["sessions_ended"] = *ended;
    return JsonResponse(200, json);
}

}  // namespace

void AddSessionRoutes(Router& router) {
    // Public: the password is the credential, and a stale token a browser still holds must not
    // stand in the way of logging in again.
    router.Add({"POST", "/v1/sessions", Access::Public(), Login});
    // Log-out ends the session on the hub: the token stops working at once.
    router.Add({"DELETE", "/v1/sessions/current", Access::Roles({hub::Role::kMember}), Logout});
    router.Add({"DELETE", "/v1/sessions", Access::Roles({hub::Role::kMember}), LogoutEverywhere});
}

}  // namespace kizuna::http
