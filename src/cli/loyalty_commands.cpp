// `kizuna hub campaign create|grant|show` and `kizuna hub members merge` (issue 19): operator
// commands over the hub's HTTP API.
#include <iostream>
#include <memory>
#include <string>

#include "cli/argument_parsers.hpp"
#include "cli/exit_codes.hpp"
#include "cli/hub_commands.hpp"
#include "cli/output.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

void PrintCampaign(const json& c) {
    PrintSummary(std::cout, {{"campaign id", JsonString(c, "campaign_id")},
                             {"name", JsonString(c, "name")},
                             {"program id", JsonString(c, "program_id")},
                             {"budget", std::to_string(JsonInt(c, "budget_points")) + " points"},
                             {"granted", std::to_string(JsonInt(c, "granted_points")) + " points"},
                             {"left", std::to_string(JsonInt(c, "budget_left")) + " points"},
                             {"validity", std::to_string(JsonInt(c, "validity_days")) + " days"}});
}

void AddCampaignCreate(CLI::App& campaign, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        std::string name, program_id;
        int64_t budget = 0;
        int validity_days = 30;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = campaign.add_subcommand("create", "Create a campaign with a points budget");
    cmd->add_option("NAME", o->name, "Campaign name, e.g. 春のボーナス")->required();
    cmd->add_option("--program", o->program_id, "Program the points are in")->required();
    cmd->add_option("--budget", o->budget, "Points the campaign may grant in all")
        ->required()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--validity-days", o->validity_days,
                    "Days a granted point stays valid (default 30)")
        ->check(CLI::Range(1, 3650));
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub campaign create 'Spring bonus' --program pg_... --budget 100000 "
                      "--validity-days 30 --data ./hub-data"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        json body = {{"name", o->name},
                     {"budget_points", o->budget},
                     {"validity_days", o->validity_days},
                     {"program_id", o->program_id}};
        return PrintAnswer(client->Post("/v1/campaigns", body), o->common.json,
                           [](const json& reply) {
                               std::cout << "Campaign created.\n";
                               PrintCampaign(reply);
                           });
    });
}

void AddCampaignGrant(CLI::App& campaign, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        std::string campaign_id, member_id, grant_id;
        int64_t points = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = campaign.add_subcommand("grant", "Grant bonus points to a member");
    cmd->add_option("CAMPAIGN", o->campaign_id, "Campaign id")->required();
    cmd->add_option("MEMBER", o->member_id, "Member id")->required();
    cmd->add_option("POINTS", o->points, "Points to grant")->required()->check(CLI::PositiveNumber);
    cmd->add_option("--grant-id", o->grant_id,
                    "Idempotency key: the same id again grants nothing more (default: a new id)");
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub campaign grant cp_... 1234567890 500 --grant-id spring-42"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        const std::string grant_id = o->grant_id.empty() ? NewClientId() : o->grant_id;
        json body = {{"grant_id", grant_id}, {"member_id", o->member_id}, {"points", o->points}};
        return PrintAnswer(
            client->Post("/v1/campaigns/" + o->campaign_id + "/grants", body), o->common.json,
            [&](const json& reply) {
                std::cout << "Points granted.\n";
                PrintSummary(std::cout,
                             {{"grant id", JsonString(reply, "grant_id", grant_id)},
                              {"member", JsonString(reply, "member_id")},
                              {"points", std::to_string(JsonInt(reply, "points"))},
                              {"balance", std::to_string(JsonInt(reply, "balance"))},
                              {"valid until", LocalTime(JsonString(reply, "expires_at"))},
                              {"budget left", std::to_string(JsonInt(reply, "budget_left"))}});
            });
    });
}

void AddCampaignShow(CLI::App& campaign, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        std::string campaign_id;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = campaign.add_subcommand("show", "A campaign's budget and newest grants");
    cmd->add_option("CAMPAIGN", o->campaign_id, "Campaign id")->required();
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub campaign show cp_... --data ./hub-data"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        return PrintAnswer(
            client->Get("/v1/campaigns/" + o->campaign_id), o->common.json, [](const json& reply) {
                PrintCampaign(reply);
                Table table({"granted", "grant id", "member", "points", "until"});
                for (const auto& g : reply.value("recent_grants", json::array())) {
                    table.AddRow({LocalTime(JsonString(g, "granted_at")), JsonString(g, "grant_id"),
                                  JsonString(g, "member_id"), std::to_string(JsonInt(g, "points")),
                                  LocalTime(JsonString(g, "expires_at"))});
                }
                table.Print(std::cout, "No grants yet.\n");
            });
    });
}

