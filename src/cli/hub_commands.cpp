#include "cli/hub_commands.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/client_config.hpp"
#include "cli/dispatch_commands.hpp"
#include "cli/output.hpp"
#include "cli/record_file.hpp"
#include "cli/server_runner.hpp"
#include "core/text.hpp"
#include "hub/hub.hpp"
#include "hub/node_ca.hpp"
#include "mail/mime_message.hpp"
#include "storage/storage.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

// ---- serve ----------------------------------------------------------------------------------

struct ServeOptions {
    std::string data_dir, db, listen = "127.0.0.1:8080", tls_cert, tls_key, public_url;
    std::string log_level = "info";
    int threads = 2;
    int workers = 64;
    storage::StorageOptions storage;
    int webhook_retry_base = 10;   // seconds before the first retry of a failed delivery
    int webhook_retry_cap = 3600;  // longest wait between two retries
    std::string smtp, smtp_user, smtp_ca_file, mail_from;
    bool smtp_starttls = false;
    bool node_ca = false;     // ask store nodes for their certificate (DIR/node-ca/ca.crt)
    double mail_rate = 20;    // messages per second at most
    int mail_retry_base = 5;  // seconds before the first retry of a deferred mail
    // Offer dispatch (issue 18).
    std::string mail_sender_name = "Kizuna", mail_contact;
    double dispatch_rate = 50;
    int dispatch_retry_base = 5, dispatch_breaker = 5, dispatch_pause = 60;
    int dispatch_nice = 19;
    double dispatch_busy_share = 0.5;
};

