// `kizuna hub settlement show|close|export|economics`: coalition settlement between the stores
// of a program, over the hub's HTTP API. The operator token sees every store and the program's
// deposit; a store's API key (--token kzs_...) sees the store's own row.

#include <fstream>
#include <iostream>
#include <memory>

#include "cli/exit_codes.hpp"
#include "cli/hub_commands.hpp"
#include "cli/output.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

struct StatementOptions {
    OperatorCommon common;
    std::string program_id;
    std::string period;  // empty: the current one
};

void AddStatementFlags(CLI::App* cmd, StatementOptions& o, bool period_required) {
    cmd->add_option("PROGRAM_ID", o.program_id, "The program (coalition)")->required();
    auto* period = cmd->add_option("--period", o.period,
                                   "Calendar month in Japan time, YYYY-MM (default: the current)");
    if (period_required) period->required();
    AddOperatorFlags(cmd, o.common);
}

std::string StatementPath(const StatementOptions& o, std::string_view extra = {}) {
    std::string path = "/v1/programs/" + HubClient::Escape(o.program_id) + "/settlements";
    std::string query;
    if (!o.period.empty()) query += "period=" + HubClient::Escape(o.period);
    if (!extra.empty()) query += (query.empty() ? "" : "&") + std::string(extra);
    return query.empty() ? path : path + "?" + query;
}

std::string BreakageWords(const std::string& policy) {
    return policy == "issuers" ? "back to the issuing stores" : "kept by the program";
}

void PrintStatement(const json& s) {
    const std::string currency = JsonString(s, "currency", "JPY");
    const json economics = s.value("economics", json::object());
    const int64_t fee_bp = JsonInt(economics, "issuing_fee_bp");
    PrintSummary(
        std::cout,
        {{"program", JsonString(s, "program_name") + " (" + JsonString(s, "program_id") + ")"},
         {"period", JsonString(s, "period") + " (" + JsonString(s, "status") + ")"},
         {"point value", FormatMoney(JsonInt(economics, "point_value", 1), currency)},
         {"issuing fee", std::to_string(fee_bp / 100) + "." + (fee_bp % 100 < 10 ? "0" : "") +
                             std::to_string(fee_bp % 100) + " %"},
         {"breakage", BreakageWords(JsonString(economics, "breakage"))}});
    std::cout << "\n";
    Table table({"store", "issued", "redeemed", "reversed", "expired", "fees", "net", ""});
    for (std::size_t c = 1; c <= 6; ++c) table.AlignRight(c);
    for (const json& r : s.value("stores", json::array())) {
        const int64_t net = JsonInt(r, "net");
        table.AddRow({JsonString(r, "store_name"), GroupThousands(JsonInt(r, "points_issued")),
                      GroupThousands(JsonInt(r, "points_redeemed")),
                      GroupThousands(JsonInt(r, "points_reversed")),
                      GroupThousands(JsonInt(r, "points_expired")),
                      FormatMoney(JsonInt(r, "fees"), currency), FormatMoney(net, currency),
                      net > 0   ? "pays the program"
                      : net < 0 ? "is paid by the program"
                                : ""});
    }
    table.Print(std::cout, "No stores in this program.\n");
    if (s.contains("program")) {
        const json& p = s["program"];
        std::cout << "\n";
        PrintSummary(
            std::cout,
            {{"outstanding points", GroupThousands(JsonInt(p, "outstanding_points_opening")) +
                                        " -> " + GroupThousands(JsonInt(p, "outstanding_points"))},
             {"deposit (預り金)", FormatMoney(JsonInt(p, "outstanding_value"), currency)},
             {"deposit change", FormatMoney(JsonInt(p, "deposit_change"), currency)},
             {"fees kept", FormatMoney(JsonInt(p, "fees_kept"), currency)},
             {"breakage kept", FormatMoney(JsonInt(p, "breakage_kept"), currency)},
             {"balances",
              p.value("balanced", false) ? "yes: sum(net) - deposit change - kept = 0" : "NO"}});
    }
    const json late = s.value("late_entries", json::array());
    if (!late.empty()) {
        std::cout << "\nBooked late (they occurred in an earlier period):\n";
        Table entries({"occurred", "booked", "kind", "points", "ref"});
        entries.AlignRight(3);
        for (const json& e : late) {
            entries.AddRow({LocalTime(JsonString(e, "occurred_at")),
                            LocalTime(JsonString(e, "recorded_at")), JsonString(e, "kind"),
                            GroupThousands(JsonInt(e, "points")), JsonString(e, "ref")});
        }
        entries.Print(std::cout);
    }
}

void AddShow(CLI::App& settlement, Dispatcher& dispatcher) {
    auto o = std::make_shared<StatementOptions>();
    auto* cmd = settlement.add_subcommand(
        "show", "A period's statement: what each store pays the program or is paid");
    AddStatementFlags(cmd, *o, false);
    AddExamples(cmd, {"kizuna hub settlement show pg_... --period 2026-11 --data ./hub-data",
                      "kizuna hub settlement show pg_... --token kzs_... --json"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        return PrintAnswer(client->Get(StatementPath(*o)), o->common.json, PrintStatement);
    });
}

