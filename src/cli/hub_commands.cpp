#include "cli/hub_commands.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/client_config.hpp"
#include "cli/output.hpp"
#include "cli/record_file.hpp"
#include "cli/server_runner.hpp"
#include "core/text.hpp"
#include "hub/hub.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

// ---- serve ----------------------------------------------------------------------------------

struct ServeOptions {
    std::string data_dir, db, listen = "127.0.0.1:8080", tls_cert, tls_key, web_root;
    std::string log_level = "info";
    int threads = 2;
    int workers = 64;
    int webhook_retry_base = 10;   // seconds before the first retry of a failed delivery
    int webhook_retry_cap = 3600;  // longest wait between two retries
};

int RunServe(const ServeOptions& o) {
    ShutdownWatch shutdown;  // before any other thread starts
    if (o.tls_cert.empty() != o.tls_key.empty()) {
        std::cerr << "error: HTTPS needs both --tls-cert and --tls-key\n";
        return kExitUsage;
    }
    hub::HubOptions hub_options;
    hub_options.data_dir = o.data_dir;
    hub_options.storage_url = o.db;
    hub_options.webhooks.deliver = true;
    hub_options.webhooks.retry.base = std::chrono::seconds(o.webhook_retry_base);
    hub_options.webhooks.retry.cap =
        std::chrono::seconds(std::max(o.webhook_retry_cap, o.webhook_retry_base));
    auto opened = hub::Hub::Open(hub_options);
    if (!opened) {
        spdlog::error("cannot open the hub in {}: {}", o.data_dir, opened.error().message);
        return kExitUnreachable;
    }
    hub::Hub& hub = **opened;
    http::ServerOptions server_options;
    server_options.listen = o.listen;
    server_options.io_threads = o.threads;
    server_options.worker_threads = o.workers;
    server_options.tls_cert_file = o.tls_cert;
    server_options.tls_key_file = o.tls_key;
    server_options.web_root = o.web_root;
    ServerRunner runner(hub, server_options, shutdown);
    auto ran = runner.Run([&](http::HubServer& server) {
        std::cout << "Kizuna hub listening on " << server.BaseUrl() << "\n"
                  << "Operator token: " << hub.operator_token_path().string() << "\n"
                  << "Stop with Ctrl-C." << std::endl;
    });
    if (!ran) {
        spdlog::error("cannot serve on {}: {}", o.listen, ran.error().message);
        return ran.error().code == core::ErrorCode::kInvalidArgument ? kExitUsage
                                                                     : kExitUnreachable;
    }
    return kExitOk;
}

void AddServe(CLI::App& hub, Dispatcher& dispatcher) {
    auto o = std::make_shared<ServeOptions>();
    auto* cmd = hub.add_subcommand("serve", "Run the hub: storage, services and the HTTP API");
    cmd->add_option("--data", o->data_dir,
                    "Data directory (created on first start; holds operator.token)")
        ->required();
    cmd->add_option("--db", o->db,
                    "Storage URL (default sqlite://DIR/kizuna.db), e.g. "
                    "postgresql://kizuna@localhost/kizuna");
    cmd->add_option("--listen", o->listen, "Address to listen on, host:port (port 0: any free)")
        ->capture_default_str();
    cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve HTTPS")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tls-key", o->tls_key, "PEM private key for --tls-cert")
        ->check(CLI::ExistingFile);
    cmd->add_option("--threads", o->threads, "I/O threads")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    cmd->add_option("--workers", o->workers, "Worker threads for service calls")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--web-root", o->web_root, "Directory of the portal's static pages")
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn or error")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    cmd->add_option("--webhook-retry-base", o->webhook_retry_base,
                    "Seconds before a failed webhook delivery is retried; doubles per attempt, "
                    "jittered (env KIZUNA_WEBHOOK_RETRY_BASE)")
        ->envname("KIZUNA_WEBHOOK_RETRY_BASE")
        ->capture_default_str()
        ->check(CLI::Range(1, 86400));
    cmd->add_option("--webhook-retry-cap", o->webhook_retry_cap,
                    "Longest wait in seconds between two retries of a delivery; retries go on "
                    "for 24 hours, then the delivery is dead (replayable)")
        ->capture_default_str()
        ->check(CLI::Range(1, 86400));
    AddExamples(cmd, {"kizuna hub serve --data ./hub-data --listen 127.0.0.1:8080",
                      "kizuna hub serve --data /var/lib/kizuna --listen 0.0.0.0:8443 "
                      "--tls-cert hub.crt --tls-key hub.key --threads 4"});
    OnRun(cmd, dispatcher, [o] {
        auto logger = spdlog::stderr_color_mt("kizuna");
        spdlog::set_default_logger(logger);
        spdlog::set_level(spdlog::level::from_str(o->log_level));
        return RunServe(*o);
    });
}

