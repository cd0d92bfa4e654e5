#pragma once
// ServerRunner: runs a Hub behind the HTTP server until SIGINT or SIGTERM (seen through a
// ShutdownWatch), with the points expiry pass on a background thread every minute. Used by
// `kizuna hub serve` and `kizuna demo`. Not thread-safe: one Run at a time.

#include <chrono>
#include <functional>

#include "cli/shutdown_watch.hpp"
#include "core/result.hpp"
#include "http/hub_server.hpp"
#include "hub/hub.hpp"

namespace kizuna::cli {

class ServerRunner {
  public:
    ServerRunner(hub::Hub& hub, http::ServerOptions options, ShutdownWatch& shutdown,
                 std::chrono::seconds expiry_interval = std::chrono::seconds(60));

    // Starts the server, calls `on_started(server)` (to print the URL), then blocks until
    // SIGINT/SIGTERM, calls `on_stopping` (to stop what uses the hub), stops the expiry thread
    // and the server gracefully. Errors: the server's Start errors.
    core::Status Run(const std::function<void(http::HubServer&)>& on_started,
                     const std::function<void()>& on_stopping = {});

  private:
    hub::Hub& hub_;
    http::ServerOptions options_;
    ShutdownWatch& shutdown_;
    std::chrono::seconds expiry_interval_;
};

}  // namespace kizuna::cli
