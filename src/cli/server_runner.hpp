#pragma once
// ServerRunner: runs a Hub behind the HTTP server until SIGINT or SIGTERM, with the points
// expiry pass on a background thread every minute. Used by `kizuna hub serve` and `kizuna demo`.
// Call BlockShutdownSignals() first thing in the command, before any thread exists, so that
// every thread inherits the mask and the signals are taken only by Run's sigwait.

#include <chrono>
#include <functional>

#include "core/result.hpp"
#include "http/hub_server.hpp"
#include "hub/hub.hpp"

namespace kizuna::cli {

void BlockShutdownSignals();

class ServerRunner {
  public:
    ServerRunner(hub::Hub& hub, http::ServerOptions options,
                 std::chrono::seconds expiry_interval = std::chrono::seconds(60));

    // Starts the server, calls `on_started(server)` (to print the URL), then blocks until
    // SIGINT/SIGTERM, stops the expiry thread and the server gracefully. Errors: the server's
    // Start errors.
    core::Status Run(const std::function<void(http::HubServer&)>& on_started);

  private:
    hub::Hub& hub_;
    http::ServerOptions options_;
    std::chrono::seconds expiry_interval_;
};

}  // namespace kizuna::cli
