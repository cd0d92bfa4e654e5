#pragma once
// Webhooks (second seed: the mall tells every shop): what a store subscribes to, one delivery of
// one event to one webhook, and when a failed delivery is tried again.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/random.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

// The event types a webhook may subscribe to, in the order the API documents them.
inline constexpr std::string_view kEventTypes[] = {
    "member.enrolled",     "member.updated",      "card.reissued",
    "purchase.created",    "purchase.refunded",   "points.redeemed",
    "reservation.created", "reservation.updated", "purchase.voided",
};
bool IsEventType(std::string_view type);

struct Webhook {
    std::string webhook_id;
    std::string store_id;             // the store that registered it and alone manages it
    std::string program_id;           // the store's: events of this program are sent
    std::string url;                  // http or https
    std::vector<std::string> events;  // subscribed event types
    std::string secret;               // the HMAC key, kept as given to the store
    Timestamp created_at{};
    int64_t after_sequence = 0;  // events up to this sequence happened before it existed
};

// Errors: kInvalidArgument naming "url" (not http/https, no host, spaces or control characters,
// longer than 2000) or "events" / "events[i]" (empty, unknown or repeated types).
Status ValidateWebhook(const Webhook& webhook);

enum class DeliveryStatus { kPending, kDelivered, kDead };
std::string_view DeliveryStatusName(DeliveryStatus status);  // "pending", "delivered", "dead"
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text);

struct WebhookDelivery {
    int64_t delivery_id = 0;
    std::string webhook_id;
    int64_t event_sequence = 0;
    DeliveryStatus status = DeliveryStatus::kPending;
    int attempts = 0;  // since it was queued or last replayed
    Timestamp created_at{};
    std::optional<Timestamp> first_attempt_at;  // of this round (a replay starts a new one)
    std::optional<Timestamp> last_attempt_at;
    Timestamp next_attempt_at{};
    int last_status = 0;     // HTTP status of the last answer; 0: none (no connection, timeout)
    std::string last_error;  // why the last attempt failed, for people
    std::optional<Timestamp> delivered_at;
};

// When a failed delivery is tried again: after attempt n (1, 2, ...) wait base * 2^(n-1),
// at most `cap`, jittered down by up to half (so receivers that failed together do not all
// come back in the same second); after a failed attempt `give_up_after` or more past the first
// attempt, the delivery is dead.
struct RetryPolicy {
    std::chrono::seconds base{10};
    std::chrono::seconds cap{3600};
    std::chrono::seconds give_up_after{24 * 3600};
};

// The wait before attempt `attempts + 1`, `attempts` >= 1 having failed: in
// [ceil(d / 2), d] for d = min(cap, base * 2^(attempts-1)), at least one second.
std::chrono::seconds RetryDelay(const RetryPolicy& policy, int attempts, Random& random);

// The delivery after an attempt at `now` that got `http_status` (0: no answer) and `error`:
// delivered on 2xx; else pending for the next try, or dead once give_up_after has passed since
// the first attempt.
WebhookDelivery AfterAttempt(WebhookDelivery delivery, Timestamp now, int http_status,
                             std::string error, const RetryPolicy& policy, Random& random);

}  // namespace kizuna::core
