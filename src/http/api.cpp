#include "http/api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>
#include <future>
#include <memory>

#include "http/error_mapping.hpp"
#include "http/handlers.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {

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

namespace {

HttpResponse InternalError(const Route& route, const HttpRequest& request, const char* what) {
    spdlog::error("{} {} failed: {}", route.method, request.path, what);
    return ErrorResponse(500, core::ErrorCodeName(core::ErrorCode::kInternal),
                         "internal error; the hub's log has the details");
}

std::vector<Metrics::Label> LabelsOf(const Router& router) {
    std::vector<Metrics::Label> labels;
    for (const Route& route : router.routes()) labels.push_back({route.method, route.pattern});
    return labels;
}

}  // namespace

Api::Api(hub::Hub& hub) : hub_(hub) {
    AddSystemRoutes(router_, [this] {
        return metrics_->Render() + Metrics::RenderStorage(hub_.storage().Stats());
    });
    AddProgramRoutes(router_);
    AddStoreRoutes(router_);
    AddMemberRoutes(router_);
    AddSessionRoutes(router_);
    AddPurchaseRoutes(router_);
    AddRedemptionRoutes(router_);
    AddOfferRoutes(router_);
    AddAdminRoutes(router_);
    AddReservationRoutes(router_);
    AddWebhookRoutes(router_);
    AddSettlementRoutes(router_);
    AddProgramSettingsRoutes(router_);
    AddCampaignRoutes(router_);
    AddMergeRoutes(router_);
    AddSyncRoutes(router_);
    AddDispatchRoutes(router_);
    AddTillRoutes(router_);
    // Metrics label every route, so they are made once the routes are known.
    metrics_ = std::make_unique<Metrics>(LabelsOf(router_));
}

Api::Routed Api::RouteRequest(const HttpRequest& request) const {
    Routed routed;
    routed.match = router_.Match(request.method, request.path);
    if (routed.match.kind != RouteMatch::Kind::kFound) return routed;  // an error, made inline
    const Route& route = router_.route(routed.match.route_index);
    routed.mode = route.async_handler ? Mode::kAsync
                  : route.runs_inline ? Mode::kInline
                  : route.try_inline  ? Mode::kTryInline
                                      : Mode::kWorker;
    return routed;
}

void Api::HandleAsync(const HttpRequest& request, const RouteMatch& match, Respond respond,
                      Defer defer) {
    if (match.kind != RouteMatch::Kind::kFound || !router_.route(match.route_index).async_handler) {
        respond(Handle(request, match));
        return;
    }
    const std::size_t slot = match.route_index;
    async_in_flight_.fetch_add(1, std::memory_order_acq_rel);
    RunAsync(
        router_.route(slot), match.params, request,
        [this, slot, received_at = request.received_at,
         respond = std::move(respond)](HttpResponse response) {
            metrics_->RequestFinished(slot, response.status,
                                      std::chrono::steady_clock::now() - received_at);
            respond(std::move(response));
            async_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
        },
        std::move(defer));
}

HttpResponse Api::Handle(const HttpRequest& request) {
    return Handle(request, router_.Match(request.method, request.path));
}

