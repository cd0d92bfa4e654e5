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
    return JsonResponse(200, TillSettingsToJson(*settings));
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
    return JsonResponse(200, TillSettingsToJson(*stored));
}

HttpResponse GetDay(const RequestContext& ctx) {
    std::string date;
    if (auto it = ctx.request.query.find("date"); it != ctx.request.query.end()) date = it->second;
    auto report = ctx.hub.terminals().Day(ctx.caller, date);
    if (!report) return ErrorResponse(report.error());
    return JsonResponse(200, DayReportToJson(*report));
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
