// The till (issue 17): a store's terminals, staff, till settings and end-of-day report, under
// /v1/stores/me (the calling store).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

Json TerminalToJson(const core::Terminal& t) {
    Json json = Json::object();
    json["terminal_id"] = t.terminal_id;
    json["name"] = t.name;
    json["created_at"] = TimeToJson(t.created_at);
    json["revoked_at"] = t.revoked_at ? TimeToJson(*t.revoked_at) : Json();
    return json;
}

Json StaffToJson(const core::StaffMember& s) {
    Json json = Json::object();
    json["staff_id"] = s.staff_id;
    json["name"] = s.name;
    json["role"] = core::StaffRoleName(s.role);
    json["created_at"] = TimeToJson(s.created_at);
    json["removed_at"] = s.removed_at ? TimeToJson(*s.removed_at) : Json();
    return json;
}

Json SettingsToJson(const core::TillSettings& s) {
    Json json = Json::object();
    json["max_sale_total"] = s.max_sale_total;
    json["max_points_per_sale"] = s.max_points_per_sale;
    json["manager_refund_above"] = s.manager_refund_above;
    json["utc_offset_minutes"] = s.utc_offset_minutes;
    return json;
}

Json TotalsToJson(const hub::DayTotals& t) {
    Json json = Json::object();
    json["terminal_id"] = t.terminal_id;
    json["sales_count"] = t.sales_count;
    json["sales_total"] = t.sales_total;
    json["points_paid_value"] = t.points_paid_value;
    json["voids_count"] = t.voids_count;
    json["voids_total"] = t.voids_total;
    json["points_issued"] = t.points_issued;
    json["points_redeemed"] = t.points_redeemed;
    json["points_reversed"] = t.points_reversed;
    json["points_voided"] = t.points_voided;
    return json;
}

HttpResponse AddTerminal(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string name = body.RequiredString("name");
    if (!body.ok()) return ErrorResponse(body.error());
    auto issued = ctx.hub.terminals().AddTerminal(ctx.caller, name);
    if (!issued) return ErrorResponse(issued.error());
    Json json = TerminalToJson(issued->terminal);
    json["api_key"] = issued->api_key;
    return JsonResponse(201, json);
}

