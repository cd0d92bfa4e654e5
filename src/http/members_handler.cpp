// Members: enrollment (seed function 1) and its confirmation by mail, "already registered?",
// card reissue (2), member usage (4) and store lookup (5).
#include <optional>

#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "http/request_readers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

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

HttpResponse EnrollmentResponse(const hub::Enrollment& enrollment) {
    Json json = Json::object();
    json["member_id"] = enrollment.member_id;
    json["card"] = IssuedCardToJson(enrollment.card);
    return JsonResponse(201, json);
}

}  // namespace

hub::NewMember ReadNewMember(JsonReader& body) {
    hub::NewMember request;
    request.password = body.RequiredString("password");
    if (auto profile = body.Object("profile", true)) request.profile = ReadProfile(*profile);
    if (auto consents = body.Object("consents", false)) {
        request.consents.email_offers = consents->OptionalBool("email_offers").value_or(false);
        request.consents.postal_offers = consents->OptionalBool("postal_offers").value_or(false);
        request.consents.share_profile = consents->OptionalBool("share_profile").value_or(false);
    }
    request.medium = ReadCardMedium(body, "medium", core::CardMedium::kVirtual);
    request.shared_phone = body.OptionalBool("shared_phone").value_or(false);
    return request;
}

namespace {

HttpResponse Enroll(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::NewMember request = ReadNewMember(body);
    if (!body.ok()) return ErrorResponse(body.error());

    if (ctx.caller.role == Role::kAnonymous && !request.profile.email.empty()) {
        // Self-service with an email: the same answer whether or not the address is a
        // member's; the mail says which, and carries the confirmation when it is new.
        auto requested = ctx.hub.members().RequestEnrollment(request, ctx.caller.address);
        if (!requested.ok()) return ErrorResponse(requested.error());
        Json json = Json::object();
        json["status"] = "pending";
        json["message"] =
            "check your email: it says how to confirm the enrollment and get your card, or that "
            "this address already has a membership";
        return JsonResponse(202, json);
    }
    auto enrollment = ctx.hub.members().Enroll(ctx.caller, request);
    if (!enrollment) return ErrorResponse(enrollment.error());
    return EnrollmentResponse(*enrollment);
}

HttpResponse Confirm(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string token = body.RequiredString("token");
    if (!body.ok()) return ErrorResponse(body.error());
    auto enrollment = ctx.hub.members().ConfirmEnrollment(token);
    if (!enrollment) return ErrorResponse(enrollment.error());
    return EnrollmentResponse(*enrollment);
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

// The usage query of the request: `limit` (1..kMaxUsageLimit, checked by the service; a limit
// that is not a number reads as 0, out of range) and `cursor`.
hub::UsageQuery ReadUsageQuery(const RequestContext& ctx) {
    hub::UsageQuery query;
    if (auto it = ctx.request.query.find("limit"); it != ctx.request.query.end()) {
        const std::string& text = it->second;
        bool digits = !text.empty() && text.size() <= 4 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
        query.limit = digits ? std::stoi(text) : 0;
    }
    if (auto it = ctx.request.query.find("cursor"); it != ctx.request.query.end()) {
        query.cursor = it->second;
    }
    return query;
}

HttpResponse UsageResponse(const std::string& member_id, const core::Result<hub::Usage>& usage) {
    if (!usage) return ErrorResponse(usage.error());
    // Written straight as text: building and dumping an nlohmann DOM took 13 µs per answer of
    // the bench data, the writer takes 4, for the same bytes (json_writer_test.cpp).
    HttpResponse response;
    response.status = 200;
    response.body = UsageJsonText(member_id, *usage);
    return response;
}

HttpResponse Usage(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    return UsageResponse(member_id,
                         ctx.hub.members().GetUsage(ctx.caller, member_id, ReadUsageQuery(ctx)));
}

// Usage on the event loop: answered there when a read connection is free at once (a page is
// bounded, so it is cheap), else none and a worker runs Usage.
std::optional<HttpResponse> TryUsage(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    auto usage = ctx.hub.members().TryGetUsage(ctx.caller, member_id, ReadUsageQuery(ctx));
    if (!usage) return std::nullopt;
    return UsageResponse(member_id, *usage);
}

HttpResponse Lookup(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    auto view = ctx.hub.members().Lookup(ctx.caller, member_id);
    if (!view) return ErrorResponse(view.error());
    const RecordContext context{&view->names, &view->refunds};
    Json json = Json::object();
    json["member_id"] = view->member_id;
    if (view->profile) json["profile"] = ProfileToJson(*view->profile);
    json["consents"] = ConsentsToJson(view->consents);
    // The member's current card; a revoked one is never shown as theirs.
    if (view->card) json["card"] = CardToJson(*view->card);
    Json balances = Json::array();
    for (const storage::Balance& balance : view->balances) {
        balances.push_back(BalanceToJson(balance, context));
    }
    json["balances"] = std::move(balances);
    Json purchases = Json::array();
    for (const core::Purchase& purchase : view->purchases) {
        purchases.push_back(PurchaseToJson(purchase, context));
    }
    json["purchases"] = std::move(purchases);
    // Issue 19: the member's tier in the store's program, and what is left to the next.
    auto tier = ctx.hub.tiers().StandingOf(ctx.caller, member_id);
    if (!tier) return ErrorResponse(tier.error());
    if (*tier) {
        const core::TierStanding& standing = **tier;
        json["tier"] = {
            {"name", standing.name},
            {"multiplier", MilliToJson(standing.multiplier_milli)},
            {"value", standing.value},
            {"held_until", core::FormatRfc3339(standing.held_until)},
            {"next", standing.next_name.empty()
                         ? Json()
                         : Json{{"name", standing.next_name}, {"remaining", standing.remaining}}}};
    }
    return JsonResponse(200, json);
}

// The member's own record (or the operator's view of it).
HttpResponse Self(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    auto self = ctx.hub.members().GetSelf(ctx.caller, member_id);
    if (!self) return ErrorResponse(self.error());
    Json json = Json::object();
    json["member_id"] = self->member.member_id;
    json["profile"] = ProfileToJson(self->member.profile);
    json["consents"] = ConsentsToJson(self->member.consents);
    json["email_confirmed"] = self->member.email_confirmed;
    // What the consent does today: an unconfirmed address gets no offers.
    json["offers_by_email"] = core::MayMailOffers(self->member);
    if (self->card) json["card"] = CardToJson(*self->card);
    return JsonResponse(200, json);
}

HttpResponse Get(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    return ctx.caller.role == Role::kStore ? Lookup(ctx) : Self(ctx);
}

HttpResponse Update(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::MemberUpdate update;
    if (auto profile = body.Object("profile", false)) {
        update.name = profile->OptionalString("name");
        update.name_kana = profile->OptionalString("name_kana");
        update.postal_code = profile->OptionalString("postal_code");
        update.address = profile->OptionalString("address");
        update.phone = profile->OptionalString("phone");
        update.birth_date = profile->OptionalString("birth_date");
        update.occupation = profile->OptionalString("occupation");
        update.email = profile->OptionalString("email");
    }
    if (auto consents = body.Object("consents", false)) {
        update.email_offers = consents->OptionalBool("email_offers");
        update.postal_offers = consents->OptionalBool("postal_offers");
        update.share_profile = consents->OptionalBool("share_profile");
    }
    update.shared_phone = body.OptionalBool("shared_phone").value_or(false);
    if (!body.ok()) return ErrorResponse(body.error());
    auto updated = ctx.hub.members().Update(ctx.caller, member_id, update);
    if (!updated) return ErrorResponse(updated.error());
    Json json = Json::object();
    json["member_id"] = member_id;
    json["changed"] = updated->changed;
    if (!updated->email_pending.empty()) {
        json["email_pending"] = updated->email_pending;
        json["message"] = "the new email is used once confirmed: follow the link mailed to it";
    }
    return JsonResponse(200, json);
}

HttpResponse Leave(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    std::string password;
    if (ctx.caller.role == Role::kMember) {
        JsonReader body = JsonReader::ParseBody(ctx.request.body);
        password = body.RequiredString("password");
        if (!body.ok()) return ErrorResponse(body.error());
    }
    auto left = ctx.hub.members().Leave(ctx.caller, member_id, password);
    if (!left) return ErrorResponse(left.error());
    Json json = Json::object();
    json["member_id"] = left->member_id;
    json["status"] = "left";
    json["cards_revoked"] = left->cards_revoked;
    json["sessions_ended"] = left->sessions_ended;
    Json forfeited = Json::array();
    for (const storage::Balance& b : left->points_forfeited) forfeited.push_back(BalanceToJson(b));
    json["points_forfeited"] = std::move(forfeited);
    return JsonResponse(200, json);
}

HttpResponse ConfirmedEmail(const core::Result<std::string>& confirmed) {
    if (!confirmed) return ErrorResponse(confirmed.error());
    Json json = Json::object();
    json["member_id"] = *confirmed;
    json["email_confirmed"] = true;
    return JsonResponse(200, json);
}

HttpResponse ConfirmEmail(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string token = body.RequiredString("token");
    if (!body.ok()) return ErrorResponse(body.error());
    return ConfirmedEmail(ctx.hub.members().ConfirmEmail(token));
}

// The link in the mail: following it is the confirmation (the mailbox holds the token).
HttpResponse ConfirmEmailLink(const RequestContext& ctx) {
    return ConfirmedEmail(ctx.hub.members().ConfirmEmail(ctx.Param("token")));
}

HttpResponse RequestPasswordReset(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string email = body.RequiredString("email");
    if (!body.ok()) return ErrorResponse(body.error());
    auto requested = ctx.hub.members().RequestPasswordReset(email, ctx.caller.address);
    if (!requested.ok()) return ErrorResponse(requested.error());
    Json json = Json::object();
    json["status"] = "pending";
    json["message"] =
        "if this is a member's confirmed email, a reset link is on its way; it works once, for " +
        std::to_string(hub::kPasswordResetLifetime.count()) + " minutes";
    return JsonResponse(202, json);
}

HttpResponse CompletePasswordReset(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string token = body.RequiredString("token");
    std::string password = body.RequiredString("password");
    if (!body.ok()) return ErrorResponse(body.error());
    auto reset = ctx.hub.members().ResetPassword(token, password);
    if (!reset) return ErrorResponse(reset.error());
    Json json = Json::object();
    json["member_id"] = *reset;
    json["password_changed"] = true;
    json["message"] = "every session of this member has ended; log in with the new password";
    return JsonResponse(200, json);
}

// The page the reset mail links to: a form that sends the token (from the link) and the new
// password to POST /v1/password-resets/complete. Static: the token never reaches the server
// until the form is sent.
constexpr std::string_view kResetPasswordPage = R"html(<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>Kizuna — new password</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Kizuna: choose a new password / 新しいパスワード</h1>
<form id="f"><label>New password <input type="password" id="p" minlength="8" required></label>
<button>Set password</button></form><p id="r" role="status"></p>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const token = new URLSearchParams(location.search).get("token") || "";
  const answer = await fetch("/v1/password-resets/complete", {method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({token, password: document.getElementById("p").value})});
  const body = await answer.json();
  document.getElementById("r").textContent =
    answer.ok ? body.message : (body.error && body.error.message) || "failed";
});
</script></body></html>
)html";

