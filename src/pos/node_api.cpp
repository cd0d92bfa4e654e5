#include "pos/node_api.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <memory>

#include "http/error_mapping.hpp"
#include "http/json.hpp"
#include "pos/hub_client.hpp"

namespace kizuna::pos {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using http::Json;
using http::PathParams;

constexpr const char* kInternalMessage = "internal error; the node's log has the details";

const std::string& Param(const PathParams& params, std::string_view name) {
    static const std::string kEmpty;
    for (const auto& [key, value] : params) {
        if (key == name) return value;
    }
    return kEmpty;
}

// The token of "Authorization: Bearer <token>", or "" (the scheme case-insensitive).
std::string BearerToken(const std::string& header) {
    constexpr std::string_view kScheme = "bearer ";
    if (header.size() <= kScheme.size()) return {};
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        char c = header[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kScheme[i]) return {};
    }
    std::string token = header.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.erase(token.begin());
    while (!token.empty() && token.back() == ' ') token.pop_back();
    return token;
}

// The request's target again: path and query, the query re-encoded.
std::string Target(const HttpRequest& request) {
    std::string target = request.path;
    char separator = '?';
    for (const auto& [key, value] : request.query) {
        target += separator + HubClient::Escape(key) + "=" + HubClient::Escape(value);
        separator = '&';
    }
    return target;
}

Json StatusJson(const NodeStatus& status) {
    Json json = Json::object();
    json["hub_reachable"] = status.hub_reachable;
    json["outbox_pending"] = status.outbox_pending;
    json["last_sync_at"] = status.last_sync_at ? Json(*status.last_sync_at) : Json();
    json["cursor"] = status.cursor;
    json["flagged"] = status.flagged;
    json["rejected"] = status.rejected;
    return json;
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

}  // namespace

TillCall NodeApi::Till(const HttpRequest& request) const {
    std::string token = BearerToken(request.authorization);
    // The store's own key: the node presents it itself.
    if (ConstantTimeEqual(token, api_key_)) token.clear();
    return TillCall{std::move(token), request.staff};
}

NodeApi::NodeApi(Node& node, std::string api_key) : node_(node), api_key_(std::move(api_key)) {
    Add("GET", "/healthz", false, [](const HttpRequest&, const PathParams&) {
        return NodeAnswer{200, R"({"status":"ok","role":"store-node"})"};
    });
    Add("POST", "/v1/members", true,
        [this](const HttpRequest& r, const PathParams&) { return node_.Enroll(r.body, Till(r)); });
    Add("POST", "/v1/members/search", true, [this](const HttpRequest& r, const PathParams&) {
        return node_.SearchMembers(r.body, Till(r));
    });
    Add("POST", "/v1/members/{id}/cards", true, [this](const HttpRequest& r, const PathParams& p) {
        return node_.ReissueCard(Param(p, "id"), r.body, Till(r));
    });
    Add("GET", "/v1/members/{id}", true, [this](const HttpRequest& r, const PathParams& p) {
        return node_.GetMember(Param(p, "id"), Till(r));
    });
    purchase_route_ = handlers_.size();
    Add("POST", "/v1/purchases", true, [this](const HttpRequest& r, const PathParams&) {
        return node_.Purchase(r.body, Till(r));
    });
    Add("POST", "/v1/redemptions", true,
        [this](const HttpRequest& r, const PathParams&) { return node_.Redeem(r.body, Till(r)); });
    Add("POST", "/v1/purchases/{id}/refunds", true,
        [this](const HttpRequest& r, const PathParams& p) {
            return node_.Refund(Param(p, "id"), r.body, Till(r));
        });
    Add("POST", "/v1/reservations", true, [this](const HttpRequest& r, const PathParams&) {
        return node_.CreateReservation(r.body, Till(r));
    });
    Add("PATCH", "/v1/reservations/{id}", true, [this](const HttpRequest& r, const PathParams& p) {
        return node_.UpdateReservation(Param(p, "id"), r.body, Till(r));
    });
    Add("GET", "/v1/reservations", true, [this](const HttpRequest& r, const PathParams&) {
        auto member = r.query.find("member_id");
        return node_.ListReservations(member != r.query.end() ? member->second : std::string(),
                                      Target(r).substr(r.path.size()), Till(r));
    });
    Add("GET", "/v1/offers", true,
        [this](const HttpRequest& r, const PathParams&) { return node_.Offers(Till(r)); });
    Add("GET", "/v1/stores/me", true,
        [this](const HttpRequest& r, const PathParams&) { return node_.StoreMe(Till(r)); });
    Add("GET", "/v1/node/status", true, [this](const HttpRequest&, const PathParams&) {
        return NodeAnswer{200, http::DumpJson(StatusJson(node_.Status()))};
    });
    Add("POST", "/v1/node/sync", true, [this](const HttpRequest&, const PathParams&) {
        core::Status synced = node_.Sync();
        Json status = StatusJson(node_.Status());
        if (!synced.ok()) {
            Json error = Json::object();
            error["code"] = "hub_unreachable";
            error["message"] = "sync did not finish: " + synced.error().message;
            Json body = Json::object();
            body["error"] = std::move(error);
            body["status"] = std::move(status);
            return NodeAnswer{503, http::DumpJson(body)};
        }
        return NodeAnswer{200, http::DumpJson(status)};
    });
}