HttpResponse ListTerminals(const RequestContext& ctx) {
    auto terminals = ctx.hub.terminals().ListTerminals(ctx.caller);
    if (!terminals) return ErrorResponse(terminals.error());
    Json list = Json::array();
    for (const auto& t : *terminals) list.push_back(TerminalToJson(t));
    Json json = Json::object();
    json["terminals"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse RevokeTerminal(const RequestContext& ctx) {
    auto revoked = ctx.hub.terminals().RevokeTerminal(ctx.caller, ctx.Param("id"));
    if (!revoked.ok()) return ErrorResponse(revoked.error());
    Json json = Json::object();
    json["terminal_id"] = ctx.Param("id");
    json["revoked"] = true;
    return JsonResponse(200, json);
}

HttpResponse AddStaff(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::StaffRequest request;
    request.staff_id = body.RequiredString("staff_id");
    request.name = body.RequiredString("name");
    const std::string role = body.RequiredString("role");
    request.pin = body.RequiredString("pin");
    if (body.ok()) {
        auto parsed = core::ParseStaffRole(role, "role");
        if (parsed) {
            request.role = *parsed;
        } else {
            body.Fail("role", parsed.error().message);
        }
    }
    if (!body.ok()) return ErrorResponse(body.error());
    auto staff = ctx.hub.terminals().AddStaff(ctx.caller, request);
    if (!staff) return ErrorResponse(staff.error());
    return JsonResponse(201, StaffToJson(*staff));
}

HttpResponse ListStaff(const RequestContext& ctx) {
    auto staff = ctx.hub.terminals().ListStaff(ctx.caller);
    if (!staff) return ErrorResponse(staff.error());
    Json list = Json::array();
    for (const auto& s : *staff) list.push_back(StaffToJson(s));
    Json json = Json::object();
    json["staff"] = std::move(list);
    return JsonResponse(200, json);
}

HttpResponse RemoveStaff(const RequestContext& ctx) {
    auto removed = ctx.hub.terminals().RemoveStaff(ctx.caller, ctx.Param("id"));
    if (!removed.ok()) return ErrorResponse(removed.error());
    Json json = Json::object();
    json["staff_id"] = ctx.Param("id");
    json["removed"] = true;
    return JsonResponse(200, json);
}

HttpResponse GetLimits(const RequestContext& ctx) {
    auto settings = ctx.hub.terminals().Settings(ctx.caller);
    if (!settings) return ErrorResponse(settings.error());
    return JsonResponse(200, SettingsToJson(*settings));
}

// Fields left out keep their current value.
HttpResponse PutLimits(const RequestContext& ctx) {
    auto current = ctx.hub.terminals().Settings(ctx.caller);
    if (!current) return ErrorResponse(current.error());
    core::TillSettings settings = *current;
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    if (auto v = body.OptionalInt("max_sale_total")) settings.max_sale_total = *v;
    if (auto v = body.OptionalInt("max_points_per_sale")) settings.max_points_per_sale = *v;
    if (auto v = body.OptionalInt("manager_refund_above")) settings.manager_refund_above = *v;
    if (auto v = body.OptionalInt("utc_offset_minutes")) {
        if (*v < -840 || *v > 840) {
            body.Fail("utc_offset_minutes", "utc_offset_minutes must be from -840 to 840");
        } else {
            settings.utc_offset_minutes = static_cast<int>(*v);
        }
    }
    if (!body.ok()) return ErrorResponse(body.error());
    auto stored = ctx.hub.terminals().SetSettings(ctx.caller, settings);
    if (!stored) return ErrorResponse(stored.error());
    return JsonResponse(200, SettingsToJson(*stored));
}

HttpResponse GetDay(const RequestContext& ctx) {
    std::string date;
    if (auto it = ctx.request.query.find("date"); it != ctx.request.query.end()) date = it->second;
    auto report = ctx.hub.terminals().Day(ctx.caller, date);
    if (!report) return ErrorResponse(report.error());
    Json json = Json::object();
    json["store_id"] = report->store_id;
    json["date"] = report->day.date;
    json["from"] = TimeToJson(report->day.start);
    json["to"] = TimeToJson(report->day.end);
    json["utc_offset_minutes"] = report->utc_offset_minutes;
    Json totals = TotalsToJson(report->totals);
    totals.erase("terminal_id");
    json["totals"] = std::move(totals);
    json["ledger_net"] = report->ledger_net;
    Json terminals = Json::array();
    for (const auto& t : report->terminals) terminals.push_back(TotalsToJson(t));
    json["terminals"] = std::move(terminals);
    return JsonResponse(200, json);
}

}  // namespace

void AddTillRoutes(Router& router) {
    const Access store = Access::Roles({Role::kStore});
    router.Add({"POST", "/v1/stores/me/terminals", store, AddTerminal});
    router.Add({"GET", "/v1/stores/me/terminals", store, ListTerminals});
    router.Add({"DELETE", "/v1/stores/me/terminals/{id}", store, RevokeTerminal});
    router.Add({"POST", "/v1/stores/me/staff", store, AddStaff});
    router.Add({"GET", "/v1/stores/me/staff", store, ListStaff});
    router.Add({"DELETE", "/v1/stores/me/staff/{id}", store, RemoveStaff});
    router.Add({"GET", "/v1/stores/me/limits", store, GetLimits});
    router.Add({"PUT", "/v1/stores/me/limits", store, PutLimits});
    router.Add({"GET", "/v1/stores/me/day", store, GetDay});
}

}  // namespace kizuna::http
