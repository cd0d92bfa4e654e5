#pragma once
// The hub API without the network: routes a plain HttpRequest, authenticates the caller, checks
// the route's roles, runs the handler and records metrics. HubServer feeds it requests from the
// wire; it never sees Beast. A handler that throws is answered 500 and logged; nothing of the
// exception reaches the client.
// Thread-safety: Handle and Reject are safe from any number of threads at once.

#include <chrono>
#include <memory>

#include "core/result.hpp"
#include "http/http_message.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"

namespace kizuna::hub {
class Hub;
}

namespace kizuna::http {

class Api {
  public:
    // `hub` must outlive the Api.
    explicit Api(hub::Hub& hub);

    // True when the request's route is cheap and never blocks, so the server may answer it on
    // the I/O thread instead of the worker pool.
    bool RunsInline(const HttpRequest& request) const;
    // Called once per request read, before Handle or Reject.
    void RequestStarted() { metrics_->RequestStarted(); }
    HttpResponse Handle(const HttpRequest& request);
    // The answer to a request refused before routing (body too large, malformed HTTP).
    HttpResponse Reject(const core::Error& error,
                        std::chrono::steady_clock::time_point received_at);

    const Router& router() const { return router_; }
    const Metrics& metrics() const { return *metrics_; }

  private:
    HttpResponse Run(const Route& route, const PathParams& params, const HttpRequest& request);

    hub::Hub& hub_;
    Router router_;
    std::unique_ptr<Metrics> metrics_;
};

}  // namespace kizuna::http
