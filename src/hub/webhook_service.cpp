#include "hub/webhook_service.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "crypto/crypto.hpp"
#include "hub/access.hpp"
#include "hub/event_log.hpp"
#include "hub/hub_context.hpp"

namespace kizuna::hub {
namespace {

using core::ErrorCode;
using core::MakeError;

constexpr std::string_view kCursor = "webhooks";
constexpr std::string_view kSecretPrefix = "whsec_";

// The hub's randomness as a core::Random, for the retry jitter.
class ContextRandom final : public core::Random {
  public:
    explicit ContextRandom(HubContext& context) : context_(context) {}
    uint64_t Uniform(uint64_t upper_bound) override { return context_.Uniform(upper_bound); }

  private:
    HubContext& context_;
};

core::Error NoWebhook(const std::string& webhook_id) {
    return MakeError(ErrorCode::kNotFound, "no webhook " + webhook_id + " of this store",
                     "webhook_id");
}

bool Subscribed(const core::Webhook& webhook, std::string_view type) {
    return std::find(webhook.events.begin(), webhook.events.end(), type) != webhook.events.end();
}

}  // namespace

core::Result<core::Webhook> WebhookService::Register(const Caller& caller,
                                                     const NewWebhook& request) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "register webhooks"));
    core::Webhook webhook;
    webhook.url = request.url;
    webhook.events = request.events;
    KZ_RETURN_IF_ERROR(core::ValidateWebhook(webhook));
    webhook.webhook_id = context_.NewOpaqueId("wh");
    webhook.store_id = caller.store_id;
    webhook.program_id = caller.program_id;
    webhook.secret = std::string(kSecretPrefix) + crypto::NewHexSecret(32);
    webhook.created_at = context_.Now();
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        // Read inside the write: an event committed before this one is not the webhook's.
        KZ_ASSIGN_OR_RETURN(webhook.after_sequence, txn.LastEventSequence());
        return txn.InsertWebhook(webhook);
    }));
    return webhook;
}

core::Result<std::vector<core::Webhook>> WebhookService::List(const Caller& caller) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "list webhooks"));
    std::vector<core::Webhook> webhooks;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(webhooks, txn.WebhooksOfStore(caller.store_id));
        return core::Status::Ok();
    }));
    return webhooks;
}

core::Result<core::Webhook> WebhookService::OwnWebhook(const Caller& caller,
                                                       const std::string& webhook_id) {
    KZ_RETURN_IF_ERROR(RequireRole(caller, {Role::kStore}, "manage webhooks"));
    std::optional<core::Webhook> webhook;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(webhook, txn.FindWebhook(webhook_id));
        return core::Status::Ok();
    }));
    // Another store's webhook is reported as missing: a store manages only its own.
    if (!webhook || webhook->store_id != caller.store_id) return NoWebhook(webhook_id);
    return std::move(*webhook);
}

core::Result<std::vector<DeliveryView>> WebhookService::Deliveries(const Caller& caller,
                                                                   const std::string& webhook_id,
                                                                   int limit,
                                                                   std::optional<int64_t> before) {
    KZ_ASSIGN_OR_RETURN(core::Webhook webhook, OwnWebhook(caller, webhook_id));
    limit = std::clamp(limit, 1, kMaxDeliveryList);
    std::vector<DeliveryView> views;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        views.clear();
        KZ_ASSIGN_OR_RETURN(auto deliveries, txn.DeliveriesOf(webhook.webhook_id, limit, before));
        for (auto& delivery : deliveries) {
            KZ_ASSIGN_OR_RETURN(auto event, txn.FindEvent(delivery.event_sequence));
            views.push_back({std::move(delivery), event ? event->type : std::string()});
        }
        return core::Status::Ok();
    }));
    return views;
}

core::Result<DeliveryView> WebhookService::Replay(const Caller& caller,
                                                  const std::string& webhook_id,
                                                  int64_t delivery_id) {
    KZ_ASSIGN_OR_RETURN(core::Webhook webhook, OwnWebhook(caller, webhook_id));
    const core::Timestamp now = context_.Now();
    DeliveryView replayed;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(auto delivery, txn.FindDelivery(delivery_id));
        if (!delivery || delivery->webhook_id != webhook.webhook_id) {
            return MakeError(
                ErrorCode::kNotFound,
                "no delivery " + std::to_string(delivery_id) + " of webhook " + webhook.webhook_id,
                "delivery_id");
        }
        delivery->status = core::DeliveryStatus::kPending;
        delivery->attempts = 0;
        delivery->first_attempt_at.reset();
        delivery->next_attempt_at = now;
        delivery->delivered_at.reset();
        KZ_RETURN_IF_ERROR(txn.UpdateDelivery(*delivery));
        KZ_ASSIGN_OR_RETURN(auto event, txn.FindEvent(delivery->event_sequence));
        replayed = {*delivery, event ? event->type : std::string()};
        return core::Status::Ok();
    }));
    return replayed;
}

