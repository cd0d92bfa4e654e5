#include "cli/dispatch_commands.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/hub_commands.hpp"
#include "cli/output.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

int64_t Count(const json& counts, const char* key) { return JsonInt(counts, key); }

std::string Channels(const json& run) {
    std::string joined;
    for (const json& c : run.value("channels", json::array())) {
        if (c.is_string()) joined += (joined.empty() ? "" : ",") + c.get<std::string>();
    }
    return joined;
}

void PrintRun(const json& run) {
    const json counts = run.value("counts", json::object());
    std::string status = JsonString(run, "status");
    if (JsonString(run, "phase") != status) status += " (" + JsonString(run, "phase") + ")";
    if (run.value("dry_run", false)) status += ", dry run";
    std::vector<std::pair<std::string, std::string>> lines = {
        {"dispatch id", JsonString(run, "dispatch_id")},
        {"status", status},
        {"channels", Channels(run)},
        {"members examined", GroupThousands(Count(counts, "members"))},
        {"recipients", GroupThousands(Count(counts, "selected"))},
        {"sent", GroupThousands(Count(counts, "sent"))},
        {"to print", GroupThousands(Count(counts, "ready"))},
        {"planned (dry run)", GroupThousands(Count(counts, "planned"))},
        {"waiting", GroupThousands(Count(counts, "pending"))},
        {"skipped", GroupThousands(Count(counts, "skipped"))},
        {"failed", GroupThousands(Count(counts, "failed"))},
        {"unknown (hub stopped)", GroupThousands(Count(counts, "unknown"))},
        {"started", LocalTime(JsonString(run, "created_at"))}};
    if (run.contains("finished_at") && run["finished_at"].is_string()) {
        lines.emplace_back("finished", LocalTime(JsonString(run, "finished_at")));
    }
    if (run.contains("error") && run["error"].is_string()) {
        lines.emplace_back("note", JsonString(run, "error"));
    }
    PrintSummary(std::cout, lines);
}

bool Finished(const json& run) {
    const std::string status = JsonString(run, "status");
    return status == "done" || status == "failed";
}

// "[#########-----------]  45% 450/1,000 email  12.3/s  ETA 0:45" on one stderr line.
void DrawProgress(const json& run, double seconds, int64_t first_done) {
    const json counts = run.value("counts", json::object());
    const json email = run.value("by_channel", json::object()).value("email", json::object());
    std::string line;
    if (JsonString(run, "phase") == "selecting") {
        line = "selecting: " + GroupThousands(Count(counts, "members")) + " members examined, " +
               GroupThousands(Count(counts, "selected")) + " recipients";
    } else {
        const int64_t total = Count(email, "selected");
        const int64_t done = total - Count(email, "pending");
        const double fraction = total > 0 ? static_cast<double>(done) / total : 1.0;
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(fraction * kWidth);
        line = "[" + std::string(filled, '#') + std::string(kWidth - filled, '-') + "] ";
        char text[160];
        const double rate = seconds > 0 ? (done - first_done) / seconds : 0;
        std::string eta = "--:--";
        if (rate > 0 && done < total) {
            const auto left = static_cast<int64_t>((total - done) / rate);
            std::snprintf(text, sizeof text, "%lld:%02lld", static_cast<long long>(left / 60),
                          static_cast<long long>(left % 60));
            eta = text;
        }
        std::snprintf(text, sizeof text, "%3d%% %s/%s email  %.1f/s  ETA %s",
                      static_cast<int>(fraction * 100), GroupThousands(done).c_str(),
                      GroupThousands(total).c_str(), rate, eta.c_str());
        line += text;
        if (JsonString(run, "status") == "paused") line += "  (paused)";
    }
    std::cerr << "\r" << line << "\x1b[K" << std::flush;
}