HttpResponse ResetPasswordPage(const RequestContext&) {
    HttpResponse response;
    response.status = 200;
    response.content_type = "text/html; charset=utf-8";
    response.body = std::string(kResetPasswordPage);
    return response;
}

}  // namespace

void AddMemberRoutes(Router& router) {
    router.Add({"POST", "/v1/members",
                Access::Roles({Role::kAnonymous, Role::kStore, Role::kOperator}), Enroll});
    // The confirmation token, from the mail, is the credential.
    router.Add({"POST", "/v1/members/confirmations", Access::Public(), Confirm});
    router.Add({"POST", "/v1/members/search", Access::Roles({Role::kStore}), Search});
    router.Add(
        {"POST", "/v1/members/{id}/cards", Access::Roles({Role::kStore, Role::kMember}), Reissue});
    // Usage is the most frequent read (members' portal and app) and a few indexed lookups of
    // one member on a pooled read connection: answered on the I/O thread when a connection is
    // free at once, without the hop to the worker pool and back (half its cost in profiles,
    // bench/README.md); never waiting there for one.
    router.Add({.method = "GET",
                .pattern = "/v1/members/{id}/usage",
                .access = Access::Roles({Role::kMember, Role::kOperator}),
                .handler = Usage,
                .try_inline = TryUsage});
    // A store: the lookup (seed (5)); the member or the operator: the member's own record.
    router.Add({"GET", "/v1/members/{id}",
                Access::Roles({Role::kStore, Role::kMember, Role::kOperator}), Get});
    router.Add({"PATCH", "/v1/members/{id}",
                Access::Roles({Role::kMember, Role::kStore, Role::kOperator}), Update});
    router.Add(
        {"DELETE", "/v1/members/{id}", Access::Roles({Role::kMember, Role::kOperator}), Leave});
    // The token from the mail is the credential.
    router.Add({"POST", "/v1/email-confirmations", Access::Public(), ConfirmEmail});
    router.Add({"GET", "/v1/email-confirmations/{token}", Access::Public(), ConfirmEmailLink});
    router.Add({"POST", "/v1/password-resets", Access::Public(), RequestPasswordReset});
    router.Add({"POST", "/v1/password-resets/complete", Access::Public(), CompletePasswordReset});
    router.Add({"GET", "/reset-password", Access::Public(), ResetPasswordPage});
}

}  // namespace kizuna::http
