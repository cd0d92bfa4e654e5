// Members: enrollment (seed function 1), "already registered?", card reissue (2), member usage
// (4) and store lookup (5).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

constexpr int kDefaultHistoryLimit = 50;

core::Profile ReadProfile(JsonReader& profile) {
    core::Profile p;
    p.name = profile.RequiredString("name");
    p.name_kana = profile.OptionalString("name_kana").value_or("");
    p.postal_code = profile.OptionalString("postal_code").value_or("");
    p.address = profile.OptionalString("address").value_or("");
    p.phone = profile.OptionalString("phone").value_or("");
    p.birth_date = profile.OptionalString("birth_date").value_or("");
    p.occupation = profile.OptionalString("occupation").value_or("");
    p.email = profile.OptionalString("email").value_or("");
    return p;
}

HttpResponse Enroll(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::NewMember request;
    request.password = body.RequiredString("password");
    if (auto profile = body.Object("profile", true)) request.profile = ReadProfile(*profile);
    if (auto consents = body.Object("consents", false)) {
        request.consents.email_offers = consents->OptionalBool("email_offers").value_or(false);
        request.consents.postal_offers = consents->OptionalBool("postal_offers").value_or(false);
        request.consents.share_profile = consents->OptionalBool("share_profile").value_or(false);
    }
    request.medium = ReadCardMedium(body, "medium", core::CardMedium::kVirtual);
    if (!body.ok()) return ErrorResponse(body.error());

    auto enrollment = ctx.hub.members().Enroll(ctx.caller, request);
    if (!enrollment) return ErrorResponse(enrollment.error());
    Json json = Json::object();
    json["member_id"] = enrollment->member_id;
    json["card"] = IssuedCardToJson(enrollment->card);
    return JsonResponse(201, json);
}

HttpResponse Search(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::MemberQuery query;
    query.email = body.OptionalString("email").value_or("");
    query.phone = body.OptionalString("phone").value_or("");
    if (body.ok() && query.email.empty() && query.phone.empty()) {
        body.Fail("email", "email or phone is required");
    }
    if (!body.ok()) return ErrorResponse(body.error());

    auto matches = ctx.hub.members().Search(ctx.caller, query);
    if (!matches) return ErrorResponse(matches.error());
    Json list = Json::array();
    for (const hub::MemberMatch& match : *matches) {
        Json m = Json::object();
        m["member_id"] = match.member_id;
        if (!match.name.empty()) m["name"] = match.name;
        list.push_back(std::move(m));
    }
    Json json = Json::object();
    json["members"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse Reissue(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string password = body.RequiredString("password");
    core::CardMedium medium = ReadCardMedium(body, "medium", core::CardMedium::kVirtual);
    if (!body.ok()) return ErrorResponse(body.error());

    auto card = ctx.hub.members().ReissueCard(ctx.caller, member_id, password, medium);
    if (!card) return ErrorResponse(card.error());
    Json json = Json::object();
    json["card"] = IssuedCardToJson(*card);
    return JsonResponse(201, json);
}

HttpResponse Usage(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    int limit = kDefaultHistoryLimit;
    if (auto it = ctx.request.query.find("limit"); it != ctx.request.query.end()) {
        const std::string& text = it->second;
        bool digits = !text.empty() && text.size() <= 4 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
        limit = digits ? std::stoi(text) : 0;
        if (limit < 1 || limit > hub::kMaxHistoryLimit) {
            return ErrorResponse(core::MakeError(
                core::ErrorCode::kInvalidArgument,
                "limit must be an integer between 1 and " + std::to_string(hub::kMaxHistoryLimit),
                "limit"));
        }
    }

    auto usage = ctx.hub.members().GetUsage(ctx.caller, member_id, limit);
    if (!usage) return ErrorResponse(usage.error());
    // Written straight as text: building and dumping an nlohmann DOM took 13 µs per answer of
    // the bench data, the writer takes 4, for the same bytes (json_writer_test.cpp).
    HttpResponse response;
    response.status = 200;
    response.body = UsageJsonText(member_id, *usage);
    return response;
}

HttpResponse Lookup(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    auto view = ctx.hub.members().Lookup(ctx.caller, member_id);
    if (!view) return ErrorResponse(view.error());
    Json json = Json::object();
    json["member_id"] = view->member_id;
    if (view->profile) json["profile"] = ProfileToJson(*view->profile);
    json["consents"] = ConsentsToJson(view->consents);
    Json balances = Json::array();
    for (const storage::Balance& balance : view->balances) {
        balances.push_back(BalanceToJson(balance));
    }
    json["balances"] = std::move(balances);
    Json purchases = Json::array();
    for (const core::Purchase& purchase : view->purchases) {
        purchases.push_back(PurchaseToJson(purchase));
    }
    json["purchases"] = std::move(purchases);
    return JsonResponse(200, json);
}

}  // namespace

void AddMemberRoutes(Router& router) {
    router.Add({"POST", "/v1/members",
                Access::Roles({Role::kAnonymous, Role::kStore, Role::kOperator}), Enroll});
    router.Add({"POST", "/v1/members/search", Access::Roles({Role::kStore}), Search});
    router.Add(
        {"POST", "/v1/members/{id}/cards", Access::Roles({Role::kStore, Role::kMember}), Reissue});
    // Usage is the most frequent read (members' portal and app) and a few indexed lookups of
    // one member on a pooled read connection: answered on the I/O thread, without the hop to
    // the worker pool and back (half its cost in profiles, bench/README.md).
    router.Add({"GET", "/v1/members/{id}/usage", Access::Roles({Role::kMember, Role::kOperator}),
                Usage, /*runs_inline=*/true});
    router.Add({"GET", "/v1/members/{id}", Access::Roles({Role::kStore}), Lookup});
}

}  // namespace kizuna::http
