#include "cli/demo_command.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/demo_environment.hpp"
#include "cli/demo_seeder.hpp"
#include "cli/output.hpp"
#include "cli/record_file.hpp"
#include "cli/server_runner.hpp"
#include "cli/store_node_runner.hpp"
#include "core/text.hpp"
#include "hub/hub.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

struct DemoOptions {
    std::string data_dir;
    std::string listen = "127.0.0.1:8080";
    std::string node_listen = "127.0.0.1:8090";
    int members = 200;
    uint64_t seed = 1;
    int workers = 16;
    bool seed_only = false;
    bool json = false;
};

// Quotes a value for a POSIX shell so printed commands can be pasted as they are.
std::string ShellQuote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += "'\\''";
        else
            out.push_back(c);
    }
    return out + "'";
}

// The store node the demo runs for its first physical store (issue 16); none when --seed-only.
struct DemoNode {
    std::string url;
    std::string store_id;
    std::string store_name;
    std::string api_key;
    std::string data_dir;
};

// The first physical store: the one a store node serves in the demo.
const DemoStoreInfo* NodeStoreOf(const DemoSummary& s) {
    for (const auto& store : s.stores) {
        if (store.kind == "physical") return &store;
    }
    return nullptr;
}

json SummaryJson(const DemoSummary& s, const std::string& url, const std::string& data_dir,
                 const std::string& token, const DemoNode* node) {
    json stores = json::array();
    for (const auto& store : s.stores) {
        stores.push_back({{"store_id", store.store_id},
                          {"name", store.name},
                          {"kind", store.kind},
                          {"program_id", store.program_id},
                          {"program_name", store.program_name},
                          {"api_key", store.api_key}});
    }
    json members = json::array();
    for (const auto& m : s.members_to_try) {
        members.push_back({{"member_id", m.member_id},
                           {"card_number", m.card_number},
                           {"password", m.password},
                           {"name", m.name},
                           {"email", m.email}});
    }
    json store_node = nullptr;
    if (node != nullptr) {
        store_node = {{"url", node->url},
                      {"store_id", node->store_id},
                      {"store_name", node->store_name},
                      {"data_dir", node->data_dir}};
    }
    return {{"url", url},
            {"data_dir", data_dir},
            {"store_node", store_node},
            {"operator_token", token},
            {"stores", stores},
            {"members_to_try", members},
            {"counts",
             {{"members", s.members},
              {"purchases", s.purchases},
              {"redemptions", s.redemptions},
              {"refunds", s.refunds},
              {"offers", s.offers},
              {"points_earned", s.points_earned},
              {"points_redeemed", s.points_redeemed}}}};
}

void PrintDemoSummary(const DemoSummary& s, const std::string& url, const std::string& data_dir,
                      const std::string& token, bool serving, const DemoNode* node) {
    std::cout << "\nKizuna demo hub\n";
    PrintSummary(std::cout, {{"URL", serving ? url : url + " (not serving: --seed-only)"},
                             {"data directory", data_dir},
                             {"operator token", token},
                             {"seeded", GroupThousands(s.members) + " members, " +
                                            GroupThousands(s.purchases) + " purchases, " +
                                            GroupThousands(s.redemptions) + " redemptions, " +
                                            GroupThousands(s.refunds) + " refunds, " +
                                            GroupThousands(s.offers) + " offers"}});

    std::cout << "\nStores\n";
    Table stores({"store id", "kind", "api key", "name"});
    for (const auto& store : s.stores) {
        stores.AddRow({store.store_id, store.kind, store.api_key, store.name});
    }
    stores.Print(std::cout);

    std::cout << "\nMembers to log in with\n";
    Table members({"member id", "card number", "password", "name"});
    for (const auto& m : s.members_to_try) {
        members.AddRow({m.member_id, m.card_number, m.password, m.name});
    }
    members.Print(std::cout);
    if (node != nullptr) {
        std::cout << "\nStore node (kizuna pos serve, in this process)\n";
        PrintSummary(std::cout, {{"URL", node->url},
                                 {"store", node->store_id + " " + node->store_name},
                                 {"data directory", node->data_dir}});
    }
    if (s.members_to_try.size() < 2 || s.stores.empty()) return;

    const DemoMemberInfo& first = s.members_to_try[0];
    const DemoMemberInfo& second = s.members_to_try[1];
    const DemoStoreInfo& shop = s.stores[0];
    std::cout << "\nTry\n"
              << "  printf '%s\\n' " << ShellQuote(first.password)
              << " | kizuna member login --hub " << url << " --login " << first.member_id
              << " --password-stdin\n"
              << "  kizuna member usage --out usage.json\n"
              << "  kizuna pos sale --hub " << url << " --api-key " << shop.api_key << " --card "
              << first.card_number << " --item " << ShellQuote(shop.sample_item) << "\n"
              << "  kizuna pos lookup " << second.member_id << " --hub " << url << " --api-key "
              << shop.api_key << " --out customer.json\n"
              << "  curl -s -H 'Authorization: Bearer " << shop.api_key << "' " << url
              << "/v1/members/" << second.member_id << "\n";
    if (node != nullptr) {
        std::cout << "  kizuna pos sale --hub " << node->url << " --api-key " << node->api_key
                  << " --card " << first.card_number << " --item "
                  << ShellQuote(NodeStoreOf(s)->sample_item) << "   # through the store node\n"
                  << "  kizuna pos status --hub " << node->url << " --api-key " << node->api_key
                  << "\n";
    }
    if (serving) std::cout << "\nServing until Ctrl-C.\n";
    std::cout << std::flush;
}