int RunServe(const ServeOptions& o) {
    ShutdownWatch shutdown;  // before any other thread starts
    if (o.tls_cert.empty() != o.tls_key.empty()) {
        std::cerr << "error: HTTPS needs both --tls-cert and --tls-key\n";
        return kExitUsage;
    }
    if (o.node_ca && o.tls_cert.empty()) {
        std::cerr << "error: --node-ca needs HTTPS: give --tls-cert and --tls-key too\n";
        return kExitUsage;
    }
    hub::HubOptions hub_options;
    hub_options.data_dir = o.data_dir;
    hub_options.storage_url = o.db;
    hub_options.storage_options = o.storage;
    hub_options.public_url = !o.public_url.empty()
                                 ? o.public_url
                                 : (o.tls_cert.empty() ? "http://" : "https://") + o.listen;
    while (hub_options.public_url.ends_with('/')) hub_options.public_url.pop_back();
    hub_options.webhooks.deliver = true;
    hub_options.webhooks.retry.base = std::chrono::seconds(o.webhook_retry_base);
    hub_options.webhooks.retry.cap =
        std::chrono::seconds(std::max(o.webhook_retry_cap, o.webhook_retry_base));
    if (!o.smtp.empty()) {
        if (o.mail_from.empty()) {
            std::cerr << "error: --smtp needs --mail-from ADDRESS, the sender of member mail\n";
            return kExitUsage;
        }
        hub::MailDeliveryOptions& mail = hub_options.mail;
        mail.deliver = true;
        mail.smtp.url = o.smtp;
        mail.smtp.user = o.smtp_user;
        if (const char* password = std::getenv("KIZUNA_SMTP_PASSWORD")) {
            mail.smtp.password = password;
        }
        mail.smtp.starttls = o.smtp_starttls;
        mail.smtp.ca_file = o.smtp_ca_file;
        mail.smtp.timeout = std::chrono::seconds(30);
        mail.from.display_name = "Kizuna";
        mail.from.address = o.mail_from;
        mail.per_second = o.mail_rate;
        mail.retry_base = std::chrono::seconds(o.mail_retry_base);
        // A sender the renderer refuses would send every message to failed/: refuse it now.
        mail::MailMessage probe;
        probe.from = mail.from;
        probe.to.address = probe.message_id = o.mail_from;
        probe.subject = probe.text = "probe";
        probe.date = core::FromUnixSeconds(1);
        if (auto rendered = mail::RenderMime(probe); !rendered) {
            std::cerr << "error: --mail-from " << o.mail_from
                      << " must be a plain address local@domain\n";
            return kExitUsage;
        }
    }
    hub::DispatchOptions& dispatch = hub_options.dispatch;
    dispatch.run_worker = true;
    if (!o.smtp.empty()) dispatch.smtp = hub_options.mail.smtp;
    dispatch.sender.from = {o.mail_sender_name, o.mail_from};
    dispatch.sender.name = o.mail_sender_name;
    dispatch.sender.contact = o.mail_contact.empty() ? o.mail_from : o.mail_contact;
    dispatch.public_url = o.public_url;
    dispatch.per_second = o.dispatch_rate;
    dispatch.retry_base = std::chrono::seconds(o.dispatch_retry_base);
    dispatch.breaker_limit = o.dispatch_breaker;
    dispatch.breaker_pause = std::chrono::seconds(o.dispatch_pause);
    dispatch.worker_nice = o.dispatch_nice;
    dispatch.busy_share = o.dispatch_busy_share;
    auto opened = hub::Hub::Open(hub_options);
    if (!opened) {
        spdlog::error("cannot open the hub in {}: {}", o.data_dir, opened.error().message);
        return kExitUnreachable;
    }
    hub::Hub& hub = **opened;
    if (o.smtp.empty()) {
        spdlog::info("no --smtp: member mail (enrollment confirmations) waits in {}, unsent",
                     hub.mail().directory().string());
    } else {
        spdlog::info("member mail from {} is delivered through {}", o.mail_from, o.smtp);
    }
    http::ServerOptions server_options;
    server_options.listen = o.listen;
    server_options.io_threads = o.threads;
    server_options.worker_threads = o.workers;
    server_options.tls_cert_file = o.tls_cert;
    server_options.tls_key_file = o.tls_key;
    if (o.node_ca) {
        const auto ca = hub::NodeCa::CertificatePath(o.data_dir);
        if (!std::filesystem::exists(ca)) {
            std::cerr << "error: no node CA in " << o.data_dir
                      << " yet; issue a node certificate first (kizuna hub nodes add STORE_ID)\n";
            return kExitUsage;
        }
        server_options.node_ca_file = ca.string();
    }
    ServerRunner runner(hub, server_options, shutdown);
    auto ran = runner.Run([&](http::HubServer& server) {
        // Unsubscribe links name the hub as the members reach it; without --public-url, as
        // it listens.
        if (o.public_url.empty()) hub.dispatches().SetPublicUrl(server.BaseUrl());
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
    cmd->add_option("--public-url", o->public_url,
                    "The hub's URL as members reach it, for links in mail (confirmation, "
                    "password reset, unsubscribe; default: from --listen), e.g. "
                    "https://hub.example.jp");
    cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve HTTPS")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tls-key", o->tls_key, "PEM private key for --tls-cert")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--node-ca", o->node_ca,
                  "Store nodes must present a certificate of the hub's node CA for /v1/sync/* "
                  "(kizuna hub nodes add); needs --tls-cert");
    cmd->add_option("--threads", o->threads, "I/O threads")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    cmd->add_option("--workers", o->workers, "Worker threads for service calls")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--log-level", o->log_level, "trace, debug, info, warn or error")
        ->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    // For tests and benchmarks that must see checkpoints and log restarts within seconds.
    cmd->add_option("--checkpoint-pages", o->storage.checkpoint_pages,
                    "SQLite: copy the write-ahead log into the database every N new 4 KiB pages "
                    "(for tests and benchmarks; keep the default in production)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber)
        ->group("Tests and benchmarks");
    cmd->add_option("--log-restart-pages", o->storage.log_restart_pages,
                    "SQLite: restart the write-ahead log once it holds N pages, at least "
                    "--checkpoint-pages (for tests and benchmarks)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber)
        ->group("Tests and benchmarks");
    cmd->add_option("--idle-checkpoint-ms", o->storage.idle_checkpoint_ms,
                    "SQLite: once no write has come for this long, copy the rest of the "
                    "write-ahead log into the database, so the next write restarts the log "
                    "(0: only at --checkpoint-pages)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber)
        ->group("Tests and benchmarks");
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
    cmd->add_option("--smtp", o->smtp,
                    "Deliver member mail (DIR/mail-outbox) through smtp://HOST:PORT or "
                    "smtps://HOST:PORT (implicit TLS); without it the mail waits in the spool")
        ->group("Mail");
    cmd->add_option("--mail-from", o->mail_from, "Sender address of member mail, with --smtp")
        ->group("Mail");
    cmd->add_option("--smtp-user", o->smtp_user,
                    "SMTP AUTH user; the password is read from env KIZUNA_SMTP_PASSWORD and sent "
                    "only inside TLS")
        ->group("Mail");
    cmd->add_flag("--smtp-starttls", o->smtp_starttls,
                  "Require STARTTLS on smtp:// (always required with --smtp-user)")
        ->group("Mail");
    cmd->add_option("--smtp-ca-file", o->smtp_ca_file,
                    "PEM CA bundle for an SMTP server certificate not in the system store")
        ->check(CLI::ExistingFile)
        ->group("Mail");
    cmd->add_option("--mail-rate", o->mail_rate, "Member mail sent per second at most")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 10000.0))
        ->group("Mail");
    cmd->add_option("--mail-retry-base", o->mail_retry_base,
                    "Seconds before a mail the server deferred (4xx) is sent again; doubles per "
                    "attempt up to 10 minutes")
        ->capture_default_str()
        ->check(CLI::Range(1, 600))
        ->group("Mail");
    cmd->add_option("--mail-sender-name", o->mail_sender_name,
                    "The sender's name in offer mail and letters (特定電子メール法)")
        ->capture_default_str()
        ->group("Offer dispatch");
    cmd->add_option("--mail-contact", o->mail_contact,
                    "Where members ask to stop offers, printed in every offer mail and letter "
                    "(default: --mail-from)")
        ->group("Offer dispatch");
    cmd->add_option("--dispatch-rate", o->dispatch_rate, "Offer mail sent per second at most")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 10000.0))
        ->group("Offer dispatch");
    cmd->add_option("--dispatch-retry-base", o->dispatch_retry_base,
                    "Seconds before an offer mail the server deferred (4xx) is sent again; "
                    "doubles per attempt up to 10 minutes, 8 attempts")
        ->capture_default_str()
        ->check(CLI::Range(1, 600))
        ->group("Offer dispatch");
    cmd->add_option("--dispatch-breaker", o->dispatch_breaker,
                    "Consecutive failed offer mails that pause a run")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000))
        ->group("Offer dispatch");
    cmd->add_option("--dispatch-pause", o->dispatch_pause,
                    "Seconds a paused run waits before it sends again")
        ->capture_default_str()
        ->check(CLI::Range(1, 86400))
        ->group("Offer dispatch");
    cmd->add_option("--dispatch-nice", o->dispatch_nice,
                    "Nice value of the thread that selects and sends offer dispatch runs (0: as "
                    "the threads serving requests; higher: a run takes what purchases leave)")
        ->capture_default_str()
        ->check(CLI::Range(0, 19))
        ->group("Offer dispatch");
    cmd->add_option("--dispatch-busy-share", o->dispatch_busy_share,
                    "While the hub writes purchases beside a run, the share of the time the run "
                    "may work (it pauses between steps; 1: never pauses)")
        ->capture_default_str()
        ->check(CLI::Range(0.05, 1.0))
        ->group("Offer dispatch");
    AddExamples(cmd, {"kizuna hub serve --data ./hub-data --listen 127.0.0.1:8080",
                      "kizuna hub serve --data /var/lib/kizuna --listen 0.0.0.0:8443 "
                      "--tls-cert hub.crt --tls-key hub.key --threads 4",
                      "KIZUNA_SMTP_PASSWORD=... kizuna hub serve --data /var/lib/kizuna "
                      "--smtp smtps://mail.example.jp:465 --smtp-user hub --mail-from "
                      "no-reply@example.jp"});
    OnRun(cmd, dispatcher, [o] {
        auto logger = spdlog::stderr_color_mt("kizuna");
        spdlog::set_default_logger(logger);
        spdlog::set_level(spdlog::level::from_str(o->log_level));
        return RunServe(*o);
    });
}

