// `kizuna hub nodes add|list`: certificates for store nodes from the hub's node CA (files in the
// data directory, no running hub needed); `kizuna hub conflicts`: what store node pushes
// flagged, from the running hub.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/exit_codes.hpp"
#include "cli/hub_commands.hpp"
#include "cli/output.hpp"
#include "core/time.hpp"
#include "hub/node_ca.hpp"
#include "hub/system_clock.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

json CertificateJson(const hub::NodeCertificate& c) {
    return json{{"serial", c.serial},
                {"store_id", c.store_id},
                {"not_before", core::FormatRfc3339(c.not_before)},
                {"not_after", core::FormatRfc3339(c.not_after)},
                {"path", c.path}};
}

void AddNodes(CLI::App& hub, Dispatcher& dispatcher) {
    auto* nodes = hub.add_subcommand("nodes", "Store node certificates (mutual TLS for sync)");
    nodes->require_subcommand(1);

    struct AddOptions {
        std::string data_dir, store_id, out = ".";
        bool json = false;
    };
    auto a = std::make_shared<AddOptions>();
    auto* add = nodes->add_subcommand(
        "add", "Issue a certificate for a store's node: writes node.crt, node.key, ca.crt");
    add->add_option("STORE_ID", a->store_id, "The store whose node gets the certificate")
        ->required();
    add->add_option("--data", a->data_dir, "The hub's data directory (holds node-ca/)")->required();
    add->add_option("--out", a->out, "Directory for node.crt, node.key and ca.crt")
        ->capture_default_str();
    AddJsonFlag(add, a->json);
    AddExamples(add, {"kizuna hub nodes add st_3f9a --data ./hub-data --out ./node-st_3f9a"});
    OnRun(add, dispatcher, [a] {
        auto issued =
            hub::NodeCa::Issue(a->data_dir, a->store_id, a->out, hub::SystemClock().Now());
        if (!issued) {
            const bool usage = issued.error().code == core::ErrorCode::kInvalidArgument ||
                               issued.error().code == core::ErrorCode::kAlreadyExists;
            return ReportError(issued.error(), usage ? kExitUsage : kExitUnreachable, a->json);
        }
        if (a->json) {
            PrintJson(std::cout, CertificateJson(*issued));
            return kExitOk;
        }
        const std::filesystem::path out(a->out);
        std::cout << "Node certificate issued.\n";
        PrintSummary(std::cout, {{"store", issued->store_id},
                                 {"serial", issued->serial},
                                 {"valid until", core::FormatRfc3339(issued->not_after)},
                                 {"certificate", (out / "node.crt").string()},
                                 {"key (0600)", (out / "node.key").string()},
                                 {"node CA", (out / "ca.crt").string()}});
        return kExitOk;
    });

    struct ListOptions {
        std::string data_dir;
        bool json = false;
    };
    auto l = std::make_shared<ListOptions>();
    auto* list = nodes->add_subcommand("list", "List the node certificates issued");
    list->add_option("--data", l->data_dir, "The hub's data directory")->required();
    AddJsonFlag(list, l->json);
    AddExamples(list, {"kizuna hub nodes list --data ./hub-data"});
    OnRun(list, dispatcher, [l] {
        auto issued = hub::NodeCa::List(l->data_dir);
        if (!issued) return ReportError(issued.error(), kExitUnreachable, l->json);
        if (l->json) {
            json out = json::array();
            for (const auto& c : *issued) out.push_back(CertificateJson(c));
            PrintJson(std::cout, json{{"certificates", out}});
            return kExitOk;
        }
        Table table({"serial", "store", "not after"});
        for (const auto& c : *issued) {
            table.AddRow({c.serial, c.store_id, core::FormatRfc3339(c.not_after)});
        }
        table.Print(std::cout, "No node certificates.\n");
        return kExitOk;
    });
}

void AddConflicts(CLI::App& hub, Dispatcher& dispatcher) {
    auto o = std::make_shared<OperatorCommon>();
    auto* cmd = hub.add_subcommand(
        "conflicts",
        "What store node pushes flagged: duplicate members, overspends, revoked cards");
    AddOperatorFlags(cmd, *o);
    AddExamples(cmd, {"kizuna hub conflicts --data ./hub-data", "kizuna hub conflicts --json"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(*o, code);
        if (!client) return code;
        return PrintAnswer(
            client->Get("/v1/sync/conflicts?limit=1000"), o->json, [](const json& reply) {
                Table table({"id", "kind", "store", "event", "member", "detail"});
                for (const auto& c : reply.value("conflicts", json::array())) {
                    table.AddRow({std::to_string(JsonInt(c, "conflict_id")), JsonString(c, "kind"),
                                  JsonString(c, "store_id"), JsonString(c, "event_id"),
                                  JsonString(c, "member_id"), JsonString(c, "detail")});
                }
                table.Print(std::cout, "No conflicts.\n");
            });
    });
}

}  // namespace

void AddNodeCommands(CLI::App& hub, Dispatcher& dispatcher) {
    AddNodes(hub, dispatcher);
    AddConflicts(hub, dispatcher);
}

}  // namespace kizuna::cli
