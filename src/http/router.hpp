#pragma once
// Routes a request by method and path to a handler. Patterns are literal segments and
// {parameters}: "/v1/members/{id}/cards". When several patterns match, the one with the most
// literal segments wins ("/v1/members/search" over "/v1/members/{id}"). A path no pattern
// matches is kNotFound; a path that matches only under other methods is kMethodNotAllowed with
// those methods listed for the Allow header; a path with a malformed percent escape is
// kBadRequest. HEAD matches the GET routes (the server sends no body).
// Thread-safety: Add before serving; Match is const and safe from any thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/http_message.hpp"
#include "hub/caller.hpp"

namespace kizuna::hub {
class Hub;
}

namespace kizuna::http {

// Path parameters by name, percent-decoded.
using PathParams = std::vector<std::pair<std::string, std::string>>;

// Runs a task later on the thread that serves the request's connection.
using Task = std::function<void()>;
using Defer = std::function<void(Task)>;

// What a handler gets: the request, its path parameters, who is calling, and the hub.
struct RequestContext {
    const HttpRequest& request;
    const PathParams& params;
    const hub::Caller& caller;
    hub::Hub& hub;
    // For async handlers: where to finish the work a completion brings (building the answer),
    // so that it does not run on the thread that completed (the storage's writer). Unset: the
    // task runs at once on the completing thread.
    Defer defer{};

    void Later(Task task) const {
        if (defer) {
            defer(std::move(task));
        } else {
            task();
        }
    }

    // The value of a path parameter; empty if the pattern has no such name.
    const std::string& Param(std::string_view name) const;
};

using Handler = std::function<HttpResponse(const RequestContext&)>;
// Hands a response to whoever waits for it; callable from any thread, exactly once.
using Respond = std::function<void(HttpResponse)>;
// A handler that answers later, without holding a thread while it waits (a durable write): it
// runs on the I/O thread, must not block, must copy what it needs from the context (which
// lives only for the call) and must call `respond` exactly once, now or from another thread.
using AsyncHandler = std::function<void(const RequestContext&, Respond)>;

// A handler that may run on the event loop: it answers without waiting, or gives none when it
// would have to wait (no read connection free at once), and the server then runs the route's
// `handler` on a worker. It must not block.
using TryHandler = std::function<std::optional<HttpResponse>(const RequestContext&)>;

// Who may call a route. The role check happens before the handler reads the body, so a caller
// without the right role gets 401/403 whatever it sent; services check entitlement again.
class Access {
  public:
    // No authentication at all (health, public key, API document): the header is not read.
    static Access Public() { return Access(false, 0); }
    // Authenticates when a token is sent (a bad token is 401), then requires one of `roles`
    // (Role::kAnonymous included means no token is needed).
    static Access Roles(std::initializer_list<hub::Role> roles);

    bool authenticates() const { return authenticate_; }
    bool Allows(hub::Role role) const { return (mask_ & Bit(role)) != 0; }
    std::vector<hub::Role> roles() const;

  private:
    Access(bool authenticate, uint8_t mask) : authenticate_(authenticate), mask_(mask) {}
    static uint8_t Bit(hub::Role role) {
        return static_cast<uint8_t>(1u << static_cast<int>(role));
    }
    bool authenticate_;
    uint8_t mask_;
};

struct Route {
    std::string method;   // "GET", "POST", "PUT", ...
    std::string pattern;  // "/v1/members/{id}"
    Access access;
    Handler handler;               // unset when async_handler is set
    bool runs_inline = false;      // cheap and never blocks: answered on the I/O thread
    AsyncHandler async_handler{};  // answers later (see AsyncHandler); replaces handler
    TryHandler try_inline{};       // tried on the I/O thread first; `handler` if it gives none
};

struct RouteMatch {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadRequest };
    Kind kind = Kind::kNotFound;
    std::size_t route_index = 0;  // kFound
    PathParams params;            // kFound
    std::string allow;            // kMethodNotAllowed: "GET, POST"
};

class Router {
  public:
    // Adds a route. Throws std::invalid_argument for a malformed pattern or a duplicate
    // (method, pattern): both are programming errors found at start-up.
    void Add(Route route);
    RouteMatch Match(std::string_view method, std::string_view path) const;
    const std::vector<Route>& routes() const { return routes_; }
    const Route& route(std::size_t index) const { return routes_[index]; }

  private:
    struct Compiled {
        std::vector<std::string> segments;  // literal text, or the parameter name
        std::vector<bool> is_param;
        int literals = 0;
    };
    std::vector<Route> routes_;
    std::vector<Compiled> compiled_;
};

}  // namespace kizuna::http
