#pragma once
// What HubServer serves: the API behind the wire, seen as plain HttpRequests. The hub's Api
// (api.hpp) is one; a store node's API (src/pos) is another, so both run on the same server.
// Thread-safety: every method may be called from any number of threads at once.

#include <chrono>
#include <optional>

#include "core/result.hpp"
#include "http/http_message.hpp"
#include "http/router.hpp"

namespace kizuna::http {

class RequestHandler {
  public:
    virtual ~RequestHandler() = default;

    // How the server should run a request: kInline for a route that is cheap and never blocks
    // (answer with Handle on the I/O thread), kAsync for one that answers later without
    // blocking (HandleAsync on the I/O thread), kWorker for the rest (Handle on a worker
    // thread, since it may block: password hashing, reads of any size, calls to another
    // server). Unknown routes are kInline: their answer is an error made on the spot.
    // kTryInline: a route that may be answered on the I/O thread (TryHandle) when that needs no
    // waiting, else on a worker (Handle).
    enum class Mode { kInline, kAsync, kWorker, kTryInline };
    // A request matched once against the routes: how to run it, and the match to run it with
    // (so that Handle and HandleAsync do not match it again).
    struct Routed {
        Mode mode = Mode::kInline;
        RouteMatch match;
    };
    virtual Routed RouteRequest(const HttpRequest& request) const = 0;
    // Called once per request read, before Handle or Reject.
    virtual void RequestStarted() = 0;
    // Answers the request on the calling thread (an async route is waited for).
    virtual HttpResponse Handle(const HttpRequest& request, const RouteMatch& match) = 0;
    // Answers a request routed kTryInline without waiting, or none (nothing done, nothing
    // counted) when that would wait; then the caller runs Handle on a thread that may wait.
    virtual std::optional<HttpResponse> TryHandle(const HttpRequest& request,
                                                  const RouteMatch& match) = 0;
    // Answers a request routed kAsync through `respond`, called exactly once: now, or later
    // from another thread. `request` need not outlive the call. `defer` runs a task on the
    // connection's thread.
    virtual void HandleAsync(const HttpRequest& request, const RouteMatch& match, Respond respond,
                             Defer defer) = 0;
    // The answer to a request refused before routing (body too large, malformed HTTP).
    virtual HttpResponse Reject(const core::Error& error,
                                std::chrono::steady_clock::time_point received_at) = 0;
    // Async requests whose answer has not been handed to the server yet: the server waits for
    // them before tearing down its threads.
    virtual int AsyncInFlight() const = 0;
};

}  // namespace kizuna::http
