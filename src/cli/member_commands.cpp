#include "cli/member_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "cli/card_support.hpp"
#include "cli/client_config.hpp"
#include "cli/enrollment_form.hpp"
#include "cli/output.hpp"
#include "cli/purchase_records.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

struct MemberCommon {
    std::string hub, session_path, ca_cert;
    bool json = false;
};

void AddCommonFlags(CLI::App* command, MemberCommon& common) {
    command->add_option("--hub", common.hub,
                        "Hub URL (env KIZUNA_HUB; default: the session's, or "
                        "http://127.0.0.1:8080)");
    command->add_option("--session", common.session_path,
                        "Session file (default $XDG_CONFIG_HOME/kizuna/member.json)");
    AddCaCertFlag(command, common.ca_cert);
    AddJsonFlag(command, common.json);
}

core::Result<std::filesystem::path> SessionPath(const MemberCommon& common) {
    if (!common.session_path.empty()) return std::filesystem::path(common.session_path);
    KZ_ASSIGN_OR_RETURN(auto dir, ConfigDirectory(ProcessEnvironment()));
    return dir / "member.json";
}

std::unique_ptr<HubClient> MakeClient(const MemberCommon& common, const std::string& session_hub,
                                      const std::string& session_ca, const std::string& token) {
    const EnvLookup env = ProcessEnvironment();
    const Setting hub =
        ResolveSetting(common.hub, "--hub", env, kEnvHub, session_hub, "session", kDefaultHubUrl);
    const Setting ca =
        ResolveSetting(common.ca_cert, "--cacert", env, kEnvCaCert, session_ca, "session", "");
    return std::make_unique<HubClient>(
        HubClientOptions{.base_url = hub.value, .token = token, .ca_cert = ca.value});
}

// The logged-in member's session and a client carrying its token.
struct LoggedIn {
    MemberSession session;
    std::unique_ptr<HubClient> client;
    int exit_code = kExitOk;
};

LoggedIn RequireSession(const MemberCommon& common) {
    LoggedIn result;
    auto path = SessionPath(common);
    if (!path) {
        result.exit_code = ReportError(path.error(), kExitUsage, common.json);
        return result;
    }
    auto session = LoadMemberSession(*path);
    if (!session) {
        if (session.error().code == core::ErrorCode::kNotFound) {
            result.exit_code =
                ReportError(core::MakeError(core::ErrorCode::kUnauthenticated,
                                            "not logged in: run `kizuna member login --login ID`"),
                            kExitUsage, common.json);
        } else {
            result.exit_code = ReportError(session.error(), kExitUsage, common.json);
        }
        return result;
    }
    result.session = std::move(session).value();
    result.client =
        MakeClient(common, result.session.hub_url, result.session.ca_cert, result.session.token);
    return result;
}

// Adds a log-in hint to an authentication failure (the session expired or was revoked).
int ReportMemberFailure(const HubFailure& failure, bool as_json) {
    const int code = ReportFailure(failure, as_json);
    if (failure.kind == FailureKind::kRefused && failure.status == 401 &&
        failure.code == "unauthenticated") {
        std::cerr << "The session has ended: log in again with `kizuna member login`.\n";
    }
    return code;
}

void AddEnroll(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        EnrollmentForm form;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand("enroll", "Become a member and get a card (self-service)");
    AddEnrollmentFlags(cmd, o->form);
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member enroll --name '佐藤 花子' --kana 'サトウ ハナコ' "
                      "--email hanako@example.jp --email-offers"});
    OnRun(cmd, dispatcher, [o] {
        auto client = MakeClient(o->common, "", "", "");
        return RunEnrollment(*client, o->form, o->common.json);
    });
}

