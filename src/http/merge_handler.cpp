// Member merge (issue 19): POST /v1/members/{id}/merge {"from_member_id","confirm"} (operator).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

Json PlanToJson(const core::MergePlan& plan) {
    Json json = Json::object();
    json["member_id"] = plan.survivor_id;
    json["from_member_id"] = plan.from_id;
    Json balances = Json::array();
    for (const core::BalanceMove& move : plan.balances) {
        Json b = Json::object();
        b["program_id"] = move.program_id;
        b["from_points"] = move.from_points;
        b["survivor_before"] = move.survivor_before;
        b["survivor_after"] = move.survivor_after;
        balances.push_back(std::move(b));
    }
    json["balances"] = std::move(balances);
    json["points_moved"] = plan.points_moved;
    json["cards_revoked"] = plan.cards_revoked;
    Json moves = Json::object();
    moves["cards"] = plan.cards;
    moves["purchases"] = plan.purchases;
    moves["redemptions"] = plan.redemptions;
    moves["ledger_entries"] = plan.entries;
    moves["open_lots"] = plan.open_lots;
    moves["reservations"] = plan.reservations;
    moves["offers_sent"] = plan.offers_sent;
    json["moves"] = std::move(moves);
    // What ends with the merged-away record instead of moving.
    Json ends = Json::object();
    ends["dispatch_pending_skipped"] = plan.dispatch_skipped;
    ends["sessions"] = plan.sessions_ended;
    ends["password_resets"] = plan.password_resets_ended;
    json["ends"] = std::move(ends);
    return json;
}

HttpResponse Merge(const RequestContext& ctx) {
    const std::string& member_id = ctx.Param("id");
    if (!IsMemberIdParam(member_id)) return NotFound("member", member_id);
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    const std::string from = body.RequiredString("from_member_id");
    const std::optional<bool> confirm = body.OptionalBool("confirm");
    if (!body.ok()) return ErrorResponse(body.error());
    auto outcome = ctx.hub.merges().Merge(ctx.caller, member_id, from, confirm.value_or(false));
    if (!outcome) return ErrorResponse(outcome.error());
    Json json = PlanToJson(outcome->plan);
    json["merged"] = outcome->merged;
    return JsonResponse(200, json);
}

}  // namespace

void AddMergeRoutes(Router& router) {
    router.Add({"POST", "/v1/members/{id}/merge", Access::Roles({Role::kOperator}), Merge});
}

}  // namespace kizuna::http
