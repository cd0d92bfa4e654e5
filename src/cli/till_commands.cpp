#include "cli/till_commands.hpp"

#include <iostream>
#include <memory>

#include "cli/output.hpp"
#include "cli/pos_session.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

std::string Points(const json& j, std::string_view key) {
    return GroupThousands(JsonInt(j, key)) + " pt";
}

void AddVoid(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string purchase_id;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand(
        "void", "Void today's sale: its points are undone exactly (a manager's PIN)");
    cmd->add_option("PURCHASE_ID", o->purchase_id, "The sale to void")->required();
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos void 2026-11-22-0001 --staff tanaka:4321"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        auto answer = session.client->Post(
            "/v1/purchases/" + HubClient::Escape(o->purchase_id) + "/void", json::object(), 3);
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            std::cout << (reply.value("replayed", false) ? "Sale already voided; nothing changed.\n"
                                                         : "Sale voided.\n");
            PrintSummary(std::cout, {{"purchase id", JsonString(reply, "purchase_id")},
                                     {"points taken back", Points(reply, "points_reversed")},
                                     {"points given back", Points(reply, "points_restored")},
                                     {"balance", Points(reply, "balance")}});
        });
    });
}

void AddDay(CLI::App& pos, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string date;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = pos.add_subcommand("day", "End-of-day (Z) report of this store, per terminal");
    cmd->add_option("--date", o->date, "The business day, YYYY-MM-DD (default today)");
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos day", "kizuna pos day --date 2026-11-22"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        std::string path = "/v1/stores/me/day";
        if (!o->date.empty()) path += "?date=" + HubClient::Escape(o->date);
        return PrintAnswer(session.client->Get(path), o->common.json, [](const json& reply) {
            const json totals = reply.value("totals", json::object());
            std::cout << "Z report " << JsonString(reply, "date") << " ("
                      << JsonString(reply, "from") << " to " << JsonString(reply, "to") << ")\n";
            PrintSummary(
                std::cout,
                {{"sales", GroupThousands(JsonInt(totals, "sales_count")) + ", total " +
                               GroupThousands(JsonInt(totals, "sales_total"))},
                 {"paid with points", GroupThousands(JsonInt(totals, "points_paid_value"))},
                 {"voided", GroupThousands(JsonInt(totals, "voids_count")) + ", total " +
                                GroupThousands(JsonInt(totals, "voids_total"))},
                 {"points issued", Points(totals, "points_issued")},
                 {"points redeemed", Points(totals, "points_redeemed")},
                 {"points reversed", Points(totals, "points_reversed")},
                 {"points voided", Points(totals, "points_voided")},
                 {"ledger net", Points(reply, "ledger_net")}});
            Table table({"terminal", "sales", "total", "issued", "redeemed", "reversed", "voids"});
            for (std::size_t c = 1; c < 7; ++c) table.AlignRight(c);
            for (const json& t : reply.value("terminals", json::array())) {
                const std::string id = JsonString(t, "terminal_id");
                table.AddRow({id.empty() ? "(store key)" : id,
                              GroupThousands(JsonInt(t, "sales_count")),
                              GroupThousands(JsonInt(t, "sales_total")),
                              GroupThousands(JsonInt(t, "points_issued")),
                              GroupThousands(JsonInt(t, "points_redeemed")),
                              GroupThousands(JsonInt(t, "points_reversed")),
                              GroupThousands(JsonInt(t, "voids_count"))});
            }
            table.Print(std::cout, "No sales this day.\n");
        });
    });
}

