// Coalition economics and settlement: PUT/GET /v1/programs/{id}/economics,
// GET /v1/programs/{id}/settlements?period=YYYY-MM[&format=json|csv|pdf],
// POST /v1/programs/{id}/settlements/{period}/close.
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"
#include "hub/settlement_export.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

Json EconomicsToJson(const core::ProgramEconomics& e) {
    Json json = Json::object();
    json["version"] = e.version;
    json["effective_from"] = core::FormatPeriod(e.effective_from);
    json["point_value"] = e.point_value;
    json["issuing_fee_bp"] = e.issuing_fee_bp;
    json["breakage"] = std::string(core::BreakagePolicyName(e.breakage));
    if (e.version > 0) json["created_at"] = TimeToJson(e.created_at);
    return json;
}

Json RowToJson(const core::StatementRow& r) {
    const core::PartyPoints& p = r.points;
    Json json = Json::object();
    json["store_id"] = p.store_id;
    json["store_name"] = p.store_name;
    json["points_issued"] = p.issued;
    json["points_redeemed"] = p.redeemed;
    json["points_reversed"] = p.reversed;
    json["points_expired"] = p.expired;
    json["issued_value"] = r.issued_value;
    json["redeemed_value"] = r.redeemed_value;
    json["reversed_value"] = r.reversed_value;
    json["expired_value"] = r.expired_value;
    json["fees"] = r.fees;
    json["breakage_returned"] = r.breakage_returned;
    json["net"] = r.net;
    json["late_entries"] = p.late_entries;
    return json;
}

Json StatementToJson(const hub::SettlementStatement& s) {
    const core::Statement& st = s.statement;
    Json json = Json::object();
    json["program_id"] = s.program_id;
    json["program_name"] = s.program_name;
    json["period"] = core::FormatPeriod(st.period);
    json["period_starts_at"] = TimeToJson(core::EndOf(core::PreviousPeriod(st.period)));
    json["period_ends_at"] = TimeToJson(core::EndOf(st.period));
    json["status"] = s.closed ? "closed" : "open";
    if (s.closed) json["closed_at"] = TimeToJson(s.closed_at);
    json["as_of"] = TimeToJson(s.as_of);
    json["currency"] = s.currency;
    json["economics"] = EconomicsToJson(st.economics);
    Json rows = Json::array();
    for (const core::StatementRow& r : st.rows) rows.push_back(RowToJson(r));
    json["stores"] = std::move(rows);
    if (s.program_visible) {
        const core::ProgramTotals& t = st.program;
        Json program = Json::object();
        program["outstanding_points_opening"] = t.opening_points;
        program["outstanding_points"] = t.closing_points;
        program["outstanding_value_opening"] = t.opening_value;
        program["outstanding_value"] = t.closing_value;
        program["deposit_change"] = t.deposit_change;
        program["fees_kept"] = t.fees_kept;
        program["breakage_kept"] = t.breakage_kept;
        program["kept"] = t.kept;
        program["sum_net"] = t.sum_net;
        program["identity"] = "sum_net - deposit_change - kept = 0";
        program["balanced"] = t.sum_net - t.deposit_change - t.kept == 0;
        json["program"] = std::move(program);
    }
    Json late = Json::array();
    for (const core::LedgerEntry& e : s.late_entries) {
        Json entry = Json::object();
        entry["entry_id"] = e.entry_id;
        entry["store_id"] = e.store_id;
        entry["kind"] = std::string(core::EntryKindName(e.kind));
        entry["points"] = e.delta;
        entry["ref"] = e.ref;
        entry["occurred_at"] = TimeToJson(e.occurred_at);
        entry["recorded_at"] = TimeToJson(e.recorded_at);
        late.push_back(std::move(entry));
    }
    json["late_entries"] = std::move(late);
    return json;
}

HttpResponse StatementResponse(int status, const hub::SettlementStatement& s,
                               std::string_view format) {
    const std::string name =
        "settlement-" + s.program_id + "-" + core::FormatPeriod(s.statement.period);
    if (format == "csv") {
        HttpResponse response{status, "text/csv; charset=utf-8", hub::SettlementCsv(s), {}};
        response.headers.emplace_back("Content-Disposition",
                                      "attachment; filename=\"" + name + ".csv\"");
        return response;
    }
    if (format == "pdf") {
        auto pdf = hub::SettlementPdf(s);
        if (!pdf) return ErrorResponse(pdf.error());
        HttpResponse response{status, "application/pdf", std::move(*pdf), {}};
        response.headers.emplace_back("Content-Disposition",
                                      "attachment; filename=\"" + name + ".pdf\"");
        return response;
    }
    return JsonResponse(status, StatementToJson(s));
}

