#include "http/api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <exception>

#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {
namespace {

// The token of an "Authorization: Bearer <token>" header; empty when there is no header.
core::Result<std::string> BearerToken(std::string_view header) {
    if (header.empty()) return std::string();
    constexpr std::string_view kScheme = "bearer ";
    bool scheme_ok = header.size() > kScheme.size();
    for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i) {
        char c = header[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        scheme_ok = c == kScheme[i];
    }
    std::string_view token = scheme_ok ? header.substr(kScheme.size()) : std::string_view();
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) {
        return core::MakeError(core::ErrorCode::kUnauthenticated,
                               "the Authorization header must be \"Bearer <token>\"");
    }
    return std::string(token);
}

std::vector<Metrics::Label> LabelsOf(const Router& router) {
    std::vector<Metrics::Label> labels;
    for (const Route& route : router.routes()) labels.push_back({route.method, route.pattern});
    return labels;
}

}  // namespace

Api::Api(hub::Hub& hub) : hub_(hub) {
    AddSystemRoutes(router_, [this] { return metrics_->Render(); });
    AddProgramRoutes(router_);
    AddStoreRoutes(router_);
    AddMemberRoutes(router_);
    AddSessionRoutes(router_);
    AddPurchaseRoutes(router_);
    AddRedemptionRoutes(router_);
    AddOfferRoutes(router_);
    // Metrics label every route, so they are made once the routes are known.
    metrics_ = std::make_unique<Metrics>(LabelsOf(router_));
}

bool Api::RunsInline(const HttpRequest& request) const {
    RouteMatch match = router_.Match(request.method, request.path);
    return match.kind == RouteMatch::Kind::kFound && router_.route(match.route_index).runs_inline;
}

HttpResponse Api::Handle(const HttpRequest& request) {
    RouteMatch match = router_.Match(request.method, request.path);
    std::size_t slot = metrics_->unmatched_slot();
    HttpResponse response;
    switch (match.kind) {
        case RouteMatch::Kind::kNotFound:
            response =
                ErrorResponse(404, core::ErrorCodeName(core::ErrorCode::kNotFound),
                              fmt::format("no such resource: {} {}", request.method, request.path));
            break;
        case RouteMatch::Kind::kMethodNotAllowed:
            response = ErrorResponse(405, "method_not_allowed",
                                     fmt::format("{} does not accept {}; it accepts {}",
                                                 request.path, request.method, match.allow));
            response.headers.emplace_back("Allow", match.allow);
            break;
        case RouteMatch::Kind::kFound:
            slot = match.route_index;
            response = Run(router_.route(match.route_index), match.params, request);
            break;
    }
    metrics_->RequestFinished(slot, response.status,
                              std::chrono::steady_clock::now() - request.received_at);
    return response;
}

HttpResponse Api::Reject(const core::Error& error,
                         std::chrono::steady_clock::time_point received_at) {
    HttpResponse response = ErrorResponse(error);
    metrics_->RequestFinished(metrics_->unmatched_slot(), response.status,
                              std::chrono::steady_clock::now() - received_at);
    return response;
}

HttpResponse Api::Run(const Route& route, const PathParams& params, const HttpRequest& request) {
    try {
        hub::Caller caller = hub::Caller::Anonymous();
        if (route.access.authenticates()) {
            auto token = BearerToken(request.authorization);
            if (!token) return ErrorResponse(token.error());
            if (!token->empty()) {
                auto authenticated = hub_.auth().Authenticate(*token);
                if (!authenticated) return ErrorResponse(authenticated.error());
                caller = std::move(*authenticated);
            }
            if (!route.access.Allows(caller.role)) {
                if (caller.role == hub::Role::kAnonymous) {
                    return ErrorResponse(core::MakeError(
                        core::ErrorCode::kUnauthenticated,
                        "this call needs an \"Authorization: Bearer <token>\" header"));
                }
                return ErrorResponse(
                    core::MakeError(core::ErrorCode::kForbidden,
                                    fmt::format("{} may not call {} {}", caller.Describe(),
                                                route.method, route.pattern)));
            }
        }
        return route.handler(RequestContext{request, params, caller, hub_});
    } catch (const std::exception& e) {
        spdlog::error("{} {} failed: {}", route.method, request.path, e.what());
    } catch (...) {
        spdlog::error("{} {} failed with an unknown exception", route.method, request.path);
    }
    return ErrorResponse(500, core::ErrorCodeName(core::ErrorCode::kInternal),
                         "internal error; the hub's log has the details");
}

}  // namespace kizuna::http