// ---- operator commands ----------------------------------------------------------------------

}  // namespace

// OperatorCommon, AddOperatorFlags and ConnectOperator are shared with settlement_commands.cpp
// (declared in hub_commands.hpp).
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
std::unique_ptr<HubClient> ConnectOperator(const OperatorCommon& common, int& exit_code,
                                           std::chrono::milliseconds timeout) {
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
    return std::make_unique<HubClient>(HubClientOptions{
        .base_url = hub.value, .token = token.value, .ca_cert = ca.value, .timeout = timeout});
}

namespace {

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

// ---- backup, restore, check -----------------------------------------------------------------

std::string DatabaseUrl(const std::filesystem::path& file) {
    return "sqlite://" + std::filesystem::absolute(file).lexically_normal().string();
}

std::filesystem::path DatabaseIn(const std::string& data_dir) {
    return std::filesystem::path(data_dir) / "kizuna.db";
}

std::string Mebibytes(int64_t bytes) {
    if (bytes < (1 << 20)) return GroupThousands((bytes + 512) >> 10) + " KiB";
    return GroupThousands((bytes + (1 << 19)) >> 20) + " MiB";
}

// Prints to stderr, every `interval`, what `report` says, until destroyed: progress of work
// that runs elsewhere (the hub's backup, seen through the size of its .partial file).
class ProgressTicker {
  public:
    ProgressTicker(std::function<std::string()> report, std::chrono::seconds interval)
        : thread_([this, report = std::move(report), interval] {
              std::unique_lock lock(mutex_);
              while (!stop_.wait_for(lock, interval, [this] { return stopping_; })) {
                  if (std::string line = report(); !line.empty()) std::cerr << line << std::endl;
              }
          }) {}
    ~ProgressTicker() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        stop_.notify_all();
        thread_.join();
    }