void AddRun(CLI::App& dispatch, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        bool dry_run = false;
        std::vector<std::string> channels;
        std::string program;
        int max_per_member = 3;
        bool include_general = false;
        bool progress = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = dispatch.add_subcommand(
        "run",
        "Start an offer dispatch: pick offers for every consenting member from their "
        "purchases and email or print them");
    cmd->add_flag("--dry-run", o->dry_run, "Only choose and report: send and record nothing");
    cmd->add_option("--channel", o->channels, "email or print (repeatable; default email)")
        ->check(CLI::IsMember({"email", "print"}));
    cmd->add_option("--program", o->program, "Only this program's offers and members");
    cmd->add_option("--max-per-member", o->max_per_member, "Offers per member and channel")
        ->capture_default_str()
        ->check(CLI::Range(1, 10));
    cmd->add_flag("--include-general", o->include_general,
                  "Members without recent purchases get their programs' general offers");
    cmd->add_flag("--progress", o->progress,
                  "Follow the run: a progress bar with the rate and ETA on stderr until it ends");
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub dispatch run --dry-run --data ./hub-data",
                      "kizuna hub dispatch run --channel email --channel print --progress",
                      "kizuna hub dispatch run --channel print --program prg_... --json"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        json body = {
            {"channels", o->channels.empty() ? std::vector<std::string>{"email"} : o->channels},
            {"dry_run", o->dry_run},
            {"max_per_member", o->max_per_member},
            {"include_general", o->include_general}};
        if (!o->program.empty()) body["program_id"] = o->program;
        auto started = client->Post("/v1/dispatches", body);
        if (!started.ok || !o->progress) {
            return PrintAnswer(started, o->common.json, [&](const json& reply) {
                std::cout << "Dispatch started; follow it with `kizuna hub dispatch show "
                          << JsonString(reply, "dispatch_id") << "`.\n";
                PrintSummary(std::cout, {{"dispatch id", JsonString(reply, "dispatch_id")},
                                         {"status", JsonString(reply, "status")}});
            });
        }
        const std::string path =
            "/v1/dispatches/" + HubClient::Escape(JsonString(started.body, "dispatch_id"));
        const auto begin = std::chrono::steady_clock::now();
        std::optional<int64_t> first_done;
        std::optional<std::chrono::steady_clock::time_point> first_at;
        HubAnswer answer;
        while (true) {
            answer = client->Get(path);
            if (!answer.ok) break;
            const json email =
                answer.body.value("by_channel", json::object()).value("email", json::object());
            const int64_t done = Count(email, "selected") - Count(email, "pending");
            if (!first_done && JsonString(answer.body, "phase") != "selecting") {
                first_done = done;
                first_at = std::chrono::steady_clock::now();
            }
            const double seconds =
                first_at
                    ? std::chrono::duration<double>(std::chrono::steady_clock::now() - *first_at)
                          .count()
                    : 0;
            DrawProgress(answer.body, seconds, first_done.value_or(0));
            if (Finished(answer.body)) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
        std::cerr << "\n";
        (void)begin;
        return PrintAnswer(answer, o->common.json, [](const json& run) { PrintRun(run); });
    });
}

void AddShow(CLI::App& dispatch, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        std::string id;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = dispatch.add_subcommand("show", "A dispatch run's status and counts");
    cmd->add_option("ID", o->id, "The dispatch id (dsp_...)")->required();
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna hub dispatch show dsp_... --data ./hub-data",
                      "kizuna hub dispatch show dsp_... --json"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        return PrintAnswer(client->Get("/v1/dispatches/" + HubClient::Escape(o->id)),
                           o->common.json, [](const json& run) { PrintRun(run); });
    });
}

