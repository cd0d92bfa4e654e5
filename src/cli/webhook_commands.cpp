#include "cli/webhook_commands.hpp"

#include <iostream>
#include <memory>
#include <sstream>

#include "cli/output.hpp"
#include "cli/pos_session.hpp"

namespace kizuna::cli {
namespace {

using nlohmann::json;

std::string JoinedEvents(const json& webhook) {
    std::string joined;
    for (const json& type : webhook.value("events", json::array())) {
        if (type.is_string()) joined += (joined.empty() ? "" : ",") + type.get<std::string>();
    }
    return joined;
}

// "member.enrolled,purchase.created" and repeated flags -> one list.
std::vector<std::string> SplitEvents(const std::vector<std::string>& flags) {
    std::vector<std::string> events;
    for (const std::string& flag : flags) {
        std::stringstream parts(flag);
        std::string part;
        while (std::getline(parts, part, ',')) {
            if (!part.empty()) events.push_back(part);
        }
    }
    return events;
}

void AddWebhookAdd(CLI::App& webhook, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string url;
        std::vector<std::string> events;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = webhook.add_subcommand(
        "add", "Register a URL to receive this program's events (the secret is shown once)");
    cmd->add_option("URL", o->url, "http:// or https:// URL that accepts POSTs")->required();
    cmd->add_option("--event", o->events,
                    "Event type(s): member.enrolled, member.updated, card.reissued, "
                    "purchase.created, purchase.refunded, points.redeemed, reservation.created, "
                    "reservation.updated (repeatable or comma-separated)")
        ->required();
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos webhook add https://shop.example.jp/kizuna "
                      "--event member.enrolled --event reservation.created",
                      "kizuna pos webhook add http://127.0.0.1:9000/hook "
                      "--event purchase.created,purchase.refunded --json"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        json body = {{"url", o->url}, {"events", SplitEvents(o->events)}};
        auto answer = session.client->Post("/v1/webhooks", body);
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            std::cout << "Webhook registered. Keep the secret: it is shown only now.\n";
            PrintSummary(std::cout, {{"webhook id", JsonString(reply, "webhook_id")},
                                     {"url", JsonString(reply, "url")},
                                     {"events", JoinedEvents(reply)},
                                     {"secret", JsonString(reply, "secret")}});
            std::cout << "Each POST carries Kizuna-Signature: t=<unix seconds>,v1=<hex "
                         "HMAC-SHA256(secret, t + \".\" + body)>.\n";
        });
    });
}

void AddWebhookList(CLI::App& webhook, Dispatcher& dispatcher) {
    auto o = std::make_shared<PosCommon>();
    auto* cmd = webhook.add_subcommand("list", "This store's webhooks");
    AddConnectionFlags(cmd, *o);
    AddExamples(cmd, {"kizuna pos webhook list", "kizuna pos webhook list --json"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(*o);
        if (!session.client) return session.exit_code;
        auto answer = session.client->Get("/v1/webhooks");
        return PrintAnswer(answer, o->json, [&](const json& reply) {
            Table table({"webhook id", "url", "events", "created"});
            for (const json& w : reply.value("webhooks", json::array())) {
                table.AddRow({JsonString(w, "webhook_id"), JsonString(w, "url"), JoinedEvents(w),
                              LocalTime(JsonString(w, "created_at"))});
            }
            table.Print(std::cout, "No webhooks yet: add one with `kizuna pos webhook add`.\n");
        });
    });
}

void AddWebhookDeliveries(CLI::App& webhook, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string webhook_id;
        int limit = 100;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = webhook.add_subcommand("deliveries", "A webhook's deliveries, newest first");
    cmd->add_option("WEBHOOK_ID", o->webhook_id, "The webhook's id")->required();
    cmd->add_option("--limit", o->limit, "At most this many")
        ->capture_default_str()
        ->check(CLI::Range(1, 500));
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos webhook deliveries wh_...",
                      "kizuna pos webhook deliveries "
                      "wh_... --limit 20 --json"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        auto answer = session.client->Get("/v1/webhooks/" + HubClient::Escape(o->webhook_id) +
                                          "/deliveries?limit=" + std::to_string(o->limit));
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            Table table(
                {"delivery", "event", "type", "status", "attempts", "last answer", "next attempt"});
            table.AlignRight(0);
            table.AlignRight(4);
            for (const json& d : reply.value("deliveries", json::array())) {
                std::string last = JsonString(d, "last_error");
                if (d.value("last_status", json()).is_number() && last.empty()) {
                    last = "HTTP " + std::to_string(JsonInt(d, "last_status"));
                }
                table.AddRow({std::to_string(JsonInt(d, "delivery_id")), JsonString(d, "event_id"),
                              JsonString(d, "event_type"), JsonString(d, "status"),
                              std::to_string(JsonInt(d, "attempts")), last,
                              LocalTime(JsonString(d, "next_attempt_at"))});
            }
            table.Print(std::cout, "No deliveries yet.\n");
        });
    });
}

void AddWebhookReplay(CLI::App& webhook, Dispatcher& dispatcher) {
    struct Options {
        PosCommon common;
        std::string webhook_id;
        int64_t delivery_id = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = webhook.add_subcommand(
        "replay", "Send a delivery again now (a dead one gets another day of retries)");
    cmd->add_option("WEBHOOK_ID", o->webhook_id, "The webhook's id")->required();
    cmd->add_option("DELIVERY_ID", o->delivery_id, "The delivery's number")
        ->required()
        ->check(CLI::PositiveNumber);
    AddConnectionFlags(cmd, o->common);
    AddExamples(cmd, {"kizuna pos webhook replay wh_... 42"});
    OnRun(cmd, dispatcher, [o] {
        auto session = Connect(o->common);
        if (!session.client) return session.exit_code;
        auto answer =
            session.client->Post("/v1/webhooks/" + HubClient::Escape(o->webhook_id) +
                                     "/deliveries/" + std::to_string(o->delivery_id) + "/replay",
                                 json::object());
        return PrintAnswer(answer, o->common.json, [&](const json& reply) {
            std::cout << "Delivery " << JsonInt(reply, "delivery_id", o->delivery_id)
                      << " queued again; the hub sends it within a second.\n";
        });
    });
}

}  // namespace

void AddWebhookCommands(CLI::App& pos, Dispatcher& dispatcher) {
    auto* webhook =
        pos.add_subcommand("webhook", "Webhooks: the hub POSTs this program's events to a URL");
    webhook->require_subcommand(1);
    AddWebhookAdd(*webhook, dispatcher);
    AddWebhookList(*webhook, dispatcher);
    AddWebhookDeliveries(*webhook, dispatcher);
    AddWebhookReplay(*webhook, dispatcher);
}

}  // namespace kizuna::cli
