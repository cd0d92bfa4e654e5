#pragma once
// StoreNodeRunner: one running store node (issue 16) in this process: its local database, the
// link to the hub, the node, its HTTP server and the sync timer. `kizuna pos serve` runs one until
// Ctrl-C; `kizuna demo` runs one beside its hub for the demo's physical store.
// Not thread-safe: start and destroy from one thread (the node itself serves many).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace kizuna::cli {

struct StoreNodeConfig {
    std::string hub;       // the hub's URL
    std::string api_key;   // the store's API key
    std::string data_dir;  // node.db lives here (created when missing)
    std::string listen = "127.0.0.1:8090";
    std::chrono::milliseconds sync_interval{5000};
    int64_t offline_redemption_cap = 0;
    std::string hub_ca, cert, key;  // TLS to the hub; cert and key: mutual TLS
    int workers = 16;
};

class StoreNodeRunner {
  public:
    // Opens the database, starts the node (bootstrapping when the hub answers; a node that cannot
    // reach it serves anyway and bootstraps later), serves, and syncs every sync_interval.
    // Errors: kInvalidArgument (listen address), kUnavailable (database, directory, port).
    static core::Result<std::unique_ptr<StoreNodeRunner>> Start(const StoreNodeConfig& config);
    ~StoreNodeRunner();  // stops syncing, then serving (in-flight requests finish)
    StoreNodeRunner(const StoreNodeRunner&) = delete;
    StoreNodeRunner& operator=(const StoreNodeRunner&) = delete;

    std::string BaseUrl() const;  // "http://127.0.0.1:8090"

  private:
    struct Parts;
    explicit StoreNodeRunner(std::unique_ptr<Parts> parts);
    std::unique_ptr<Parts> parts_;
};

}  // namespace kizuna::cli