int RunDemo(DemoOptions o) {
    ShutdownWatch shutdown;  // before any other thread starts
    if (o.data_dir.empty()) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "kizuna-demo-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::cerr << "error: cannot create a temporary directory\n";
            return kExitUnreachable;
        }
        o.data_dir = pattern;
    } else if (std::filesystem::exists(std::filesystem::path(o.data_dir) / "operator.token")) {
        std::cerr << "error: " << o.data_dir
                  << " already holds a hub; serve it with `kizuna hub serve --data " << o.data_dir
                  << "` or give the demo an empty directory\n";
        return kExitUsage;
    }
    std::cerr << "Demo data directory: " << o.data_dir << "\n";

    auto clock = std::make_unique<DemoClock>();
    auto random = std::make_unique<SwitchableRandom>(o.seed);
    hub::HubOptions hub_options;
    hub_options.data_dir = o.data_dir;
    hub_options.clock = clock.get();
    hub_options.random = random.get();
    auto opened = hub::Hub::Open(hub_options);
    if (!opened) {
        std::cerr << "error: cannot open the hub in " << o.data_dir << ": "
                  << opened.error().message << "\n";
        return kExitUnreachable;
    }
    hub::Hub& hub = **opened;

    const auto started = std::chrono::steady_clock::now();
    DemoSeeder seeder(
        hub, *clock,
        DemoSeedOptions{
            .members = o.members, .seed = o.seed, .workers = o.workers, .stop = &shutdown.flag()},
        [](std::string_view line) { std::cerr << line << std::endl; });
    auto seeded = seeder.Run();
    clock->Follow();
    random->SwitchToSystem();
    if (!seeded) {
        std::cerr << "error: " << seeded.error().message << "\n";
        return shutdown.requested() ? kExitInterrupted : kExitUnreachable;
    }
    auto expired = hub.points().RunExpiry();
    if (expired) std::cerr << "expiry pass: " << *expired << " lots expired\n";
    const auto seconds_taken =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "seeded in " << static_cast<int>(seconds_taken * 10) / 10.0 << " s\n";

    auto token_text = ReadWholeFile(hub.operator_token_path());
    const std::string token = token_text ? core::Trim(*token_text) : "(see operator.token)";

    if (o.seed_only) {
        const std::string url = "http://" + o.listen;
        if (o.json)
            PrintJson(std::cout, SummaryJson(*seeded, url, o.data_dir, token, nullptr));
        else
            PrintDemoSummary(*seeded, url, o.data_dir, token, false, nullptr);
        return kExitOk;
    }
    http::ServerOptions server_options;
    server_options.listen = o.listen;
    ServerRunner runner(hub, server_options, shutdown);
    std::unique_ptr<StoreNodeRunner> node;
    DemoNode node_info;
    auto ran = runner.Run(
        [&](http::HubServer& server) {
            // A store node for the first physical store, in front of this hub (issue 16).
            if (const DemoStoreInfo* store = NodeStoreOf(*seeded)) {
                StoreNodeConfig config;
                config.hub = server.BaseUrl();
                config.api_key = store->api_key;
                config.data_dir = (std::filesystem::path(o.data_dir) / "node").string();
                config.listen = o.node_listen;
                auto started = StoreNodeRunner::Start(config);
                if (started) {
                    node = std::move(*started);
                    node_info = {node->BaseUrl(), store->store_id, store->name, store->api_key,
                                 config.data_dir};
                } else {
                    std::cerr << "warning: the demo's store node did not start: "
                              << started.error().message << "\n";
                }
            }
            const DemoNode* shown = node ? &node_info : nullptr;
            if (o.json)
                PrintJson(std::cout,
                          SummaryJson(*seeded, server.BaseUrl(), o.data_dir, token, shown));
            else
                PrintDemoSummary(*seeded, server.BaseUrl(), o.data_dir, token, true, shown);
            std::cout << std::flush;
        },
        [&] { node.reset(); });  // the node stops before the hub it syncs with
    if (!ran) {
        std::cerr << "error: cannot serve on " << o.listen << ": " << ran.error().message << "\n";
        return kExitUnreachable;
    }
    return kExitOk;
}

}  // namespace

void AddDemoCommand(CLI::App& app, Dispatcher& dispatcher) {
    auto o = std::make_shared<DemoOptions>();
    auto* cmd = app.add_subcommand(
        "demo",
        "Run a hub seeded with a year of demo stores, members and purchases, and a store node");
    cmd->add_option("--data", o->data_dir, "Data directory (default: a fresh temporary one)");
    cmd->add_option("--listen", o->listen, "Address to serve on, host:port")->capture_default_str();
    cmd->add_option("--node-listen", o->node_listen,
                    "Address of the store node run for the first physical store, host:port")
        ->capture_default_str();
    cmd->add_option("--members", o->members, "How many members to enroll")
        ->capture_default_str()
        ->check(CLI::Range(2, 100000));
    cmd->add_option("--seed", o->seed, "Seed: the same seed gives the same data")
        ->capture_default_str();
    cmd->add_option("--workers", o->workers, "Members seeded concurrently")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    cmd->add_flag("--seed-only", o->seed_only, "Seed, print the summary and exit");
    cmd->add_flag("--json", o->json, "Print the summary as JSON");
    AddExamples(cmd, {"kizuna demo", "kizuna demo --data ./demo-hub --listen 127.0.0.1:9000",
                      "kizuna demo --members 50 --seed 7 --seed-only --json"});
    OnRun(cmd, dispatcher, [o] {
        auto logger = spdlog::stderr_color_mt("kizuna");
        spdlog::set_default_logger(logger);
        return RunDemo(*o);
    });
}

}  // namespace kizuna::cli