void AddConfirm(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string token;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "confirm", "Finish a self-service enrollment with the token from the mail");
    cmd->add_option("--token", o->token, "The confirmation token the mail gave")->required();
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member confirm --token TOKEN_FROM_THE_MAIL"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto client = MakeClient(o->common, "", "", "");
        const HubAnswer answer =
            client->Post("/v1/members/confirmations", nlohmann::json{{"token", o->token}});
        return PrintAnswer(answer, js, [](const json& reply) {
            std::cout << "Member enrolled.\n";
            PrintIssuedCard(JsonString(reply, "member_id"),
                            reply.value("card", nlohmann::json::object()));
        });
    });
}

void AddLogin(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string login;
        PasswordOptions password;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand("login", "Log in and save the session for later commands");
    cmd->add_option("--login", o->login, "Member id, card number or email")->required();
    AddPasswordFlags(cmd, o->password);
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member login --login 1234567890",
                      "printf 'secret-pass\\n' | kizuna member login --login hanako@example.jp "
                      "--password-stdin"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto path = SessionPath(o->common);
        if (!path) return ReportError(path.error(), kExitUsage, js);
        auto password = ObtainPassword(o->password, "Password", false);
        if (!password) return ReportError(password.error(), kExitUsage, js);
        auto client = MakeClient(o->common, "", "", "");
        auto answer = client->Post("/v1/sessions", {{"login", o->login}, {"password", *password}});
        if (!answer.ok) return ReportFailure(answer.failure, js);
        MemberSession session{
            client->base_url(), JsonString(answer.body, "token"),
            JsonString(answer.body, "member_id"), JsonString(answer.body, "expires_at"),
            o->common.ca_cert.empty() ? "" : std::filesystem::absolute(o->common.ca_cert).string()};
        auto saved = SaveMemberSession(*path, session);
        if (!saved) return ReportError(saved.error(), kExitUnreachable, js);
        if (js) {
            // The token stays in the session file; scripts get everything else.
            json out = answer.body;
            out.erase("token");
            out["session_file"] = path->string();
            PrintJson(std::cout, out);
        } else {
            std::cout << "Logged in.\n";
            PrintSummary(std::cout, {{"member id", session.member_id},
                                     {"session until", LocalTime(session.expires_at)},
                                     {"session file", path->string()}});
        }
        return kExitOk;
    });
}

void AddLogout(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        bool everywhere = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "logout", "End the session on the hub and forget the saved session file");
    cmd->add_flag("--everywhere", o->everywhere,
                  "End every session of this member (other devices too)");
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member logout", "kizuna member logout --everywhere"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto path = SessionPath(o->common);
        if (!path) return ReportError(path.error(), kExitUsage, js);
        int ended = 0;
        bool on_hub = false;
        if (auto session = LoadMemberSession(*path)) {
            auto client = MakeClient(o->common, session->hub_url, session->ca_cert, session->token);
            auto answer = client->Delete(o->everywhere ? "/v1/sessions" : "/v1/sessions/current");
            if (answer.ok) {
                on_hub = true;
                ended = static_cast<int>(JsonInt(answer.body, "sessions_ended"));
            } else if (!(answer.failure.kind == FailureKind::kRefused &&
                         answer.failure.status == 401)) {
                // The hub could not be told: keep the file, so that the log-out can be retried.
                return ReportMemberFailure(answer.failure, js);
            }
        }
        const bool existed = ::unlink(path->c_str()) == 0;
        if (!existed && errno != ENOENT) {
            return ReportError(
                core::MakeError(core::ErrorCode::kUnavailable, "cannot remove " + path->string()),
                kExitUnreachable, js);
        }
        if (js) {
            PrintJson(std::cout, {{"logged_out", existed}, {"sessions_ended", ended}});
        } else if (!existed) {
            std::cout << "Not logged in.\n";
        } else {
            std::cout << (on_hub ? "Logged out; the hub ended " + std::to_string(ended) +
                                       " session(s).\n"
                                 : "Logged out (the session had already ended on the hub).\n");
        }
        return kExitOk;
    });
}