void AddClose(CLI::App& settlement, Dispatcher& dispatcher) {
    auto o = std::make_shared<StatementOptions>();
    auto* cmd = settlement.add_subcommand(
        "close", "Freeze an ended period's statement; later entries count in the open period");
    AddStatementFlags(cmd, *o, true);
    AddExamples(cmd, {"kizuna hub settlement close pg_... --period 2026-11 --data ./hub-data"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        auto answer = client->Post("/v1/programs/" + HubClient::Escape(o->program_id) +
                                       "/settlements/" + HubClient::Escape(o->period) + "/close",
                                   json::object());
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            std::cout << "Closed " << JsonString(reply, "period") << " at "
                      << LocalTime(JsonString(reply, "closed_at")) << ".\n\n";
            PrintStatement(reply);
        });
    });
}

void AddExport(CLI::App& settlement, Dispatcher& dispatcher) {
    struct Options {
        StatementOptions statement;
        std::string format = "csv";
        std::string out;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = settlement.add_subcommand(
        "export", "Write a period's statement as CSV (UTF-8) or a Japanese PDF");
    AddStatementFlags(cmd, o->statement, false);
    cmd->add_option("--format", o->format, "csv or pdf")
        ->capture_default_str()
        ->check(CLI::IsMember({"csv", "pdf"}));
    cmd->add_option("--out", o->out,
                    "File to write (default: settlement-PROGRAM-PERIOD.csv|pdf here)");
    AddExamples(cmd, {"kizuna hub settlement export pg_... --period 2026-11 --format pdf "
                      "--data ./hub-data",
                      "kizuna hub settlement export pg_... --format csv --out nov.csv --json"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->statement.common, code);
        if (!client) return code;
        const bool as_json = o->statement.common.json;
        auto answer = client->GetBytes(StatementPath(o->statement, "format=" + o->format));
        if (!answer.ok) return ReportFailure(answer.failure, as_json);
        std::string path = o->out;
        if (path.empty()) {
            // The hub names the period (the current one when --period is not given) in the file.
            path = "settlement-" + o->statement.program_id + "-" +
                   (o->statement.period.empty() ? std::string("current") : o->statement.period) +
                   "." + o->format;
        }
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file.write(answer.text.data(), static_cast<std::streamsize>(answer.text.size()));
        file.close();
        if (!file) {
            return ReportError(
                core::MakeError(core::ErrorCode::kUnavailable, "cannot write " + path, "--out"),
                kExitUnreachable, as_json);
        }
        if (as_json) {
            PrintJson(std::cout, {{"path", path},
                                  {"format", o->format},
                                  {"bytes", static_cast<int64_t>(answer.text.size())}});
        } else {
            std::cout << "Wrote " << path << " (" << GroupThousands(answer.text.size())
                      << " bytes).\n";
        }
        return kExitOk;
    });
}

void AddEconomics(CLI::App& settlement, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        std::string program_id;
        std::optional<int64_t> point_value;
        std::optional<int64_t> fee_bp;
        std::string breakage;
        std::string from;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = settlement.add_subcommand(
        "economics",
        "Show a program's economics, or change them from a period on (never the past)");
    cmd->add_option("PROGRAM_ID", o->program_id, "The program (coalition)")->required();
    cmd->add_option("--point-value", o->point_value,
                    "Minor units of the currency one point is worth (1: 1 point = ¥1)");
    cmd->add_option("--fee-bp", o->fee_bp,
                    "Issuing fee in basis points of the issued value (300 = 3 %)");
    cmd->add_option("--breakage", o->breakage, "Expired points' value: operator or issuers")
        ->check(CLI::IsMember({"operator", "issuers"}));
    cmd->add_option("--from", o->from,
                    "First period (YYYY-MM) the change applies to (default: the earliest allowed)");
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub settlement economics pg_... --data ./hub-data",
                      "kizuna hub settlement economics pg_... --point-value 1 --fee-bp 300 "
                      "--breakage issuers --data ./hub-data"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        const std::string path = "/v1/programs/" + HubClient::Escape(o->program_id) + "/economics";
        const bool change = o->point_value || o->fee_bp || !o->breakage.empty() || !o->from.empty();
        HubAnswer answer;
        if (change) {
            json body = json::object();
            if (o->point_value) body["point_value"] = *o->point_value;
            if (o->fee_bp) body["issuing_fee_bp"] = *o->fee_bp;
            if (!o->breakage.empty()) body["breakage"] = o->breakage;
            if (!o->from.empty()) body["effective_from"] = o->from;
            answer = client->Put(path, body);
        } else {
            answer = client->Get(path);
        }
        return PrintAnswer(answer, o->common.json, [&](const json& e) {
            if (change) std::cout << "Economics changed.\n";
            PrintSummary(std::cout,
                         {{"version", std::to_string(JsonInt(e, "version"))},
                          {"from period", JsonString(e, "effective_from")},
                          {"point value",
                           GroupThousands(JsonInt(e, "point_value", 1)) + " minor units per point"},
                          {"issuing fee", GroupThousands(JsonInt(e, "issuing_fee_bp")) + " bp"},
                          {"breakage", BreakageWords(JsonString(e, "breakage"))}});
        });
    });
}

}  // namespace

void AddSettlementCommands(CLI::App& hub, Dispatcher& dispatcher) {
    auto* settlement = hub.add_subcommand(
        "settlement", "Coalition settlement: who pays whom for the points issued and redeemed");
    settlement->require_subcommand(1);
    AddShow(*settlement, dispatcher);
    AddClose(*settlement, dispatcher);
    AddExport(*settlement, dispatcher);
    AddEconomics(*settlement, dispatcher);
}

}  // namespace kizuna::cli
