#pragma once
// The hub API without the network: routes a plain HttpRequest, authenticates the caller, checks
// the route's roles, runs the handler and records metrics. HubServer feeds it requests from the
// wire; it never sees Beast. A handler that throws is answered 500 and logged; nothing of the
// exception reaches the client.
// Thread-safety: Handle and Reject are safe from any number of threads at once.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <variant>

#include "core/result.hpp"
#include "http/http_message.hpp"
#include "http/metrics.hpp"
#include "http/request_handler.hpp"
#include "http/router.hpp"

namespace kizuna::hub {
class Hub;
}

namespace kizuna::http {

class Api final : public RequestHandler {
  public:
    // `hub` must outlive the Api.
    explicit Api(hub::Hub& hub);

    // See RequestHandler for what each of these does.
    Routed RouteRequest(const HttpRequest& request) const override;
    void RequestStarted() override { metrics_->RequestStarted(); }
    // Answers the request on the calling thread (an async route is waited for).
    HttpResponse Handle(const HttpRequest& request);
    HttpResponse Handle(const HttpRequest& request, const RouteMatch& match) override;
    // Answers a request routed kTryInline without waiting, or none (nothing done, nothing
    // counted) when that would wait: for a read connection, or for storage to authenticate the
    // caller. Then the caller runs Handle on a thread that may wait.
    std::optional<HttpResponse> TryHandle(const HttpRequest& request,
                                          const RouteMatch& match) override;
    // Answers a request routed kAsync through `respond`, called exactly once: now, or later
    // from another thread. `request` need not outlive the call. `defer` runs a task on the
    // connection's thread: completions finish there (see RequestContext::defer).
    void HandleAsync(const HttpRequest& request, const RouteMatch& match, Respond respond,
                     Defer defer) override;
    // The answer to a request refused before routing (body too large, malformed HTTP).
    HttpResponse Reject(const core::Error& error,
                        std::chrono::steady_clock::time_point received_at) override;

    // Async requests whose answer has not been handed to the server yet (durable writes the
    // storage has not answered): the server waits for them before tearing down its threads.
    int AsyncInFlight() const override { return async_in_flight_.load(std::memory_order_acquire); }

    const Router& router() const { return router_; }
    const Metrics& metrics() const { return *metrics_; }

  private:
    // Authenticates the caller and checks the route's roles: the caller, or the response that
    // refuses the request. Unless `may_wait`, none when authenticating needs a storage read.
    using Admission = std::variant<hub::Caller, HttpResponse>;
    std::optional<Admission> Admit(const Route& route, const HttpRequest& request, bool may_wait);
    HttpResponse Run(const Route& route, const PathParams& params, const HttpRequest& request);
    void RunAsync(const Route& route, const PathParams& params, const HttpRequest& request,
                  Respond respond, Defer defer);

    hub::Hub& hub_;
    Router router_;
    std::unique_ptr<Metrics> metrics_;
    std::atomic<int> async_in_flight_{0};
};

}  // namespace kizuna::http
