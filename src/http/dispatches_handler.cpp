// Offer dispatch (seed function 8): the operator starts runs, follows them, pages through their
// recipients and downloads the letters and labels of the print channel; members' one-click
// unsubscribe links (RFC 8058) need no login.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

constexpr int kDefaultDispatchList = 50;
constexpr int kDefaultRecipientPage = 100;

Json CountsToJson(const hub::DispatchCounts& c, int64_t members) {
    Json json = Json::object();
    if (members >= 0) json["members"] = members;
    json["selected"] = c.selected;
    json["pending"] = c.pending;
    json["sent"] = c.sent;
    json["ready"] = c.ready;
    json["planned"] = c.planned;
    json["skipped"] = c.skipped;
    json["failed"] = c.failed;
    json["unknown"] = c.unknown;
    return json;
}

Json DispatchToJson(const hub::DispatchView& view) {
    const storage::DispatchRun& run = view.run;
    Json json = Json::object();
    json["dispatch_id"] = run.dispatch_id;
    // "selecting" is running too, for a caller; the phase says which part.
    json["status"] = run.status == "selecting" ? "running" : run.status;
    json["phase"] = run.status == "selecting" ? "selecting"
                    : run.status == "running" ? "sending"
                                              : run.status;
    json["dry_run"] = run.dry_run;
    json["channels"] = run.channels;
    json["program_id"] = run.program_id.empty() ? Json(nullptr) : Json(run.program_id);
    json["max_per_member"] = run.max_per_member;
    json["include_general"] = run.include_general;
    json["counts"] = CountsToJson(view.counts, run.members);
    Json channels = Json::object();
    for (const auto& [channel, counts] : view.by_channel) {
        channels[channel] = CountsToJson(counts, -1);
    }
    json["by_channel"] = std::move(channels);
    json["created_by"] = run.created_by;
    json["created_at"] = TimeToJson(run.created_at);
    json["updated_at"] = TimeToJson(run.updated_at);
    json["finished_at"] = run.finished_at ? TimeToJson(*run.finished_at) : Json(nullptr);
    json["paused_until"] = run.paused_until ? TimeToJson(*run.paused_until) : Json(nullptr);
    json["error"] = run.error.empty() ? Json(nullptr) : Json(run.error);
    return json;
}

Json ItemToJson(const hub::DispatchItem& item) {
    Json json = Json::object();
    json["kind"] = item.kind;
    if (item.kind == "offer") {
        json["offer_id"] = item.offer_id;
        json["title"] = item.title;
        json["store_id"] = item.store_id;
        json["store_name"] = item.store_name;
        json["score"] = item.score;
    } else {
        json["points"] = item.points;
        json["expires_at"] = TimeToJson(item.expires_at);
    }
    json["program_id"] = item.program_id;
    json["explanation"] = item.explanation_en;
    json["explanation_ja"] = item.explanation_ja;
    Json reasons = Json::array();
    for (const core::Reason& r : item.reasons) {
        Json reason = Json::object();
        reason["text"] = core::DescribeReason(r, core::ReasonLanguage::kEnglish);
        reason["subject"] = r.subject;
        reason["count"] = r.count;
        reason["days"] = r.days;
        if (r.kind == core::ReasonKind::kPointsExpiring) reason["points"] = r.points;
        reasons.push_back(std::move(reason));
    }
    json["reasons"] = std::move(reasons);
    return json;
}

HttpResponse CreateDispatch(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::NewDispatch request;
    if (body.ok() && !body.Has("channels")) body.Fail("channels", "channels is required");
    request.channels = body.OptionalStringArray("channels");
    request.dry_run = body.OptionalBool("dry_run").value_or(false);
    request.program_id = body.OptionalNullableString("program_id").value_or("");
    request.max_per_member =
        static_cast<int>(body.OptionalInt("max_per_member").value_or(request.max_per_member));
    request.include_general = body.OptionalBool("include_general").value_or(false);
    if (!body.ok()) return ErrorResponse(body.error());
    auto run = ctx.hub.dispatches().Create(ctx.caller, request);
    if (!run) return ErrorResponse(run.error());
    Json json = Json::object();
    json["dispatch_id"] = run->dispatch_id;
    json["status"] = "running";
    return JsonResponse(202, json);
}

HttpResponse GetDispatch(const RequestContext& ctx) {
    auto view = ctx.hub.dispatches().Get(ctx.caller, ctx.Param("id"));
    if (!view) return ErrorResponse(view.error());
    return JsonResponse(200, DispatchToJson(*view));
}