void PrintMergePlan(const json& plan) {
    const json moves = plan.value("moves", json::object());
    const json ends = plan.value("ends", json::object());
    std::cout << "Member " << JsonString(plan, "from_member_id") << " into "
              << JsonString(plan, "member_id") << ":\n";
    PrintSummary(
        std::cout,
        {{"purchases", std::to_string(JsonInt(moves, "purchases"))},
         {"redemptions", std::to_string(JsonInt(moves, "redemptions"))},
         {"ledger entries", std::to_string(JsonInt(moves, "ledger_entries"))},
         {"open lots", std::to_string(JsonInt(moves, "open_lots"))},
         {"reservations", std::to_string(JsonInt(moves, "reservations"))},
         {"offers sent", std::to_string(JsonInt(moves, "offers_sent"))},
         {"dispatch rows skipped", std::to_string(JsonInt(ends, "dispatch_pending_skipped"))},
         {"sessions ended", std::to_string(JsonInt(ends, "sessions"))},
         {"reset links ended", std::to_string(JsonInt(ends, "password_resets"))},
         {"cards revoked", std::to_string(plan.value("cards_revoked", json::array()).size()) +
                               " of " + std::to_string(JsonInt(moves, "cards"))},
         {"points moved", std::to_string(JsonInt(plan, "points_moved"))}});
    Table table({"program id", "moved", "survivor before", "after"});
    for (const auto& b : plan.value("balances", json::array())) {
        table.AddRow({JsonString(b, "program_id"), std::to_string(JsonInt(b, "from_points")),
                      std::to_string(JsonInt(b, "survivor_before")),
                      std::to_string(JsonInt(b, "survivor_after"))});
    }
    table.Print(std::cout, "No balances.\n");
}

void AddMembersMerge(CLI::App& hub, Dispatcher& dispatcher) {
    auto* members = hub.add_subcommand("members", "Operator actions on members");
    members->require_subcommand(1);
    struct Options {
        OperatorCommon common;
        std::string survivor, from;
        bool dry_run = false;
        bool yes = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = members->add_subcommand(
        "merge", "Merge member FROM into SURVIVOR: history, lots and balances move (irreversible)");
    cmd->add_option("SURVIVOR", o->survivor, "The member id that remains")->required();
    cmd->add_option("FROM", o->from, "The member id merged away (its cards are revoked)")
        ->required();
    cmd->add_flag("--dry-run", o->dry_run, "Only say what would move");
    cmd->add_flag("--yes", o->yes, "Do not ask for confirmation");
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub members merge 1234567890 2345678901 --dry-run",
                      "kizuna hub members merge 1234567890 2345678901 --data ./hub-data"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        const std::string path = "/v1/members/" + o->survivor + "/merge";
        auto plan = client->Post(path, {{"from_member_id", o->from}, {"confirm", false}});
        if (o->dry_run || !plan.ok) {
            return PrintAnswer(plan, o->common.json, [](const json& reply) {
                PrintMergePlan(reply);
                std::cout << "Dry run: nothing changed.\n";
            });
        }
        if (!o->yes) {
            if (!o->common.json) PrintMergePlan(plan.body);
            std::cerr << "This cannot be undone. Type 'merge' to merge member " << o->from
                      << " into " << o->survivor << ": " << std::flush;
            std::string answer;
            std::getline(std::cin, answer);
            if (answer != "merge") {
                std::cerr << "Not confirmed; nothing changed.\n";
                return kExitUsage;
            }
        }
        return PrintAnswer(client->Post(path, {{"from_member_id", o->from}, {"confirm", true}}),
                           o->common.json, [](const json& reply) {
                               std::cout << "Merged.\n";
                               PrintMergePlan(reply);
                           });
    });
}

}  // namespace

void AddLoyaltyCommands(CLI::App& hub, Dispatcher& dispatcher) {
    auto* campaign = hub.add_subcommand("campaign", "Bonus-point campaigns with a budget");
    campaign->require_subcommand(1);
    AddCampaignCreate(*campaign, dispatcher);
    AddCampaignGrant(*campaign, dispatcher);
    AddCampaignShow(*campaign, dispatcher);
    AddMembersMerge(hub, dispatcher);
}

}  // namespace kizuna::cli
