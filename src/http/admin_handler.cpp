// Operations on the running hub (operator): a backup of its database while it serves.
#include <spdlog/spdlog.h>

#include <chrono>

#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "http/json_reader.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

using hub::Role;

// Runs on the worker pool for as long as the copy takes: the I/O threads keep serving.
HttpResponse Backup(const RequestContext& ctx) {
    JsonReader body = JsonReader::ParseBody(ctx.request.body);
    std::string path = body.RequiredString("path");
    if (!body.ok()) return ErrorResponse(body.error());

    const auto started = std::chrono::steady_clock::now();
    auto backup = ctx.hub.admin().Backup(ctx.caller, path);
    if (!backup) return ErrorResponse(backup.error());
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    spdlog::info("backup written to {} ({} bytes) in {:.1f} s", backup->path, backup->bytes,
                 took.count());
    Json json = Json::object();
    json["path"] = backup->path;
    json["bytes"] = backup->bytes;
    json["schema_version"] = backup->schema_version;
    json["seconds"] = took.count();
    return JsonResponse(201, json);
}

}  // namespace

void AddAdminRoutes(Router& router) {
    router.Add({"POST", "/v1/admin/backup", Access::Roles({Role::kOperator}), Backup});
}

}  // namespace kizuna::http