  private:
    std::mutex mutex_;
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread thread_;
};

struct BackupOptions {
    OperatorCommon common;
    std::string out;
};

int PrintBackupDone(const BackupOptions& o, const nlohmann::json& done) {
    if (o.common.json) {
        PrintJson(std::cout, done);
        return kExitOk;
    }
    std::cout << "Backup written.\n";
    PrintSummary(std::cout, {{"file", JsonString(done, "path")},
                             {"size", Mebibytes(JsonInt(done, "bytes"))},
                             {"schema version", std::to_string(JsonInt(done, "schema_version"))},
                             {"taken", JsonString(done, "via")}});
    std::cout << "\nCheck it with:  kizuna hub check --file " << JsonString(done, "path")
              << "\nKeep operator.token, card_signing.key and dispatch.key of the data directory "
                 "with it.\n";
    return kExitOk;
}

int RunBackup(const BackupOptions& o) {
    const std::filesystem::path out = std::filesystem::absolute(o.out).lexically_normal();
    std::error_code error;
    if (std::filesystem::symlink_status(out, error).type() !=
        std::filesystem::file_type::not_found) {
        return ReportError(core::MakeError(core::ErrorCode::kAlreadyExists,
                                           out.string() + " exists; name a new file", "--out"),
                           kExitUsage, o.common.json);
    }
    const auto started = std::chrono::steady_clock::now();
    auto seconds = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    };
    int64_t database_bytes = 0;
    if (!o.common.data_dir.empty()) {
        const std::filesystem::path db = DatabaseIn(o.common.data_dir);
        if (!std::filesystem::is_regular_file(db, error)) {
            return ReportError(
                core::MakeError(core::ErrorCode::kInvalidArgument,
                                "no hub database in " + o.common.data_dir + " (no kizuna.db)",
                                "--data"),
                kExitUsage, o.common.json);
        }
        database_bytes = static_cast<int64_t>(std::filesystem::file_size(db, error));
        auto in_use = storage::DatabaseInUse(DatabaseUrl(db));
        if (!in_use) return ReportError(in_use.error(), kExitUnreachable, o.common.json);
        if (!*in_use) {
            // No hub: the file is read directly, inside one read transaction.
            if (!o.common.json) {
                std::cerr << "No hub is running on " << o.common.data_dir
                          << ": copying its database directly.\n";
            }
            auto last = std::chrono::steady_clock::now();
            auto progress = [&](int64_t copied, int64_t total) {
                if (o.common.json ||
                    std::chrono::steady_clock::now() - last < std::chrono::seconds(1)) {
                    return;
                }
                last = std::chrono::steady_clock::now();
                std::cerr << "  " << GroupThousands(copied) << " of " << GroupThousands(total)
                          << " pages copied" << std::endl;
            };
            auto info = storage::BackupDatabase(DatabaseUrl(db), out.string(), progress);
            if (!info) {
                return ReportError(info.error(),
                                   info.error().code == core::ErrorCode::kUnavailable
                                       ? kExitUnreachable
                                       : kExitUsage,
                                   o.common.json);
            }
            return PrintBackupDone(o, {{"path", info->path},
                                       {"bytes", info->bytes},
                                       {"schema_version", info->schema_version},
                                       {"seconds", seconds()},
                                       {"via", "file (no hub running)"}});
        }
    }
    // A hub holds the database (or no data directory was named): it makes the copy itself.
    int code = kExitOk;
    auto client = ConnectOperator(o.common, code, std::chrono::hours(24));
    if (!client) return code;
    HubAnswer answer;
    {
        const std::string partial = out.string() + ".partial";
        std::unique_ptr<ProgressTicker> ticker;
        if (!o.common.json) {
            std::cerr << "Asking the hub at " << client->base_url() << " for a backup..."
                      << std::endl;
            ticker = std::make_unique<ProgressTicker>(
                [partial, database_bytes] {
                    std::error_code ignored;
                    const auto written = std::filesystem::file_size(partial, ignored);
                    if (ignored) return std::string();
                    std::string line = "  " + Mebibytes(static_cast<int64_t>(written)) + " written";
                    if (database_bytes > 0) {
                        line += " (the database file is " + Mebibytes(database_bytes) + ")";
                    }
                    return line;
                },
                std::chrono::seconds(2));
        }
        answer = client->Post("/v1/admin/backup", {{"path", out.string()}});
    }
    if (!answer.ok) {
        if (answer.failure.kind == FailureKind::kUnreachable && !o.common.data_dir.empty()) {
            answer.failure.message += "; a hub holds " + o.common.data_dir +
                                      " but did not answer there: pass --hub URL (the address "
                                      "it listens on)";
        }
        return ReportFailure(answer.failure, o.common.json);
    }
    json done = answer.body;
    done["via"] = "the running hub at " + client->base_url();
    return PrintBackupDone(o, done);
}