void AddReissue(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        PasswordOptions password;
        std::string medium;
        std::string card_reader;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "reissue", "Get a new card after a password check; the old card stops working");
    AddCardReaderFlag(cmd, o->card_reader);
    cmd->add_option("--medium", o->medium, "Card medium: chip, qr or virtual")
        ->check(CLI::IsMember({"chip", "qr", "virtual"}));
    AddPasswordFlags(cmd, o->password);
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member reissue", "kizuna member reissue --medium qr",
                      "kizuna member reissue --card-reader pcsc   # writes a blank card"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto in = RequireSession(o->common);
        if (!in.client) return in.exit_code;
        // The user terminal's optional card writer (seed [0035]).
        const std::string reader = CardReaderSpec(o->card_reader);
        std::string medium = o->medium;
        if (int code = PrepareCardIssue(reader, medium, js); code != kExitOk) return code;
        auto password = ObtainPassword(o->password, "Password", false);
        if (!password) return ReportError(password.error(), kExitUsage, js);
        json body = {{"password", *password}};
        if (!medium.empty()) body["medium"] = medium;
        auto answer = in.client->Post(
            "/v1/members/" + HubClient::Escape(in.session.member_id) + "/cards", body);
        if (!answer.ok) return ReportMemberFailure(answer.failure, js);
        const json card = answer.body.value("card", json::object());
        if (int code = FinishCardIssue(reader, in.session.member_id, card, js); code != kExitOk) {
            return code;
        }
        return PrintAnswer(answer, js, [&](const json& reply) {
            std::cout << "New card issued; the previous card no longer works.\n";
            PrintIssuedCard(in.session.member_id, reply.value("card", json::object()));
            if (!reader.empty()) std::cout << "Card written in " << reader << ".\n";
        });
    });
}

void PrintUsage(const json& usage, const std::string& out) {
    Table balances({"program", "points"});
    balances.AlignRight(1);
    for (const auto& b : usage.value("balances", json::array())) {
        balances.AddRow({JsonString(b, "program_name", JsonString(b, "program_id")),
                         GroupThousands(JsonInt(b, "points"))});
    }
    balances.Print(std::cout, "No points yet.\n");

    const json purchases = usage.value("purchases", json::array());
    if (!purchases.empty()) {
        std::cout << "\nRecent purchases:\n";
        PrintPurchaseRecords(std::cout, purchases, 10);
    }

    const json entries = usage.value("entries", json::array());
    if (!entries.empty()) {
        std::cout << "\nRecent points history:\n";
        Table table({"when", "points", "kind", "why"});
        table.AlignRight(1);
        std::size_t shown = 0;
        for (const auto& e : entries) {
            if (++shown > 10) break;
            const int64_t delta = JsonInt(e, "delta");
            table.AddRow({LocalTime(JsonString(e, "occurred_at")),
                          (delta > 0 ? "+" : "") + GroupThousands(delta), JsonString(e, "kind"),
                          JsonString(e, "note")});
        }
        table.Print(std::cout);
    }
    std::cout << "\npurchases: " << purchases.size() << ", points entries: " << entries.size()
              << "\n";
    if (!out.empty()) std::cout << "usage record file: " << out << "\n";
}

// The hub answers usage a page at a time (at most 100 purchases and entries, and a bounded
// number of purchase lines); the pages are followed and joined into one answer of the same
// shape, until the hub has no more or `limit` purchases and entries each are in hand (0: all).
HubAnswer FetchUsage(HubClient& client, const std::string& member_id, int limit) {
    constexpr int kPage = 100;
    const std::string path = "/v1/members/" + HubClient::Escape(member_id) + "/usage?limit=";
    HubAnswer joined;
    std::string cursor;
    while (true) {
        const int page = limit > 0 ? std::min(kPage, limit) : kPage;
        HubAnswer answer =
            client.Get(path + std::to_string(page) +
                       (cursor.empty() ? "" : "&cursor=" + HubClient::Escape(cursor)));
        if (!answer.ok) return answer;
        if (!joined.ok) {
            joined = answer;
            joined.body.erase("next_cursor");
        } else {
            for (const char* list : {"purchases", "entries"}) {
                if (!answer.body.contains(list)) continue;
                for (auto& item : answer.body[list]) joined.body[list].push_back(std::move(item));
            }
        }
        cursor = answer.body.value("next_cursor", std::string());
        auto full = [&](const char* list) {
            return limit > 0 && joined.body.contains(list) &&
                   joined.body[list].size() >= static_cast<std::size_t>(limit);
        };
        if (cursor.empty() || (full("purchases") && full("entries"))) break;
    }
    if (limit > 0) {
        for (const char* list : {"purchases", "entries"}) {
            json& items = joined.body[list];
            if (items.size() > static_cast<std::size_t>(limit)) {
                items.erase(items.begin() + limit, items.end());
            }
        }
    }
    return joined;
}