void AddList(CLI::App& dispatch, Dispatcher& dispatcher) {
    struct Options {
        OperatorCommon common;
        int limit = 50;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = dispatch.add_subcommand("list", "Dispatch runs, newest first");
    cmd->add_option("--limit", o->limit, "At most this many")
        ->capture_default_str()
        ->check(CLI::Range(1, 200));
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd,
                {"kizuna hub dispatch list --data ./hub-data", "kizuna hub dispatch list --json"});
    OnRun(cmd, dispatcher, [o] {
        int code = kExitOk;
        auto client = ConnectOperator(o->common, code);
        if (!client) return code;
        return PrintAnswer(
            client->Get("/v1/dispatches?limit=" + std::to_string(o->limit)), o->common.json,
            [](const json& reply) {
                Table table({"dispatch id", "started", "status", "channels", "recipients", "sent",
                             "print", "failed"});
                for (std::size_t c = 4; c < 8; ++c) table.AlignRight(c);
                for (const json& run : reply.value("dispatches", json::array())) {
                    const json counts = run.value("counts", json::object());
                    std::string status = JsonString(run, "status");
                    if (run.value("dry_run", false)) status += " (dry run)";
                    table.AddRow({JsonString(run, "dispatch_id"),
                                  LocalTime(JsonString(run, "created_at")), status, Channels(run),
                                  GroupThousands(Count(counts, "selected")),
                                  GroupThousands(Count(counts, "sent")),
                                  GroupThousands(Count(counts, "ready")),
                                  GroupThousands(Count(counts, "failed"))});
                }
                table.Print(std::cout,
                            "No dispatches yet: start one with `kizuna hub "
                            "dispatch run`.\n");
            });
    });
}

// letters / labels: the PDF to --out.
void AddPdf(CLI::App& dispatch, Dispatcher& dispatcher, const std::string& name) {
    struct Options {
        OperatorCommon common;
        std::string id, out;
        int per_page = 12;
    };
    auto o = std::make_shared<Options>();
    const bool labels = name == "labels";
    auto* cmd = dispatch.add_subcommand(
        name, labels ? "A run's address labels as PDF (A4 sheets of 12 or 24)"
                     : "A run's letters as PDF (one A4 page per member with postal consent)");
    cmd->add_option("ID", o->id, "The dispatch id (dsp_...)")->required();
    cmd->add_option("--out", o->out, "The PDF file to write")->required();
    if (labels) {
        cmd->add_option("--per-page", o->per_page, "Labels per A4 sheet: 12 or 24")
            ->capture_default_str()
            ->check(CLI::IsMember({12, 24}));
    }
    AddOperatorFlags(cmd, o->common);
    AddExamples(cmd, {labels ? "kizuna hub dispatch labels dsp_... --out labels.pdf --per-page 24"
                             : "kizuna hub dispatch letters dsp_... --out letters.pdf"});
    OnRun(cmd, dispatcher, [o, name, labels] {
        int code = kExitOk;
        // A large run's PDF takes a while to make.
        auto client = ConnectOperator(o->common, code, std::chrono::minutes(10));
        if (!client) return code;
        std::string path = "/v1/dispatches/" + HubClient::Escape(o->id) + "/" + name + ".pdf";
        if (labels) path += "?per_page=" + std::to_string(o->per_page);
        std::string bytes;
        HubAnswer answer = client->Download(path, bytes);
        if (!answer.ok) return ReportFailure(answer.failure, o->common.json);
        std::ofstream out(o->out, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            return ReportError(
                core::MakeError(core::ErrorCode::kUnavailable, "cannot write " + o->out, "--out"),
                kExitUnreachable, o->common.json);
        }
        if (o->common.json) {
            PrintJson(std::cout, json{{"path", o->out}, {"bytes", bytes.size()}});
        } else {
            std::cout << "Wrote " << o->out << " ("
                      << GroupThousands(static_cast<int64_t>(bytes.size())) << " bytes).\n";
        }
        return kExitOk;
    });
}

}  // namespace

void AddDispatchCommands(CLI::App& hub, Dispatcher& dispatcher) {
    auto* dispatch = hub.add_subcommand(
        "dispatch", "Offer dispatch: targeted offers by email and printed letters (function 8)");
    dispatch->require_subcommand(1);
    AddRun(*dispatch, dispatcher);
    AddShow(*dispatch, dispatcher);
    AddList(*dispatch, dispatcher);
    AddPdf(*dispatch, dispatcher, "letters");
    AddPdf(*dispatch, dispatcher, "labels");
}

}  // namespace kizuna::cli
