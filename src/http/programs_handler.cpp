// Programs: the points currencies (operator).
#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_mapping.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

HttpResponse CreateProgram(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string name = body.RequiredString("name");
    if (!body.ok()) return ErrorResponse(body.error());

    auto program = ctx.hub.admin().CreateProgram(ctx.caller, std::move(name));
    if (!program) return ErrorResponse(program.error());
    return JsonResponse(201, ProgramToJson(*program));
}

HttpResponse ListPrograms(const RequestContext& ctx) {
    auto programs = ctx.hub.admin().ListPrograms(ctx.caller);
    if (!programs) return ErrorResponse(programs.error());
    Json list = Json::array();
    for (const core::Program& program : *programs) list.push_back(ProgramToJson(program));
    Json json = Json::object();
    json["programs"] = std::move(list);
    return JsonResponse(200, json);
}

}  // namespace

void AddProgramRoutes(Router& router) {
    router.Add({"POST", "/v1/programs", Access::Roles({Role::kOperator}), CreateProgram});
    router.Add({"GET", "/v1/programs", Access::Roles({Role::kOperator}), ListPrograms});
}

}  // namespace kizuna::http