void AddUsage(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string out;
        int limit = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "usage", "Balances and history, saved to a usage record file (seed (3))");
    cmd->add_option("--out", o->out, "Usage record file to write (JSON)");
    cmd->add_option("--limit", o->limit,
                    "Most recent purchases and entries to fetch (default: the whole history)")
        ->check(CLI::PositiveNumber);
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member usage --out usage.json", "kizuna member usage --json"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto in = RequireSession(o->common);
        if (!in.client) return in.exit_code;
        auto answer = FetchUsage(*in.client, in.session.member_id, o->limit);
        if (!answer.ok) return ReportMemberFailure(answer.failure, js);
        if (!o->out.empty()) {
            const int written = WriteRecordFile(o->out, answer.body, js);
            if (written != kExitOk) return written;
        }
        return PrintAnswer(answer, js, [&](const json& reply) { PrintUsage(reply, o->out); });
    });
}

void AddOffers(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string out;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "offers",
        "Current offers of every store, saved to a service information record file "
        "(seed (4))");
    cmd->add_option("--out", o->out, "Service information record file to write (JSON)");
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member offers --out offers.json"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto in = RequireSession(o->common);
        if (!in.client) return in.exit_code;
        auto answer = in.client->Get("/v1/offers");
        if (!answer.ok) return ReportMemberFailure(answer.failure, js);
        if (!o->out.empty()) {
            const int written = WriteRecordFile(o->out, answer.body, js);
            if (written != kExitOk) return written;
        }
        return PrintAnswer(answer, js, [&](const json& reply) {
            const json offers = reply.value("offers", json::array());
            for (const auto& offer : offers) {
                std::cout << "■ " << JsonString(offer, "title") << "  ("
                          << JsonString(offer, "store_name", JsonString(offer, "store_id"))
                          << ", until " << LocalTime(JsonString(offer, "valid_to")) << ")\n";
                const std::string body = JsonString(offer, "body");
                if (!body.empty()) std::cout << "  " << body << "\n";
            }
            std::cout << "offers: " << offers.size() << "\n";
            if (!o->out.empty()) std::cout << "service information record file: " << o->out << "\n";
        });
    });
}

// "on" / "off" for --email-offers and --postal-offers.
std::optional<bool> OnOff(const std::string& text) {
    if (text.empty()) return std::nullopt;
    return text == "on";
}

void PrintSelf(const json& self) {
    const json profile = self.value("profile", json::object());
    const json consents = self.value("consents", json::object());
    auto yes = [](bool on) { return std::string(on ? "on" : "off"); };
    std::vector<std::pair<std::string, std::string>> lines = {
        {"member id", JsonString(self, "member_id")}};
    for (const char* field : {"name", "name_kana", "postal_code", "address", "phone", "birth_date",
                              "occupation", "email"}) {
        const std::string value = JsonString(profile, field);
        if (!value.empty()) lines.emplace_back(field, value);
    }
    if (!JsonString(profile, "email").empty()) {
        lines.emplace_back("email confirmed",
                           self.value("email_confirmed", false)
                               ? "yes"
                               : "no (follow the link mailed to it; until then no offers)");
    }
    lines.emplace_back("email offers", yes(consents.value("email_offers", false)));
    lines.emplace_back("postal offers", yes(consents.value("postal_offers", false)));
    lines.emplace_back("share profile", yes(consents.value("share_profile", false)));
    if (self.contains("card")) {
        lines.emplace_back("card", JsonString(self["card"], "card_number"));
    }
    PrintSummary(std::cout, lines);
}