void AddTerminal(CLI::App& pos, Dispatcher& dispatcher) {
    auto* group = pos.add_subcommand("terminal", "This store's tills, each with its own key");
    group->require_subcommand(1);
    {
        struct Options {
            PosCommon common;
            std::string name;
        };
        auto o = std::make_shared<Options>();
        auto* cmd = group->add_subcommand("add", "Add a till; prints its API key once");
        cmd->add_option("--name", o->name, "The till's name, e.g. \"Till 2\"")->required();
        AddConnectionFlags(cmd, o->common);
        OnRun(cmd, dispatcher, [o] {
            auto session = Connect(o->common);
            if (!session.client) return session.exit_code;
            auto answer = session.client->Post("/v1/stores/me/terminals", json{{"name", o->name}});
            return PrintAnswer(answer, o->common.json, [](const json& reply) {
                PrintSummary(std::cout, {{"terminal id", JsonString(reply, "terminal_id")},
                                         {"name", JsonString(reply, "name")},
                                         {"api key", JsonString(reply, "api_key")}});
                std::cout << "Keep the key: it is shown only now. Configure the till with "
                             "`kizuna pos configure --api-key KEY`.\n";
            });
        });
    }
    {
        auto common = std::make_shared<PosCommon>();
        auto* cmd = group->add_subcommand("list", "List the store's tills");
        AddConnectionFlags(cmd, *common);
        OnRun(cmd, dispatcher, [common] {
            auto session = Connect(*common);
            if (!session.client) return session.exit_code;
            return PrintAnswer(
                session.client->Get("/v1/stores/me/terminals"), common->json,
                [](const json& reply) {
                    Table table({"terminal id", "name", "created", "revoked"});
                    for (const json& t : reply.value("terminals", json::array())) {
                        table.AddRow({JsonString(t, "terminal_id"), JsonString(t, "name"),
                                      JsonString(t, "created_at"), JsonString(t, "revoked_at")});
                    }
                    table.Print(std::cout, "No terminals yet.\n");
                });
        });
    }
    {
        struct Options {
            PosCommon common;
            std::string terminal_id;
        };
        auto o = std::make_shared<Options>();
        auto* cmd = group->add_subcommand("revoke", "Revoke a till's key");
        cmd->add_option("TERMINAL_ID", o->terminal_id, "The till")->required();
        AddConnectionFlags(cmd, o->common);
        OnRun(cmd, dispatcher, [o] {
            auto session = Connect(o->common);
            if (!session.client) return session.exit_code;
            auto answer = session.client->Delete("/v1/stores/me/terminals/" +
                                                 HubClient::Escape(o->terminal_id));
            return PrintAnswer(answer, o->common.json, [&](const json&) {
                std::cout << "Terminal " << o->terminal_id << " revoked.\n";
            });
        });
    }
}

void AddStaff(CLI::App& pos, Dispatcher& dispatcher) {
    auto* group = pos.add_subcommand("staff", "This store's staff: clerks and managers with PINs");
    group->require_subcommand(1);
    {
        struct Options {
            PosCommon common;
            std::string staff_id, name, role = "clerk", pin;
        };
        auto o = std::make_shared<Options>();
        auto* cmd = group->add_subcommand("add", "Add a clerk or manager");
        cmd->add_option("STAFF_ID", o->staff_id, "Their id, e.g. tanaka")->required();
        cmd->add_option("--name", o->name, "Their name")->required();
        cmd->add_option("--role", o->role, "clerk or manager (default clerk)");
        cmd->add_option("--pin", o->pin, "Their PIN, 4 to 12 digits")->required();
        AddConnectionFlags(cmd, o->common);
        OnRun(cmd, dispatcher, [o] {
            auto session = Connect(o->common);
            if (!session.client) return session.exit_code;
            auto answer =
                session.client->Post("/v1/stores/me/staff", json{{"staff_id", o->staff_id},
                                                                 {"name", o->name},
                                                                 {"role", o->role},
                                                                 {"pin", o->pin}});
            return PrintAnswer(answer, o->common.json, [](const json& reply) {
                PrintSummary(std::cout, {{"staff id", JsonString(reply, "staff_id")},
                                         {"name", JsonString(reply, "name")},
                                         {"role", JsonString(reply, "role")}});
            });
        });
    }
    {
        auto common = std::make_shared<PosCommon>();
        auto* cmd = group->add_subcommand("list", "List the store's staff");
        AddConnectionFlags(cmd, *common);
        OnRun(cmd, dispatcher, [common] {
            auto session = Connect(*common);
            if (!session.client) return session.exit_code;
            return PrintAnswer(
                session.client->Get("/v1/stores/me/staff"), common->json, [](const json& reply) {
                    Table table({"staff id", "name", "role", "removed"});
                    for (const json& s : reply.value("staff", json::array())) {
                        table.AddRow({JsonString(s, "staff_id"), JsonString(s, "name"),
                                      JsonString(s, "role"), JsonString(s, "removed_at")});
                    }
                    table.Print(std::cout, "No staff yet.\n");
                });
        });
    }
    {
        struct Options {
            PosCommon common;
            std::string staff_id;
        };
        auto o = std::make_shared<Options>();
        auto* cmd = group->add_subcommand("remove", "Remove a staff member (their PIN stops)");
        cmd->add_option("STAFF_ID", o->staff_id, "Their id")->required();
        AddConnectionFlags(cmd, o->common);
        OnRun(cmd, dispatcher, [o] {
            auto session = Connect(o->common);
            if (!session.client) return session.exit_code;
            auto answer =
                session.client->Delete("/v1/stores/me/staff/" + HubClient::Escape(o->staff_id));
            return PrintAnswer(answer, o->common.json, [&](const json&) {
                std::cout << "Staff member " << o->staff_id << " removed.\n";
            });
        });
    }
}