void AddBackup(CLI::App& hub, Dispatcher& dispatcher) {
    auto o = std::make_shared<BackupOptions>();
    auto* cmd = hub.add_subcommand(
        "backup",
        "Write a consistent copy of the hub's database to a new file, while the hub serves");
    cmd->add_option("--out", o->out,
                    "The backup file to write (must not exist; on the hub's machine)")
        ->required();
    AddOperatorFlags(cmd, o->common);
    const char* details =
        "With a hub running on --data DIR, the hub writes the copy itself (POST\n"
        "/v1/admin/backup, with the operator token from DIR), using SQLite's online backup in\n"
        "one read transaction: purchases keep flowing, and the copy holds every write\n"
        "acknowledged before the command started. With no hub running there, the file is\n"
        "copied directly. The copy goes to FILE.partial, is synced, then renamed to FILE\n"
        "(mode 0600). Back up operator.token and card_signing.key of DIR once too: they never\n"
        "change.\n";
    AddExamples(cmd, {"kizuna hub backup --data /var/lib/kizuna --out /backup/kizuna-1207.db",
                      "kizuna hub backup --data ./hub-data --hub http://127.0.0.1:9090 --out "
                      "/tmp/hub.db"});
    cmd->footer("\n" + std::string(details) + cmd->get_footer());
    OnRun(cmd, dispatcher, [o] { return RunBackup(*o); });
}

struct CheckOptions {
    std::string data_dir, file;
    bool json = false;
};

json CheckToJson(const storage::DatabaseCheck& check) {
    json counts = json::object();
    for (const auto& [name, value] : check.counts) counts[name] = value;
    json faults = json::array();
    for (const auto& fault : check.faults) {
        faults.push_back({{"kind", fault.kind}, {"detail", fault.detail}});
    }
    return {{"path", check.path},
            {"clean", check.faults.empty()},
            {"schema_version", check.schema_version},
            {"supported_schema_version", check.supported_schema_version},
            {"ledger_checked", check.ledger_checked},
            {"counts", counts},
            {"faults", faults}};
}