// PATCHes the member with `body` (when not empty), then shows the record.
int PatchAndShow(const MemberCommon& common, const json& body) {
    const bool js = common.json;
    auto in = RequireSession(common);
    if (!in.client) return in.exit_code;
    const std::string path = "/v1/members/" + HubClient::Escape(in.session.member_id);
    json changed = json::object();
    if (!body.empty()) {
        auto answer = in.client->Patch(path, body);
        if (!answer.ok) return ReportMemberFailure(answer.failure, js);
        changed = answer.body;
    }
    auto answer = in.client->Get(path);
    if (!answer.ok) return ReportMemberFailure(answer.failure, js);
    if (js) {
        json out = answer.body;
        if (!changed.empty()) out["update"] = changed;
        PrintJson(std::cout, out);
        return kExitOk;
    }
    if (changed.contains("email_pending")) {
        std::cout << "The new email " << JsonString(changed, "email_pending")
                  << " is used once confirmed: follow the link mailed to it.\n";
    }
    PrintSelf(answer.body);
    return kExitOk;
}

void AddConsents(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string email_offers, postal_offers, share_profile;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand("consents", "Show or change what you consented to");
    cmd->add_option("--email-offers", o->email_offers, "Offers by email: on or off")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--postal-offers", o->postal_offers, "Offers by post: on or off")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--share-profile", o->share_profile, "Stores may see your profile: on or off")
        ->check(CLI::IsMember({"on", "off"}));
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member consents", "kizuna member consents --email-offers off"});
    OnRun(cmd, dispatcher, [o] {
        json consents = json::object();
        if (auto v = OnOff(o->email_offers)) consents["email_offers"] = *v;
        if (auto v = OnOff(o->postal_offers)) consents["postal_offers"] = *v;
        if (auto v = OnOff(o->share_profile)) consents["share_profile"] = *v;
        return PatchAndShow(o->common,
                            consents.empty() ? json::object() : json{{"consents", consents}});
    });
}

void AddProfile(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::map<std::string, std::string> fields;
        bool shared_phone = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "profile", "Show or change your profile (a new email is used once confirmed)");
    for (const auto& [flag, field] :
         std::vector<std::pair<std::string, std::string>>{{"--name", "name"},
                                                          {"--kana", "name_kana"},
                                                          {"--postal-code", "postal_code"},
                                                          {"--address", "address"},
                                                          {"--phone", "phone"},
                                                          {"--birth-date", "birth_date"},
                                                          {"--occupation", "occupation"},
                                                          {"--email", "email"}}) {
        const std::string key = field;
        cmd->add_option_function<std::string>(
            flag, [o, key](const std::string& value) { o->fields[key] = value; }, "New " + field);
    }
    cmd->add_flag("--shared-phone", o->shared_phone,
                  "The household shares the new phone with a member already enrolled");
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member profile", "kizuna member profile --address '東京都渋谷区…'",
                      "kizuna member profile --email new@example.jp"});
    OnRun(cmd, dispatcher, [o] {
        json body = json::object();
        if (!o->fields.empty()) body["profile"] = o->fields;
        if (o->shared_phone) body["shared_phone"] = true;
        return PatchAndShow(o->common, body);
    });
}

void AddConfirmEmail(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string token;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand("confirm-email",
                                      "Confirm your email address with the token from the mail");
    cmd->add_option("--token", o->token, "The token the mail gave")->required();
    AddCommonFlags(cmd, o->common);
    OnRun(cmd, dispatcher, [o] {
        auto client = MakeClient(o->common, "", "", "");
        auto answer = client->Post("/v1/email-confirmations", json{{"token", o->token}});
        return PrintAnswer(answer, o->common.json, [](const json& reply) {
            std::cout << "Email confirmed for member " << JsonString(reply, "member_id") << ".\n";
        });
    });
}