HttpResponse ListDispatches(const RequestContext& ctx) {
    HttpResponse refusal;
    auto limit = QueryLimit(ctx.request, kDefaultDispatchList, hub::kMaxDispatchList, refusal);
    if (!limit) return refusal;
    auto views = ctx.hub.dispatches().List(ctx.caller, *limit);
    if (!views) return ErrorResponse(views.error());
    Json list = Json::array();
    for (const hub::DispatchView& view : *views) list.push_back(DispatchToJson(view));
    Json json = Json::object();
    json["dispatches"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse ListRecipients(const RequestContext& ctx) {
    HttpResponse refusal;
    auto limit = QueryLimit(ctx.request, kDefaultRecipientPage, hub::kMaxRecipientPage, refusal);
    if (!limit) return refusal;
    std::string cursor;
    if (auto it = ctx.request.query.find("cursor"); it != ctx.request.query.end()) {
        cursor = it->second;
    }
    auto page = ctx.hub.dispatches().Recipients(ctx.caller, ctx.Param("id"), cursor, *limit);
    if (!page) return ErrorResponse(page.error());
    Json list = Json::array();
    for (const hub::RecipientView& r : page->recipients) {
        Json json = Json::object();
        json["member_id"] = r.row.member_id;
        json["channel"] = r.row.channel;
        json["state"] = r.row.state;
        json["attempts"] = r.row.attempts;
        json["reason"] = r.row.reason.empty() ? Json(nullptr) : Json(r.row.reason);
        json["updated_at"] = TimeToJson(r.row.updated_at);
        Json items = Json::array();
        for (const hub::DispatchItem& item : r.items) items.push_back(ItemToJson(item));
        json["items"] = std::move(items);
        list.push_back(std::move(json));
    }
    Json json = Json::object();
    json["recipients"] = std::move(list);
    json["next_cursor"] = page->next_cursor.empty() ? Json(nullptr) : Json(page->next_cursor);
    return JsonResponse(200, json);
}

HttpResponse PdfResponse(core::Result<std::string> pdf, const std::string& name) {
    if (!pdf) return ErrorResponse(pdf.error());
    HttpResponse response;
    response.status = 200;
    response.content_type = "application/pdf";
    response.body = std::move(*pdf);
    response.headers.emplace_back("Content-Disposition", "inline; filename=\"" + name + "\"");
    return response;
}

HttpResponse Letters(const RequestContext& ctx) {
    const std::string& id = ctx.Param("id");
    return PdfResponse(ctx.hub.dispatches().Letters(ctx.caller, id), id + "-letters.pdf");
}

HttpResponse Labels(const RequestContext& ctx) {
    int per_page = 12;
    if (auto it = ctx.request.query.find("per_page"); it != ctx.request.query.end()) {
        if (it->second == "24") {
            per_page = 24;
        } else if (it->second != "12") {
            return ErrorResponse(core::MakeError(core::ErrorCode::kInvalidArgument,
                                                 "per_page must be 12 or 24", "per_page"));
        }
    }
    const std::string& id = ctx.Param("id");
    return PdfResponse(ctx.hub.dispatches().Labels(ctx.caller, id, per_page), id + "-labels.pdf");
}

std::string HtmlAttribute(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

HttpResponse HtmlPage(int status, const std::string& title, const std::string& body) {
    HttpResponse response;
    response.status = status;
    response.content_type = "text/html; charset=utf-8";
    response.body =
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><meta "
        "name=\"viewport\" content=\"width=device-width\"><title>" +
        title + "</title></head><body style=\"font-family:sans-serif;margin:2em\">" + body +
        "</body></html>";
    return response;
}

// A token as it may stand in a URL: the characters tokens are made of, nothing else.
std::string TokenForUrl(std::string_view token) {
    std::string out;
    for (char c : token) {
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '.' || c == '_' || c == '-') {
            out += c;
        }
    }
    return out;
}

std::string TokenOf(const HttpRequest& request) {
    auto it = request.query.find("token");
    return it == request.query.end() ? std::string() : it->second;
}

// GET: a page that asks, and POSTs (a mail client's link preview must not unsubscribe anyone).
HttpResponse UnsubscribePage(const RequestContext& ctx) {
    const std::string token = TokenOf(ctx.request);
    return HtmlPage(200, "配信停止 / Unsubscribe",
                    "<h1>配信停止 / Unsubscribe</h1><p>今後、このチャネルでのオファーのご案内を"
                    "停止します。<br>Stop offers sent this way.</p><form method=\"post\" "
                    "action=\"/v1/unsubscribe?token=" +
                        TokenForUrl(token) +
                        "\"><button type=\"submit\">配信を停止する / Unsubscribe</button>"
                        "</form>");
}

// POST (RFC 8058 one-click: the body is "List-Unsubscribe=One-Click", or empty from the page).
HttpResponse Unsubscribe(const RequestContext& ctx) {
    auto channel = ctx.hub.dispatches().Unsubscribe(TokenOf(ctx.request));
    if (!channel) {
        if (channel.error().code != core::ErrorCode::kNotFound) {
            return ErrorResponse(channel.error());
        }
        return HtmlPage(404, "配信停止 / Unsubscribe",
                        "<h1>このリンクは無効です / This link is not valid</h1><p>" +
                            HtmlAttribute(channel.error().message) + "</p>");
    }
    const std::string what = *channel == "email" ? "メール" : "郵送";
    return HtmlPage(200, "配信停止 / Unsubscribed",
                    "<h1>配信を停止しました / Unsubscribed</h1><p>" + what +
                        "でのオファーのご案内を停止しました。<br>You will get no more offers by " +
                        (*channel == "email" ? "email" : "post") + ".</p>");
}

}  // namespace

void AddDispatchRoutes(Router& router) {
    const Access operators = Access::Roles({Role::kOperator});
    router.Add({"POST", "/v1/dispatches", operators, CreateDispatch});
    router.Add({"GET", "/v1/dispatches", operators, ListDispatches});
    router.Add({"GET", "/v1/dispatches/{id}", operators, GetDispatch});
    router.Add({"GET", "/v1/dispatches/{id}/recipients", operators, ListRecipients});
    router.Add({"GET", "/v1/dispatches/{id}/letters.pdf", operators, Letters});
    router.Add({"GET", "/v1/dispatches/{id}/labels.pdf", operators, Labels});
    router.Add({"GET", "/v1/unsubscribe", Access::Public(), UnsubscribePage});
    router.Add({"POST", "/v1/unsubscribe", Access::Public(), Unsubscribe});
}

}  // namespace kizuna::http