void NodeApi::Add(const char* method, const char* pattern, bool needs_key, NodeHandler handler) {
    router_.Add(http::Route{method, pattern, http::Access::Public(), nullptr});
    handlers_.push_back(std::move(handler));
    needs_key_.push_back(needs_key);
}

http::RequestHandler::Routed NodeApi::RouteRequest(const HttpRequest& request) const {
    Routed routed;
    routed.match = router_.Match(request.method, request.path);
    routed.mode = Mode::kWorker;  // answering may wait for the hub
    // Offline, a sale waits only for the store's writer, not for the hub; one that names its
    // staff (a PIN to check, which may take a password hash's time) stays on a worker.
    if (routed.match.kind == http::RouteMatch::Kind::kFound &&
        routed.match.route_index == purchase_route_ && request.staff.empty() &&
        node_.QueuesWrites()) {
        routed.mode = Mode::kAsync;
    }
    return routed;
}

HttpResponse NodeApi::Handle(const HttpRequest& request, const http::RouteMatch& match) {
    try {
        return Run(request, match);
    } catch (const std::exception& e) {
        spdlog::error("{} {} failed: {}", request.method, request.path, e.what());
    } catch (...) {
        spdlog::error("{} {} failed", request.method, request.path);
    }
    return http::ErrorResponse(500, "internal", kInternalMessage);
}

HttpResponse NodeApi::Run(const HttpRequest& request, const http::RouteMatch& match) {
    const std::string token = BearerToken(request.authorization);
    if (match.kind != http::RouteMatch::Kind::kFound) {
        // Not one of the node's own routes: the hub answers it, for the caller's token.
        if (request.path.rfind("/v1/", 0) != 0 && request.path != "/metrics") {
            return http::ErrorResponse(404, "not_found", "no such resource: " + request.path);
        }
        const bool has_body =
            request.method != "GET" && request.method != "HEAD" && request.method != "DELETE";
        NodeAnswer answer =
            node_.PassThrough(request.method, Target(request), has_body ? &request.body : nullptr,
                              token, request.staff);
        return HttpResponse{answer.status, "application/json", std::move(answer.body), {}};
    }
    if (auto refused = Refusal(request, match)) return std::move(*refused);
    NodeAnswer answer = handlers_[match.route_index](request, match.params);
    return HttpResponse{answer.status, "application/json", std::move(answer.body), {}};
}

std::optional<HttpResponse> NodeApi::Refusal(const HttpRequest& request,
                                             const http::RouteMatch& match) const {
    if (!needs_key_[match.route_index]) return std::nullopt;
    const std::string token = BearerToken(request.authorization);
    if (ConstantTimeEqual(token, api_key_) || node_.TerminalOf(token)) return std::nullopt;
    return http::ErrorResponse(core::MakeError(
        core::ErrorCode::kUnauthenticated,
        token.empty() ? "this call needs an \"Authorization: Bearer <token>\" header"
                      : "this node serves one store: present that store's API key or one of "
                        "its terminals' keys (a terminal added at the hub is known here after "
                        "the node's next sync)"));
}

void NodeApi::HandleAsync(const HttpRequest& request, const http::RouteMatch& match,
                          http::Respond respond, http::Defer) {
    if (match.route_index != purchase_route_) return respond(Handle(request, match));
    if (auto refused = Refusal(request, match)) return respond(std::move(*refused));
    async_in_flight_.fetch_add(1);
    auto reply =
        [this, respond = std::make_shared<http::Respond>(std::move(respond))](NodeAnswer answer) {
            (*respond)(HttpResponse{answer.status, "application/json", std::move(answer.body), {}});
            async_in_flight_.fetch_sub(1);
        };
    try {
        node_.PurchaseOffline(request.body, Till(request), reply);
    } catch (const std::exception& e) {
        // Thrown while reading the request, before anything was queued.
        spdlog::error("{} {} failed: {}", request.method, request.path, e.what());
        HttpResponse error = http::ErrorResponse(500, "internal", kInternalMessage);
        reply(NodeAnswer{error.status, std::move(error.body)});
    }
}

HttpResponse NodeApi::Reject(const core::Error& error, std::chrono::steady_clock::time_point) {
    return http::ErrorResponse(error);
}

}  // namespace kizuna::pos