void AddForgotPassword(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string email;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand("forgot-password",
                                      "Get a password reset link by mail (confirmed email only)");
    cmd->add_option("--email", o->email, "Your confirmed email address")->required();
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member forgot-password --email hanako@example.jp"});
    OnRun(cmd, dispatcher, [o] {
        auto client = MakeClient(o->common, "", "", "");
        auto answer = client->Post("/v1/password-resets", json{{"email", o->email}});
        return PrintAnswer(answer, o->common.json, [](const json& reply) {
            std::cout << JsonString(reply, "message") << ".\n";
        });
    });
}

void AddResetPassword(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        std::string token;
        PasswordOptions password;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand("reset-password",
                                      "Set a new password with the token of a reset mail");
    cmd->add_option("--token", o->token, "The token the reset mail gave")->required();
    AddPasswordFlags(cmd, o->password);
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member reset-password --token kzr_…"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto password = ObtainPassword(o->password, "New password", true);
        if (!password) return ReportError(password.error(), kExitUsage, js);
        auto client = MakeClient(o->common, "", "", "");
        auto answer = client->Post("/v1/password-resets/complete",
                                   json{{"token", o->token}, {"password", *password}});
        return PrintAnswer(answer, js, [](const json& reply) {
            std::cout << "Password changed for member " << JsonString(reply, "member_id") << "; "
                      << JsonString(reply, "message") << ".\n";
        });
    });
}

void AddLeave(CLI::App& member, Dispatcher& dispatcher) {
    struct Options {
        MemberCommon common;
        PasswordOptions password;
        bool yes = false;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = member.add_subcommand(
        "leave", "Leave the program: your profile is erased, cards revoked, points forfeited");
    cmd->add_flag("--yes", o->yes, "Confirm that you want to leave (this cannot be undone)")
        ->required();
    AddPasswordFlags(cmd, o->password);
    AddCommonFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna member leave --yes"});
    OnRun(cmd, dispatcher, [o] {
        const bool js = o->common.json;
        auto in = RequireSession(o->common);
        if (!in.client) return in.exit_code;
        auto password = ObtainPassword(o->password, "Password", false);
        if (!password) return ReportError(password.error(), kExitUsage, js);
        auto answer = in.client->Delete("/v1/members/" + HubClient::Escape(in.session.member_id),
                                        json{{"password", *password}});
        if (!answer.ok) return ReportMemberFailure(answer.failure, js);
        if (auto path = SessionPath(o->common)) ::unlink(path->c_str());
        return PrintAnswer(answer, js, [](const json& reply) {
            std::cout << "You have left the program. Member " << JsonString(reply, "member_id")
                      << ": profile erased, " << JsonInt(reply, "cards_revoked")
                      << " card(s) revoked.\n";
            for (const auto& b : reply.value("points_forfeited", json::array())) {
                std::cout << "  forfeited " << GroupThousands(JsonInt(b, "points")) << " points in "
                          << JsonString(b, "program_id") << "\n";
            }
        });
    });
}

}  // namespace

void AddMemberCommands(CLI::App& app, Dispatcher& dispatcher) {
    auto* member =
        app.add_subcommand("member", "User terminal: enrollment, log-in, points, offers");
    member->require_subcommand(1);
    AddEnroll(*member, dispatcher);
    AddConfirm(*member, dispatcher);
    AddLogin(*member, dispatcher);
    AddLogout(*member, dispatcher);
    AddReissue(*member, dispatcher);
    AddUsage(*member, dispatcher);
    AddOffers(*member, dispatcher);
    AddProfile(*member, dispatcher);
    AddConsents(*member, dispatcher);
    AddConfirmEmail(*member, dispatcher);
    AddForgotPassword(*member, dispatcher);
    AddResetPassword(*member, dispatcher);
    AddLeave(*member, dispatcher);
}

}  // namespace kizuna::cli