void PrintCheck(const storage::DatabaseCheck& check) {
    std::cout << "Checked " << check.path << " (schema version " << check.schema_version
              << "; this Kizuna knows up to " << check.supported_schema_version << ")\n";
    auto verdict = [&](std::string_view kind, bool ran, std::string_view what) {
        std::size_t found = 0;
        for (const auto& fault : check.faults) found += fault.kind == kind ? 1 : 0;
        const std::string result = !ran        ? "not run"
                                   : found > 0 ? std::to_string(found) + " FAULT(S)"
                                               : "ok";
        std::cout << "  " << std::left << std::setw(13) << kind << std::setw(13) << result << what
                  << '\n';
    };
    verdict("integrity", true, "PRAGMA integrity_check: the file's pages and indexes");
    bool schema_read = check.schema_version > 0;
    for (const auto& fault : check.faults) schema_read = schema_read || fault.kind == "schema";
    verdict("schema", schema_read, "a Kizuna schema this binary can read");
    verdict("foreign_key", check.ledger_checked, "PRAGMA foreign_key_check: no dangling reference");
    verdict("ledger", check.ledger_checked,
            "balance = sum of entries = points left in lots, >= 0; lots within 0..earned");
    verdict("record", check.ledger_checked,
            "each purchase, redemption and refund has its entry (and lot); each entry its record");
    if (!check.counts.empty()) {
        std::cout << "  rows:";
        const char* separator = " ";
        for (const auto& [name, value] : check.counts) {
            std::cout << separator << name << ' ' << GroupThousands(value);
            separator = ", ";
        }
        std::cout << '\n';
    }
    for (const auto& fault : check.faults) {
        std::cout << "FAULT " << fault.kind << ": " << fault.detail << '\n';
    }
    std::cout << (check.faults.empty() ? "Result: clean.\n"
                                       : "Result: " + std::to_string(check.faults.size()) +
                                             " fault(s) listed above.\n");
}

int RunCheck(const CheckOptions& o) {
    if (o.data_dir.empty() == o.file.empty()) {
        return ReportError(core::MakeError(core::ErrorCode::kInvalidArgument,
                                           "name the database: --data DIR or --file FILE"),
                           kExitUsage, o.json);
    }
    const std::filesystem::path db =
        o.file.empty() ? DatabaseIn(o.data_dir) : std::filesystem::path(o.file);
    auto in_use = storage::DatabaseInUse(DatabaseUrl(db));
    if (in_use && *in_use) {
        const std::string advice =
            o.file.empty() ? "a hub is running on " + o.data_dir +
                                 " and holds its database. Back it up through the hub and "
                                 "check the backup:\n  kizuna hub backup --data " +
                                 o.data_dir +
                                 " --out /tmp/kizuna-check.db\n  kizuna hub check --file "
                                 "/tmp/kizuna-check.db"
                           : "another process holds " + o.file +
                                 " (a hub running on it?); check a backup of it instead";
        return ReportError(core::MakeError(core::ErrorCode::kUnavailable, advice), kExitUnreachable,
                           o.json);
    }
    auto check = storage::CheckDatabase(DatabaseUrl(db));
    if (!check) {
        return ReportError(
            check.error(),
            check.error().code == core::ErrorCode::kInvalidArgument ? kExitUsage : kExitUnreachable,
            o.json);
    }
    if (o.json) {
        PrintJson(std::cout, CheckToJson(*check));
    } else {
        PrintCheck(*check);
    }
    return check->faults.empty() ? kExitOk : kExitRefused;
}

void AddCheck(CLI::App& hub, Dispatcher& dispatcher) {
    auto o = std::make_shared<CheckOptions>();
    auto* cmd = hub.add_subcommand(
        "check", "Check a hub database: integrity, foreign keys and every ledger invariant");
    cmd->add_option("--data", o->data_dir, "The data directory of a stopped hub (its kizuna.db)");
    cmd->add_option("--file", o->file, "A database file instead, e.g. a backup");
    cmd->add_flag("--json", o->json, "Print the report as one JSON document");
    const char* details =
        "Exit status: 0 clean, 1 faults found (each is listed), 2 usage error, 3 the database\n"
        "cannot be opened (a running hub holds it: back it up and check the backup). Reads\n"
        "only: a write-ahead log left by a crash is read, not merged.\n";
    AddExamples(cmd, {"kizuna hub check --data /var/lib/kizuna",
                      "kizuna hub check --file /backup/kizuna-1207.db --json"});
    cmd->footer("\n" + std::string(details) + cmd->get_footer());
    OnRun(cmd, dispatcher, [o] { return RunCheck(*o); });
}

struct RestoreOptions {
    std::string data_dir, from;
    bool json = false;
};