core::Result<int> WebhookService::QueueNewEvents(int max_events) {
    // A look on a snapshot first: the worker asks twice a second, and nothing new is the rule;
    // only new events are worth a write (and a turn of the group-commit writer).
    bool behind = false;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(int64_t cursor, txn.EventCursor(kCursor));
        KZ_ASSIGN_OR_RETURN(int64_t last, txn.LastEventSequence());
        behind = last > cursor;
        return core::Status::Ok();
    }));
    if (!behind) return 0;
    const core::Timestamp now = context_.Now();
    int read = 0;
    KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(int64_t cursor, txn.EventCursor(kCursor));
        KZ_ASSIGN_OR_RETURN(auto events, txn.EventsAfter(cursor, max_events));
        read = static_cast<int>(events.size());
        if (events.empty()) return core::Status::Ok();
        std::map<std::string, std::vector<core::Webhook>> by_program;
        for (const storage::Event& event : events) {
            if (event.program_id.empty()) continue;
            auto found = by_program.find(event.program_id);
            if (found == by_program.end()) {
                KZ_ASSIGN_OR_RETURN(auto webhooks, txn.WebhooksOfProgram(event.program_id));
                found = by_program.emplace(event.program_id, std::move(webhooks)).first;
            }
            for (const core::Webhook& webhook : found->second) {
                if (event.sequence <= webhook.after_sequence) continue;
                if (!Subscribed(webhook, event.type)) continue;
                core::WebhookDelivery delivery;
                delivery.webhook_id = webhook.webhook_id;
                delivery.event_sequence = event.sequence;
                delivery.created_at = now;
                delivery.next_attempt_at = now;
                KZ_ASSIGN_OR_RETURN(int64_t id, txn.InsertDelivery(delivery));
                (void)id;
            }
        }
        return txn.SetEventCursor(kCursor, events.back().sequence);
    }));
    return read;
}

core::Result<int> WebhookService::DeliverDue(WebhookSender& sender, int limit) {
    std::vector<core::WebhookDelivery> due;
    std::map<std::string, core::Webhook> webhooks;
    std::map<int64_t, storage::Event> events;
    KZ_RETURN_IF_ERROR(context_.storage().Read([&](storage::ReadTxn& txn) -> core::Status {
        KZ_ASSIGN_OR_RETURN(due, txn.DueDeliveries(context_.Now(), limit));
        for (const auto& delivery : due) {
            if (!webhooks.contains(delivery.webhook_id)) {
                KZ_ASSIGN_OR_RETURN(auto webhook, txn.FindWebhook(delivery.webhook_id));
                if (!webhook) {
                    return MakeError(ErrorCode::kInternal,
                                     "delivery " + std::to_string(delivery.delivery_id) +
                                         " names a missing webhook");
                }
                webhooks.emplace(delivery.webhook_id, std::move(*webhook));
            }
            if (!events.contains(delivery.event_sequence)) {
                KZ_ASSIGN_OR_RETURN(auto event, txn.FindEvent(delivery.event_sequence));
                if (!event) {
                    return MakeError(ErrorCode::kInternal,
                                     "delivery " + std::to_string(delivery.delivery_id) +
                                         " names a missing event");
                }
                events.emplace(delivery.event_sequence, std::move(*event));
            }
        }
        return core::Status::Ok();
    }));

    ContextRandom random(context_);
    int attempted = 0;
    for (const core::WebhookDelivery& delivery : due) {
        const WebhookRequest request = RequestFor(
            webhooks.at(delivery.webhook_id), events.at(delivery.event_sequence), context_.Now());
        const WebhookResponse response = sender.Post(request);
        if (response.interrupted) break;
        ++attempted;
        const core::WebhookDelivery after = core::AfterAttempt(
            delivery, context_.Now(), response.status, response.error, retry_, random);
        KZ_RETURN_IF_ERROR(context_.storage().Write([&](storage::WriteTxn& txn) -> core::Status {
            // A replay while the POST was on its way started a new round: it wins.
            KZ_ASSIGN_OR_RETURN(auto current, txn.FindDelivery(delivery.delivery_id));
            if (!current || current->status != delivery.status ||
                current->attempts != delivery.attempts ||
                current->next_attempt_at != delivery.next_attempt_at) {
                return core::Status::Ok();
            }
            return txn.UpdateDelivery(after);
        }));
    }
    return attempted;
}

std::string WebhookService::Envelope(const storage::Event& event) {
    // The payload is a JSON object written by RecordEvent; the type and time need no escaping.
    return "{\"id\":\"evt_" + std::to_string(event.sequence) + "\",\"type\":\"" + event.type +
           "\",\"created_at\":\"" + EventTime(event.created_at) + "\",\"data\":" + event.payload +
           "}";
}

std::string WebhookService::Signature(const std::string& secret, core::Timestamp t,
                                      const std::string& body) {
    const std::string stamp = std::to_string(core::ToUnixSeconds(t));
    return "t=" + stamp + ",v1=" + crypto::HmacSha256Hex(secret, stamp + "." + body);
}

WebhookRequest WebhookService::RequestFor(const core::Webhook& webhook, const storage::Event& event,
                                          core::Timestamp t) {
    WebhookRequest request;
    request.url = webhook.url;
    request.body = Envelope(event);
    request.headers = {
        {"Content-Type", "application/json"},
        {"Kizuna-Event-Id", "evt_" + std::to_string(event.sequence)},
        {"Kizuna-Event-Type", event.type},
        {"Kizuna-Signature", Signature(webhook.secret, t, request.body)},
    };
    return request;
}

}  // namespace kizuna::hub