// ---- operator commands ----------------------------------------------------------------------

struct OperatorCommon {
    std::string hub, token, data_dir, ca_cert;
    bool json = false;
};

void AddOperatorFlags(CLI::App* command, OperatorCommon& common) {
    command->add_option("--hub", common.hub,
                        "Hub URL (env KIZUNA_HUB; default http://127.0.0.1:8080)");
    command->add_option("--token", common.token, "Operator token (env KIZUNA_TOKEN)");
    command->add_option("--data", common.data_dir,
                        "The hub's data directory: read its "
                        "operator.token");
    AddCaCertFlag(command, common.ca_cert);
    AddJsonFlag(command, common.json);
}

// A client with the operator token, or null after reporting why there is none.
std::unique_ptr<HubClient> ConnectOperator(const OperatorCommon& common, int& exit_code) {
    const EnvLookup env = ProcessEnvironment();
    std::string file_token;
    std::string file_source;
    if (!common.data_dir.empty()) {
        const std::filesystem::path path =
            std::filesystem::path(common.data_dir) / "operator.token";
        auto text = ReadWholeFile(path);
        if (!text) {
            exit_code = ReportError(text.error(), kExitUnreachable, common.json);
            return nullptr;
        }
        file_token = core::Trim(*text);
        while (!file_token.empty() && (file_token.back() == '\n' || file_token.back() == '\r')) {
            file_token.pop_back();
        }
        file_source = path.string();
    }
    const Setting token =
        ResolveSetting(common.token, "--token", env, kEnvToken, file_token, file_source, "");
    if (token.empty()) {
        exit_code = ReportError(
            core::MakeError(core::ErrorCode::kInvalidArgument,
                            "no operator token: pass --token, set KIZUNA_TOKEN or pass --data DIR "
                            "(the hub's data directory)",
                            "--token"),
            kExitUsage, common.json);
        return nullptr;
    }
    const Setting hub = ResolveSetting(common.hub, "--hub", env, kEnvHub, "", "", kDefaultHubUrl);
    const Setting ca = ResolveSetting(common.ca_cert, "--cacert", env, kEnvCaCert, "", "", "");
    return std::make_unique<HubClient>(
        HubClientOptions{.base_url = hub.value, .token = token.value, .ca_cert = ca.value});
}

void AddPrograms(CLI::App& hub, Dispatcher& dispatcher) {
    auto* programs = hub.add_subcommand("programs", "Points programs (a chain shares one)");
    programs->require_subcommand(1);

    struct AddOptions {
        OperatorCommon common;
        std::string name;
    };
    auto a = std::make_shared<AddOptions>();
    auto* add = programs->add_subcommand("add", "Create a points program");
    add->add_option("NAME", a->name, "Program name, e.g. 駅前チェーン")->required();
    AddOperatorFlags(add, a->common);
    AddExamples(add, {"kizuna hub programs add '駅前チェーン' --data ./hub-data"});
    OnRun(add, dispatcher, [a] {
        int code = kExitOk;
        auto client = ConnectOperator(a->common, code);
        if (!client) return code;
        return PrintAnswer(client->Post("/v1/programs", {{"name", a->name}}), a->common.json,
                           [&](const json& reply) {
                               std::cout << "Program created.\n";
                               PrintSummary(std::cout,
                                            {{"program id", JsonString(reply, "program_id")},
                                             {"name", JsonString(reply, "name", a->name)}});
                           });
    });

    auto l = std::make_shared<OperatorCommon>();
    auto* list = programs->add_subcommand("list", "List the points programs");
    AddOperatorFlags(list, *l);
    AddExamples(list, {"kizuna hub programs list --data ./hub-data"});
    OnRun(list, dispatcher, [l] {
        int code = kExitOk;
        auto client = ConnectOperator(*l, code);
        if (!client) return code;
        return PrintAnswer(client->Get("/v1/programs"), l->json, [](const json& reply) {
            Table table({"program id", "created", "name"});
            for (const auto& p : reply.value("programs", json::array())) {
                table.AddRow({JsonString(p, "program_id"), LocalTime(JsonString(p, "created_at")),
                              JsonString(p, "name")});
            }
            table.Print(std::cout, "No programs.\n");
        });
    });
}