int RunRestore(const RestoreOptions& o) {
    const std::filesystem::path db = DatabaseIn(o.data_dir);
    auto in_use = storage::DatabaseInUse(DatabaseUrl(db));
    if (!in_use) return ReportError(in_use.error(), kExitUnreachable, o.json);
    if (*in_use) {
        return ReportError(core::MakeError(core::ErrorCode::kUnavailable,
                                           "a hub is running on " + o.data_dir +
                                               "; stop it (Ctrl-C or SIGTERM) before restoring"),
                           kExitRefused, o.json);
    }
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
    const std::string from = std::filesystem::absolute(o.from).lexically_normal().string();
    auto restored = storage::RestoreDatabase(DatabaseUrl(db), from, stamp);
    if (!restored) {
        const core::ErrorCode code = restored.error().code;
        return ReportError(restored.error(),
                           code == core::ErrorCode::kInvalidArgument ? kExitUsage
                           : code == core::ErrorCode::kRuleViolation ? kExitRefused
                                                                     : kExitUnreachable,
                           o.json);
    }
    std::vector<std::string> missing;
    for (const char* secret : {"operator.token", "card_signing.key", "dispatch.key"}) {
        std::error_code error;
        if (!std::filesystem::exists(std::filesystem::path(o.data_dir) / secret, error)) {
            missing.emplace_back(secret);
        }
    }
    if (o.json) {
        PrintJson(std::cout, {{"restored", db.string()},
                              {"from", from},
                              {"previous", restored->replaced_to},
                              {"missing", missing},
                              {"check", CheckToJson(restored->check)}});
        return kExitOk;
    }
    std::cout << "Restored " << from << " into " << db.string() << ".\n";
    PrintCheck(restored->check);
    if (!restored->replaced_to.empty()) {
        std::cout << "The previous database is kept as " << restored->replaced_to << ".\n";
    }
    for (const auto& secret : missing) {
        std::cout << "Warning: " << o.data_dir << " has no " << secret
                  << ": the hub makes a new one at start"
                  << (secret == "card_signing.key"
                          ? ", and cards signed with the old key will no longer verify offline"
                      : secret == "dispatch.key"
                          ? ", and the unsubscribe links in offer mail already sent stop working"
                          : ", and scripts using the old token must be given the new one")
                  << ". Restore it from your copy of the data directory first.\n";
    }
    std::cout << "Start the hub with:  kizuna hub serve --data " << o.data_dir << "\n";
    return kExitOk;
}

void AddRestore(CLI::App& hub, Dispatcher& dispatcher) {
    auto o = std::make_shared<RestoreOptions>();
    auto* cmd =
        hub.add_subcommand("restore", "Replace a stopped hub's database with a checked backup");
    cmd->add_option("--data", o->data_dir, "The hub's data directory (no hub may be running)")
        ->required();
    cmd->add_option("--from", o->from, "The backup file (from kizuna hub backup)")->required();
    cmd->add_flag("--json", o->json, "Print the report as one JSON document");
    const char* details =
        "Refused while a hub runs on DIR. The backup is copied into DIR and checked first\n"
        "(integrity, foreign keys, every ledger invariant; a schema newer than this Kizuna is\n"
        "refused, an older one is migrated): any fault and nothing is replaced. The previous\n"
        "kizuna.db (and its -wal) is kept as kizuna.db.before-restore-<UTC time>. Exit\n"
        "status: 0 restored, 1 refused (a hub is running, or the backup has faults), 2 usage\n"
        "error, 3 I/O error.\n";
    AddExamples(cmd, {"kizuna hub restore --data /var/lib/kizuna --from /backup/kizuna-1207.db"});
    cmd->footer("\n" + std::string(details) + cmd->get_footer());
    OnRun(cmd, dispatcher, [o] { return RunRestore(*o); });
}

}  // namespace

void AddHubCommands(CLI::App& app, Dispatcher& dispatcher) {
    auto* hub = app.add_subcommand("hub", "The hub server and its operator commands");
    hub->require_subcommand(1);
    AddServe(*hub, dispatcher);
    AddPrograms(*hub, dispatcher);
    AddStores(*hub, dispatcher);
    AddBackup(*hub, dispatcher);
    AddRestore(*hub, dispatcher);
    AddCheck(*hub, dispatcher);
    AddSettlementCommands(*hub, dispatcher);
    AddLoyaltyCommands(*hub, dispatcher);  // campaign, members merge (loyalty_commands.cpp)
    AddNodeCommands(*hub, dispatcher);
    AddDispatchCommands(*hub, dispatcher);
}

}  // namespace kizuna::cli
