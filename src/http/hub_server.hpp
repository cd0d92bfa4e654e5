#pragma once
// The hub's HTTP(S) server: Boost.Beast, asynchronous I/O on a few threads; requests that call
// services (which may wait for a group commit) run on a separate worker pool so I/O never
// blocks. Keep-alive, a request body limit, optional TLS.
// Thread-safety: Start/Stop/Wait from one controlling thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "http/request_handler.hpp"
#include "hub/hub.hpp"

namespace kizuna::http {

struct ServerOptions {
    std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free one
    int io_threads = 2;
    int worker_threads = 64;           // service calls may block on the group-commit writer
    std::size_t body_limit = 1 << 20;  // bytes; larger bodies get 413
    std::string tls_cert_file;         // both set: HTTPS only
    std::string tls_key_file;
    // With TLS: clients may present a certificate signed by this CA (PEM file; the hub's node CA,
    // hub/node_ca.hpp), and every request then carries the store it names
    // (HttpRequest::node_store); /v1/sync/* refuse calls without one. A certificate another CA
    // signed fails the handshake.
    std::string node_ca_file;
    // Most connections kept open at once; 0: the open-file limit (raised to its hard limit at
    // start) minus a reserve for the storage and the rest. A new connection past it closes the
    // oldest one waiting for a request, or is refused when all are busy.
    std::size_t max_connections = 0;
    // A connection is closed when a request's header, then its body, takes longer than
    // read_timeout to arrive, or when it waits longer than idle_timeout for its next request
    // after an answer. Both are honoured to within a tenth (at most half a second).
    std::chrono::milliseconds read_timeout{30'000};
    std::chrono::milliseconds idle_timeout{75'000};
};

class HubServer {
  public:
    // Serves the hub's API (an http::Api over `hub`, which must outlive the server).
    HubServer(hub::Hub& hub, ServerOptions options);
    // Serves another API on the same server (a store node's); `handler` must outlive it.
    HubServer(RequestHandler& handler, ServerOptions options);
    ~HubServer();  // stops if running
    HubServer(const HubServer&) = delete;
    HubServer& operator=(const HubServer&) = delete;

    // Binds and starts serving in background threads. Errors: kInvalidArgument (bad listen
    // address, unreadable TLS files), kUnavailable (address in use).
    core::Status Start();
    uint16_t port() const;
    std::string BaseUrl() const;  // "http://127.0.0.1:8080" or "https://…"
    // Stops accepting, lets in-flight requests finish (up to a few seconds), joins threads.
    void Stop();
    // Blocks until Stop() has been called from elsewhere (e.g. a signal handler thread).
    void Wait();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kizuna::http