void PrintLimits(const json& reply) {
    PrintSummary(std::cout,
                 {{"max sale total", GroupThousands(JsonInt(reply, "max_sale_total"))},
                  {"max points per sale", GroupThousands(JsonInt(reply, "max_points_per_sale"))},
                  {"manager refund above", GroupThousands(JsonInt(reply, "manager_refund_above"))},
                  {"business day clock",
                   "UTC" + std::string(JsonInt(reply, "utc_offset_minutes") < 0 ? "" : "+") +
                       std::to_string(JsonInt(reply, "utc_offset_minutes")) + " min"}});
}

void AddLimits(CLI::App& pos, Dispatcher& dispatcher) {
    auto* group = pos.add_subcommand("limits", "This store's sale limits and business-day clock");
    group->require_subcommand(1);
    {
        auto common = std::make_shared<PosCommon>();
        auto* cmd = group->add_subcommand("show", "Show the limits");
        AddConnectionFlags(cmd, *common);
        OnRun(cmd, dispatcher, [common] {
            auto session = Connect(*common);
            if (!session.client) return session.exit_code;
            return PrintAnswer(session.client->Get("/v1/stores/me/limits"), common->json,
                               PrintLimits);
        });
    }
    {
        struct Options {
            PosCommon common;
            std::optional<int64_t> max_sale_total, max_points_per_sale, manager_refund_above,
                utc_offset_minutes;
        };
        auto o = std::make_shared<Options>();
        auto* cmd = group->add_subcommand("set", "Change the limits (a manager)");
        cmd->add_option("--max-sale-total", o->max_sale_total, "Minor units");
        cmd->add_option("--max-points-per-sale", o->max_points_per_sale, "Points");
        cmd->add_option("--manager-refund-above", o->manager_refund_above, "Minor units");
        cmd->add_option("--utc-offset-minutes", o->utc_offset_minutes,
                        "The business day's clock, e.g. 540 for Japan");
        AddConnectionFlags(cmd, o->common);
        AddExamples(cmd, {"kizuna pos limits set --max-sale-total 5000000 --utc-offset-minutes "
                          "540"});
        OnRun(cmd, dispatcher, [o] {
            json body = json::object();
            if (o->max_sale_total) body["max_sale_total"] = *o->max_sale_total;
            if (o->max_points_per_sale) body["max_points_per_sale"] = *o->max_points_per_sale;
            if (o->manager_refund_above) body["manager_refund_above"] = *o->manager_refund_above;
            if (o->utc_offset_minutes) body["utc_offset_minutes"] = *o->utc_offset_minutes;
            auto session = Connect(o->common);
            if (!session.client) return session.exit_code;
            return PrintAnswer(session.client->Put("/v1/stores/me/limits", body), o->common.json,
                               PrintLimits);
        });
    }
}

}  // namespace

void AddTillCommands(CLI::App& pos, Dispatcher& dispatcher) {
    AddVoid(pos, dispatcher);
    AddDay(pos, dispatcher);
    AddTerminal(pos, dispatcher);
    AddStaff(pos, dispatcher);
    AddLimits(pos, dispatcher);
}

}  // namespace kizuna::cli