HttpResponse Api::Handle(const HttpRequest& request, const RouteMatch& match) {
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
        case RouteMatch::Kind::kBadRequest:
            response = ErrorResponse(core::MakeError(
                core::ErrorCode::kInvalidArgument,
                fmt::format("the path {} has a malformed percent escape (% must be followed by "
                            "two hexadecimal digits)",
                            request.path)));
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

std::optional<HttpResponse> Api::TryHandle(const HttpRequest& request, const RouteMatch& match) {
    if (match.kind != RouteMatch::Kind::kFound) return Handle(request, match);
    const Route& route = router_.route(match.route_index);
    if (!route.try_inline) return std::nullopt;
    std::optional<HttpResponse> response;
    try {
        std::optional<Admission> admitted = Admit(route, request, /*may_wait=*/false);
        if (!admitted) return std::nullopt;
        if (auto* refusal = std::get_if<HttpResponse>(&*admitted)) {
            response = std::move(*refusal);
        } else {
            const hub::Caller& caller = std::get<hub::Caller>(*admitted);
            response = route.try_inline(RequestContext{request, match.params, caller, hub_});
        }
    } catch (const std::exception& e) {
        response = InternalError(route, request, e.what());
    } catch (...) {
        response = InternalError(route, request, "unknown exception");
    }
    if (!response) return std::nullopt;
    metrics_->RequestFinished(match.route_index, response->status,
                              std::chrono::steady_clock::now() - request.received_at);
    return response;
}

std::optional<Api::Admission> Api::Admit(const Route& route, const HttpRequest& request,
                                         bool may_wait) {
    hub::Caller caller = hub::Caller::Anonymous();
    caller.address = request.remote_address;
    if (!route.access.authenticates()) return caller;
    auto token = BearerToken(request.authorization);
    if (!token) return ErrorResponse(token.error());
    if (!token->empty()) {
        std::optional<core::Result<hub::Caller>> authenticated;
        if (may_wait) {
            authenticated = hub_.auth().Authenticate(*token);
        } else {
            authenticated = hub_.auth().AuthenticateFromMemory(*token);
            if (!authenticated) return std::nullopt;
        }
        if (!*authenticated) return ErrorResponse(authenticated->error());
        caller = std::move(**authenticated);
        caller.address = request.remote_address;
        if (!request.staff.empty()) {
            if (auto identified = hub_.auth().IdentifyStaff(caller, request.staff);
                !identified.ok()) {
                return ErrorResponse(identified.error());
            }
        }
    }
    if (!route.access.Allows(caller.role)) {
        if (caller.role == hub::Role::kAnonymous) {
            return ErrorResponse(
                core::MakeError(core::ErrorCode::kUnauthenticated,
                                "this call needs an \"Authorization: Bearer <token>\" header"));
        }
        return ErrorResponse(core::MakeError(
            core::ErrorCode::kForbidden,
            fmt::format("{} may not call {} {}", caller.Describe(), route.method, route.pattern)));
    }
    return caller;
}

HttpResponse Api::Run(const Route& route, const PathParams& params, const HttpRequest& request) {
    if (route.async_handler) {
        // A caller that can wait (tests, tools): wait for the async handler's answer here.
        std::promise<HttpResponse> answer;
        std::future<HttpResponse> answered = answer.get_future();
        RunAsync(
            route, params, request,
            [&answer](HttpResponse response) { answer.set_value(std::move(response)); }, nullptr);
        return answered.get();
    }
    try {
        Admission admitted = *Admit(route, request, /*may_wait=*/true);
        if (auto* refusal = std::get_if<HttpResponse>(&admitted)) return std::move(*refusal);
        const hub::Caller& caller = std::get<hub::Caller>(admitted);
        return route.handler(RequestContext{request, params, caller, hub_});
    } catch (const std::exception& e) {
        return InternalError(route, request, e.what());
    } catch (...) {
        return InternalError(route, request, "unknown exception");
    }
}

void Api::RunAsync(const Route& route, const PathParams& params, const HttpRequest& request,
                   Respond respond, Defer defer) {
    // Whatever the handler throws, the request gets exactly one answer.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    Respond once = [answered, respond = std::move(respond)](HttpResponse response) {
        if (!answered->exchange(true)) respond(std::move(response));
    };
    try {
        Admission admitted = *Admit(route, request, /*may_wait=*/true);
        if (auto* refusal = std::get_if<HttpResponse>(&admitted)) return once(std::move(*refusal));
        const hub::Caller& caller = std::get<hub::Caller>(admitted);
        route.async_handler(RequestContext{request, params, caller, hub_, std::move(defer)}, once);
    } catch (const std::exception& e) {
        once(InternalError(route, request, e.what()));
    } catch (...) {
        once(InternalError(route, request, "unknown exception"));
    }
}

}  // namespace kizuna::http