void AddStores(CLI::App& hub, Dispatcher& dispatcher) {
    auto* stores = hub.add_subcommand("stores", "Participating stores and their API keys");
    stores->require_subcommand(1);

    struct AddOptions {
        OperatorCommon common;
        std::string name, kind = "physical", program_id, currency = "JPY";
    };
    auto a = std::make_shared<AddOptions>();
    auto* add = stores->add_subcommand("add", "Register a store; prints its API key once");
    add->add_option("NAME", a->name, "Store name, e.g. 駅前書店 渋谷店")->required();
    add->add_option("--kind", a->kind, "physical or online")
        ->capture_default_str()
        ->check(CLI::IsMember({"physical", "online"}));
    add->add_option("--program", a->program_id,
                    "Program to join (default: a new program of its own)");
    add->add_option("--currency", a->currency, "ISO 4217 currency")->capture_default_str();
    AddOperatorFlags(add, a->common);
    AddExamples(add, {"kizuna hub stores add 'Shibuya Books' --data ./hub-data",
                      "kizuna hub stores add 'Ekimae Mall Shop' --kind online --program pg_..."});
    OnRun(add, dispatcher, [a] {
        int code = kExitOk;
        auto client = ConnectOperator(a->common, code);
        if (!client) return code;
        json body = {{"name", a->name},
                     {"kind", a->kind},
                     {"currency", a->currency},
                     {"program_id", a->program_id.empty() ? json() : json(a->program_id)}};
        return PrintAnswer(
            client->Post("/v1/stores", body), a->common.json, [&](const json& reply) {
                const std::string store_id = JsonString(reply, "store_id");
                const std::string api_key = JsonString(reply, "api_key");
                std::cout << "Store registered. The API key is shown only now: keep it.\n";
                PrintSummary(std::cout, {{"store id", store_id},
                                         {"program id", JsonString(reply, "program_id")},
                                         {"api key", api_key}});
                std::cout << "\nConfigure the store terminal with:\n  kizuna pos configure --hub "
                          << client->base_url() << " --api-key " << api_key << " --store-id "
                          << store_id << "\n";
            });
    });

    auto l = std::make_shared<OperatorCommon>();
    auto* list = stores->add_subcommand("list", "List the stores");
    AddOperatorFlags(list, *l);
    AddExamples(list,
                {"kizuna hub stores list --data ./hub-data", "kizuna hub stores list --json"});
    OnRun(list, dispatcher, [l] {
        int code = kExitOk;
        auto client = ConnectOperator(*l, code);
        if (!client) return code;
        return PrintAnswer(client->Get("/v1/stores"), l->json, [](const json& reply) {
            Table table({"store id", "kind", "program id", "currency", "name"});
            for (const auto& s : reply.value("stores", json::array())) {
                table.AddRow({JsonString(s, "store_id"), JsonString(s, "kind"),
                              JsonString(s, "program_id"), JsonString(s, "currency"),
                              JsonString(s, "name")});
            }
            table.Print(std::cout, "No stores.\n");
        });
    });
}

}  // namespace

void AddHubCommands(CLI::App& app, Dispatcher& dispatcher) {
    auto* hub = app.add_subcommand("hub", "The hub server and its operator commands");
    hub->require_subcommand(1);
    AddServe(*hub, dispatcher);
    AddPrograms(*hub, dispatcher);
    AddStores(*hub, dispatcher);
}

}  // namespace kizuna::cli
