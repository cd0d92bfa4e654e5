#include "cli/store_node_runner.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "crypto/crypto.hpp"
#include "http/hub_server.hpp"
#include "hub/system_clock.hpp"
#include "pos/hub_link.hpp"
#include "pos/node.hpp"
#include "pos/node_api.hpp"
#include "pos/node_store.hpp"
#include "pos/sync_loop.hpp"

namespace kizuna::cli {

// Declared in the order they are built; destroyed the other way round (the sync loop first).
struct StoreNodeRunner::Parts {
    std::unique_ptr<pos::NodeStore> store;
    std::unique_ptr<pos::CurlHubLink> link;
    hub::SystemClock clock;
    crypto::SystemRandom random;
    std::unique_ptr<pos::Node> node;
    std::unique_ptr<pos::NodeApi> api;
    std::unique_ptr<http::HubServer> server;
    std::unique_ptr<pos::SyncLoop> sync;
};

StoreNodeRunner::StoreNodeRunner(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

StoreNodeRunner::~StoreNodeRunner() {
    parts_->sync.reset();
    parts_->server->Stop();
}

std::string StoreNodeRunner::BaseUrl() const { return parts_->server->BaseUrl(); }

core::Result<std::unique_ptr<StoreNodeRunner>> StoreNodeRunner::Start(
    const StoreNodeConfig& config) {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
        return core::MakeError(core::ErrorCode::kUnavailable,
                               "cannot create " + config.data_dir + ": " + ec.message());
    }
    auto parts = std::make_unique<Parts>();
    auto store =
        pos::NodeStore::Open((std::filesystem::path(config.data_dir) / "node.db").string());
    if (!store) {
        return core::MakeError(
            core::ErrorCode::kUnavailable,
            "cannot open the node's database in " + config.data_dir + ": " + store.error().message);
    }
    parts->store = std::move(*store);
    pos::HubClientOptions link_options;
    link_options.base_url = config.hub;
    link_options.token = config.api_key;
    link_options.ca_cert = config.hub_ca;
    link_options.client_cert = config.cert;
    link_options.client_key = config.key;
    // A terminal waits at most this long before the node sells offline.
    link_options.connect_timeout = std::chrono::milliseconds(1000);
    link_options.timeout = std::chrono::milliseconds(10000);
    parts->link = std::make_unique<pos::CurlHubLink>(link_options);
    pos::NodeOptions node_options;
    node_options.offline_redemption_cap = config.offline_redemption_cap;
    parts->node = std::make_unique<pos::Node>(*parts->store, *parts->link, parts->clock,
                                              parts->random, node_options);
    if (auto started = parts->node->Start(); !started.ok()) {
        spdlog::warn("{} (serving anyway; the node bootstraps once the hub answers)",
                     started.error().message);
    }
    parts->api = std::make_unique<pos::NodeApi>(*parts->node, config.api_key);
    http::ServerOptions server_options;
    server_options.listen = config.listen;
    server_options.worker_threads = config.workers;
    parts->server = std::make_unique<http::HubServer>(*parts->api, server_options);
    if (core::Status serving = parts->server->Start(); !serving.ok()) {
        return core::MakeError(serving.error().code,
                               "cannot serve on " + config.listen + ": " + serving.error().message);
    }
    parts->sync = std::make_unique<pos::SyncLoop>(*parts->node, config.sync_interval);
    return std::unique_ptr<StoreNodeRunner>(new StoreNodeRunner(std::move(parts)));
}

}  // namespace kizuna::cli