// The `format` query parameter: json (default), csv or pdf.
std::optional<std::string> QueryFormat(const HttpRequest& request, HttpResponse& refusal) {
    auto it = request.query.find("format");
    if (it == request.query.end()) return "json";
    if (it->second == "json" || it->second == "csv" || it->second == "pdf") return it->second;
    refusal = ErrorResponse(core::MakeError(core::ErrorCode::kInvalidArgument,
                                            "format must be json, csv or pdf", "format"));
    return std::nullopt;
}

HttpResponse PutEconomics(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    hub::EconomicsRequest request;
    request.point_value = body.OptionalInt("point_value").value_or(1);
    request.issuing_fee_bp = body.OptionalInt("issuing_fee_bp").value_or(0);
    if (auto breakage = body.OptionalString("breakage")) {
        auto parsed = core::ParseBreakagePolicy(*breakage, "breakage");
        if (parsed) {
            request.breakage = *parsed;
        } else {
            body.Fail("breakage", parsed.error().message);
        }
    }
    if (auto from = body.OptionalString("effective_from")) {
        auto parsed = core::ParsePeriod(*from, "effective_from");
        if (parsed) {
            request.effective_from = *parsed;
        } else {
            body.Fail("effective_from", parsed.error().message);
        }
    }
    if (!body.ok()) return ErrorResponse(body.error());
    auto stored = ctx.hub.settlements().SetEconomics(ctx.caller, ctx.Param("id"), request);
    if (!stored) return ErrorResponse(stored.error());
    return JsonResponse(200, EconomicsToJson(*stored));
}

HttpResponse GetEconomics(const RequestContext& ctx) {
    auto view = ctx.hub.settlements().GetEconomics(ctx.caller, ctx.Param("id"));
    if (!view) return ErrorResponse(view.error());
    Json json = EconomicsToJson(view->in_force);
    json["current_period"] = core::FormatPeriod(view->current_period);
    Json versions = Json::array();
    for (const auto& v : view->versions) versions.push_back(EconomicsToJson(v));
    json["versions"] = std::move(versions);
    return JsonResponse(200, json);
}

HttpResponse GetSettlement(const RequestContext& ctx) {
    HttpResponse refusal;
    auto format = QueryFormat(ctx.request, refusal);
    if (!format) return refusal;
    std::optional<core::Period> period;
    if (auto it = ctx.request.query.find("period"); it != ctx.request.query.end()) {
        auto parsed = core::ParsePeriod(it->second, "period");
        if (!parsed) return ErrorResponse(parsed.error());
        period = *parsed;
    }
    auto statement = ctx.hub.settlements().GetStatement(ctx.caller, ctx.Param("id"), period);
    if (!statement) return ErrorResponse(statement.error());
    return StatementResponse(200, *statement, *format);
}

HttpResponse CloseSettlement(const RequestContext& ctx) {
    auto period = core::ParsePeriod(ctx.Param("period"), "period");
    if (!period) return ErrorResponse(period.error());
    auto statement = ctx.hub.settlements().ClosePeriod(ctx.caller, ctx.Param("id"), *period);
    if (!statement) return ErrorResponse(statement.error());
    return StatementResponse(200, *statement, "json");
}

}  // namespace

void AddSettlementRoutes(Router& router) {
    router.Add(
        {"PUT", "/v1/programs/{id}/economics", Access::Roles({Role::kOperator}), PutEconomics});
    router.Add({"GET", "/v1/programs/{id}/economics",
                Access::Roles({Role::kOperator, Role::kStore}), GetEconomics});
    router.Add({"GET", "/v1/programs/{id}/settlements",
                Access::Roles({Role::kOperator, Role::kStore}), GetSettlement});
    router.Add({"POST", "/v1/programs/{id}/settlements/{period}/close",
                Access::Roles({Role::kOperator}), CloseSettlement});
}

}  // namespace kizuna::http
