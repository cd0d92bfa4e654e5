#pragma once
// NodeApi: the store node's HTTP API, served by http::HubServer like the hub's. The store
// endpoints keep the hub's exact contract and take the store's API key or one of its terminals'
// keys, with the till's Kizuna-Staff header (passed to the hub, or checked here offline); GET
// /v1/node/status and POST /v1/node/sync are the node's own; any other /v1 call is passed to the
// hub with the caller's token (503 hub_unreachable while it is down). Every route runs on the
// server's worker pool, since answering may mean waiting for the hub; but while the node queues
// writes (its outbox holds something) a purchase without a Kizuna-Staff header is asynchronous:
// read on the I/O thread and answered from the store's writer thread once durable, so no thread
// is parked per sale. Thread-safety: as RequestHandler.

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "http/request_handler.hpp"
#include "http/router.hpp"
#include "pos/node.hpp"

namespace kizuna::pos {

class NodeApi final : public http::RequestHandler {
  public:
    // `node` must outlive the API. `api_key`: the store's key, which callers must present.
    NodeApi(Node& node, std::string api_key);

    Routed RouteRequest(const http::HttpRequest& request) const override;
    void RequestStarted() override {}
    http::HttpResponse Handle(const http::HttpRequest& request,
                              const http::RouteMatch& match) override;
    std::optional<http::HttpResponse> TryHandle(const http::HttpRequest&,
                                                const http::RouteMatch&) override {
        return std::nullopt;
    }
    void HandleAsync(const http::HttpRequest& request, const http::RouteMatch& match,
                     http::Respond respond, http::Defer defer) override;
    http::HttpResponse Reject(const core::Error& error,
                              std::chrono::steady_clock::time_point received_at) override;
    int AsyncInFlight() const override { return async_in_flight_.load(); }

  private:
    using NodeHandler =
        std::function<NodeAnswer(const http::HttpRequest&, const http::PathParams&)>;
    void Add(const char* method, const char* pattern, bool needs_key, NodeHandler handler);
    http::HttpResponse Run(const http::HttpRequest& request, const http::RouteMatch& match);
    // The refusal of a call without the store's key (or a terminal's) to a route that needs it, or
    // none.
    std::optional<http::HttpResponse> Refusal(const http::HttpRequest& request,
                                              const http::RouteMatch& match) const;
    // Who is at the till: a terminal's key (the store's own key: none) and the Kizuna-Staff
    // header, as the caller sent them.
    TillCall Till(const http::HttpRequest& request) const;

    Node& node_;
    std::string api_key_;
    http::Router router_;
    std::vector<NodeHandler> handlers_;  // by route index
    std::vector<bool> needs_key_;        // by route index
    std::size_t purchase_route_ = 0;     // POST /v1/purchases
    std::atomic<int> async_in_flight_{0};
};

}  // namespace kizuna::pos
