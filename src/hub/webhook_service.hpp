#pragma once
// Webhooks (second seed: the mall tells every shop of a registration): a store registers a URL
// and the event types it wants; the hub then POSTs every such event of the store's program to
// it, signed, and retries until the receiver answers 2xx (or a day has passed: dead-lettered).
//
// How an event becomes a delivery: the changes write events (event_log.hpp) in their own
// transaction; QueueNewEvents reads the events past the "webhooks" cursor and, in one write,
// adds one delivery row per (event, subscribed webhook of the event's program) and moves the
// cursor. A crash anywhere leaves either the event unqueued (queued after the restart) or the
// deliveries and the cursor together: none is lost or made twice. A webhook gets only events
// recorded after it was registered.
//
// Each delivery is a POST of {"id":"evt_<sequence>","type","created_at","data":{...}} with
// `Kizuna-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
// Delivery is at least once: a crash between the receiver's 2xx and its recording sends the
// event again after the restart, so receivers drop ids they have seen.
// Thread-safety: every method may be called from any thread; DeliverDue by one thread at a time
// (the worker).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/webhook.hpp"
#include "hub/caller.hpp"
#include "hub/webhook_sender.hpp"
#include "storage/storage.hpp"

namespace kizuna::hub {

class HubContext;

struct WebhookOptions {
    // Start the delivery worker with the hub (`kizuna hub serve`); off, deliveries are only
    // queued and sent by whoever calls QueueNewEvents / DeliverDue (tests).
    bool deliver = false;
    core::RetryPolicy retry;
    // How often the worker looks for new events and due retries.
    std::chrono::milliseconds poll_interval{500};
};

struct NewWebhook {
    std::string url;
    std::vector<std::string> events;
};

// A delivery with what a store needs to read it: the event's type.
struct DeliveryView {
    core::WebhookDelivery delivery;
    std::string event_type;
};

// The most deliveries one list answer carries.
inline constexpr int kMaxDeliveryList = 500;

class WebhookService {
  public:
    WebhookService(HubContext& context, core::RetryPolicy retry)
        : context_(context), retry_(retry) {}

    // Stores only. Returns the webhook with its secret ("whsec_" + 64 hex digits), which the
    // store sees only here. Errors: kInvalidArgument ("url", "events[i]").
    core::Result<core::Webhook> Register(const Caller& caller, const NewWebhook& request);
    // The calling store's webhooks, oldest first (with secrets: the caller decides to hide them).
    core::Result<std::vector<core::Webhook>> List(const Caller& caller);
    // The webhook's deliveries, newest first. Errors: kNotFound (unknown or another store's).
    core::Result<std::vector<DeliveryView>> Deliveries(const Caller& caller,
                                                       const std::string& webhook_id, int limit,
                                                       std::optional<int64_t> before);
    // Queues the delivery again, due now, as a new round (a fresh day of retries), whatever its
    // status. Errors: kNotFound.
    core::Result<DeliveryView> Replay(const Caller& caller, const std::string& webhook_id,
                                      int64_t delivery_id);

    // Adds the deliveries of events recorded since the last call (at most `max_events` of them);
    // returns how many events it read (0: it has caught up).
    core::Result<int> QueueNewEvents(int max_events = 256);
    // Attempts the deliveries due now, at most `limit`, one after the other through `sender`,
    // recording each outcome; returns how many it attempted.
    core::Result<int> DeliverDue(WebhookSender& sender, int limit = 32);

    // The request a delivery of `event` to `webhook` sends at `t`, signed.
    static WebhookRequest RequestFor(const core::Webhook& webhook, const storage::Event& event,
                                     core::Timestamp t);
    // {"id":"evt_<sequence>","type","created_at","data":<payload>}.
    static std::string Envelope(const storage::Event& event);
    // "t=<t>,v1=<hex HMAC-SHA256(secret, t + "." + body)>".
    static std::string Signature(const std::string& secret, core::Timestamp t,
                                 const std::string& body);

  private:
    core::Result<core::Webhook> OwnWebhook(const Caller& caller, const std::string& webhook_id);

    HubContext& context_;
    core::RetryPolicy retry_;
};

}  // namespace kizuna::hub
