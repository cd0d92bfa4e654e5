#include "cli/pos_node_commands.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>

#include "cli/exit_codes.hpp"
#include "cli/output.hpp"
#include "cli/pos_session.hpp"
#include "cli/shutdown_watch.hpp"
#include "cli/store_node_runner.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

struct NodeServeOptions {
    std::string hub, api_key, data_dir, listen = "127.0.0.1:8090";
    std::string sync_interval = "5s";
    int64_t offline_redemption_cap = 0;
    std::string hub_ca, cert, key;
    std::string log_level = "info";
    int workers = 16;
};

// "5s", "500ms", "2m" or plain seconds; none for anything else.
std::optional<std::chrono::milliseconds> ParseInterval(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0 || digits > 9) return std::nullopt;
    const int64_t value = std::stoll(text.substr(0, digits));
    const std::string unit = text.substr(digits);
    std::chrono::milliseconds interval{0};
    if (unit == "ms") {
        interval = std::chrono::milliseconds(value);
    } else if (unit.empty() || unit == "s") {
        interval = std::chrono::seconds(value);
    } else if (unit == "m") {
        interval = std::chrono::minutes(value);
    } else {
        return std::nullopt;
    }
    if (interval.count() <= 0) return std::nullopt;
    return interval;
}

int RunNodeServe(NodeServeOptions o) {
    ShutdownWatch shutdown;  // before any other thread starts
    if (o.api_key.empty()) {
        if (const char* key = std::getenv("KIZUNA_API_KEY")) o.api_key = key;
    }
    if (o.api_key.empty()) {
        std::cerr << "error: give the store's API key with --api-key or KIZUNA_API_KEY\n";
        return kExitUsage;
    }
    auto interval = ParseInterval(o.sync_interval);
    if (!interval) {
        std::cerr << "error: --sync-interval must be like 5s, 500ms or 2m\n";
        return kExitUsage;
    }
    if (o.cert.empty() != o.key.empty()) {
        std::cerr << "error: mutual TLS needs both --cert and --key\n";
        return kExitUsage;
    }
    StoreNodeConfig config;
    config.hub = o.hub;
    config.api_key = o.api_key;
    config.data_dir = o.data_dir;
    config.listen = o.listen;
    config.sync_interval = *interval;
    config.offline_redemption_cap = o.offline_redemption_cap;
    config.hub_ca = o.hub_ca;
    config.cert = o.cert;
    config.key = o.key;
    config.workers = o.workers;
    auto node = StoreNodeRunner::Start(config);
    if (!node) {
        spdlog::error("{}", node.error().message);
        return node.error().code == core::ErrorCode::kInvalidArgument ? kExitUsage
                                                                      : kExitUnreachable;
    }
    std::cout << "Kizuna store node listening on " << (*node)->BaseUrl() << " (hub " << o.hub
              << ")\nStop with Ctrl-C." << std::endl;
    shutdown.Wait();
    spdlog::info("stopping the store node");
    node->reset();
    return kExitOk;
}

void AddServe(CLI::App& pos, Dispatcher& dispatcher) {
    auto o = std::make_shared<NodeServeOptions>();
    auto* cmd = pos.add_subcommand(
        "serve", "Run a store node: the hub's store API on a local address, selling offline too");
    cmd->add_option("--hub", o->hub, "The hub's URL")->required();
    cmd->add_option("--api-key", o->api_key, "The store's API key (or KIZUNA_API_KEY)");
    cmd->add_option("--data", o->data_dir, "Data directory (node.db; created on first start)")
        ->required();
    cmd->add_option("--listen", o->listen, "host:port to serve the store API on")
        ->capture_default_str();
    cmd->add_option("--sync-interval", o->sync_interval, "Push and pull every … (5s, 500ms, 2m)")
        ->capture_default_str();
    cmd->add_option("--offline-redemption-cap", o->offline_redemption_cap,
                    "Points a member may redeem per day while the hub is down (0: none)")
        ->capture_default_str();
    cmd->add_option("--hub-ca", o->hub_ca, "PEM CA that signed the hub's certificate");
    cmd->add_option("--cert", o->cert, "PEM client certificate for mutual TLS (node.crt)");
    cmd->add_option("--key", o->key, "PEM private key of --cert (node.key)");
    cmd->add_option("--workers", o->workers, "Request worker threads")->capture_default_str();
    cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn or error")
        ->capture_default_str();
    AddExamples(cmd, {"kizuna pos serve --hub http://hub:8080 --api-key KEY --data ./node "
                      "--listen 127.0.0.1:8090",
                      "kizuna pos serve --hub https://hub:8443 --data ./node --hub-ca ca.crt "
                      "--cert node.crt --key node.key --offline-redemption-cap 500"});
    OnRun(cmd, dispatcher, [o] {
        auto logger = spdlog::stderr_color_mt("kizuna");
        spdlog::set_default_logger(logger);
        spdlog::set_level(spdlog::level::from_str(o->log_level));
        return RunNodeServe(*o);
    });
}

void PrintNodeStatus(const json& status) {
    std::cout << "hub reachable:  " << (status.value("hub_reachable", false) ? "yes" : "no")
              << "\noutbox pending: " << status.value("outbox_pending", 0) << "\nlast sync:      "
              << (status["last_sync_at"].is_string() ? status["last_sync_at"].get<std::string>()
                                                     : std::string("never"))
              << "\ncursor:         " << status.value("cursor", 0) << "\n";
    if (status.value("flagged", 0) > 0 || status.value("rejected", 0) > 0) {
        std::cout << "flagged:        " << status.value("flagged", 0)
                  << "\nrejected:       " << status.value("rejected", 0) << "\n";
    }
}

void AddNodeClientCommand(CLI::App& pos, Dispatcher& dispatcher, const char* name,
                          const char* description, bool sync) {
    auto common = std::make_shared<PosCommon>();
    auto* cmd = pos.add_subcommand(name, description);
    AddConnectionFlags(cmd, *common);
    AddExamples(cmd, {sync ? "kizuna pos sync --hub http://127.0.0.1:8090"
                           : "kizuna pos status --hub http://127.0.0.1:8090 --json"});
    OnRun(cmd, dispatcher, [common, sync] {
        auto session = Connect(*common);
        if (!session.client) return session.exit_code;
        auto answer = sync ? session.client->Post("/v1/node/sync", json::object())
                           : session.client->Get("/v1/node/status");
        return PrintAnswer(answer, common->json, PrintNodeStatus);
    });
}

}  // namespace

void AddPosNodeCommands(CLI::App& pos, Dispatcher& dispatcher) {
    AddServe(pos, dispatcher);
    AddNodeClientCommand(pos, dispatcher, "status",
                         "Ask a store node (--hub NODE_URL) how it is: hub reachable, outbox",
                         false);
    AddNodeClientCommand(pos, dispatcher, "sync",
                         "Make a store node (--hub NODE_URL) push its outbox and pull now", true);
}

}  // namespace kizuna::cli
