#include "core/webhook.hpp"

#include <algorithm>
#include <set>

#include "core/backoff.hpp"

namespace kizuna::core {
namespace {

constexpr std::size_t kMaxUrlBytes = 2000;

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

Status ValidateUrl(std::string_view url) {
    if (url.empty() || url.size() > kMaxUrlBytes) {
        return InvalidField("url", "must be an http or https URL of at most 2000 characters");
    }
    for (unsigned char c : url) {
        if (c <= 0x20 || c >= 0x7f) {
            return InvalidField("url",
                                "must not contain spaces, control or non-ASCII characters "
                                "(percent-encode them)");
        }
    }
    std::string_view rest;
    if (StartsWithNoCase(url, "https://")) {
        rest = url.substr(8);
    } else if (StartsWithNoCase(url, "http://")) {
        rest = url.substr(7);
    } else {
        return InvalidField("url", "must start with http:// or https://");
    }
    const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        return InvalidField("url", "must not carry a user name or password");
    }
    if (authority.empty() || authority.front() == ':') {
        return InvalidField("url", "must name a host");
    }
    return Status::Ok();
}

}  // namespace

bool IsEventType(std::string_view type) {
    return std::find(std::begin(kEventTypes), std::end(kEventTypes), type) != std::end(kEventTypes);
}

Status ValidateWebhook(const Webhook& webhook) {
    KZ_RETURN_IF_ERROR(ValidateUrl(webhook.url));
    if (webhook.events.empty()) {
        return InvalidField("events", "must name at least one event type");
    }
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < webhook.events.size(); ++i) {
        const std::string field = "events[" + std::to_string(i) + "]";
        if (!IsEventType(webhook.events[i])) {
            std::string known;
            for (std::string_view type : kEventTypes)
                known += (known.empty() ? "" : ", ") + std::string(type);
            return InvalidField(field, "is not an event type; known types: " + known);
        }
        if (!seen.insert(webhook.events[i]).second) return InvalidField(field, "is repeated");
    }
    return Status::Ok();
}

std::string_view DeliveryStatusName(DeliveryStatus status) {
    switch (status) {
        case DeliveryStatus::kPending:
            return "pending";
        case DeliveryStatus::kDelivered:
            return "delivered";
        case DeliveryStatus::kDead:
            return "dead";
    }
    return "pending";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view text) {
    for (auto status :
         {DeliveryStatus::kPending, DeliveryStatus::kDelivered, DeliveryStatus::kDead}) {
        if (text == DeliveryStatusName(status)) return status;
    }
    return std::nullopt;
}

std::chrono::seconds RetryDelay(const RetryPolicy& policy, int attempts, Random& random) {
    const int64_t base = std::max<int64_t>(1, policy.base.count());
    const int64_t cap = std::max<int64_t>(base, policy.cap.count());
    const int64_t delay =
        BackoffDelay(std::chrono::seconds(base), std::chrono::seconds(cap), attempts).count();
    const int64_t floor = (delay + 1) / 2;
    const int64_t jitter =
        static_cast<int64_t>(random.Uniform(static_cast<uint64_t>(delay - floor + 1)));
    return std::chrono::seconds(std::max<int64_t>(1, floor + jitter));
}

WebhookDelivery AfterAttempt(WebhookDelivery d, Timestamp now, int http_status, std::string error,
                             const RetryPolicy& policy, Random& random) {
    d.attempts += 1;
    if (!d.first_attempt_at) d.first_attempt_at = now;
    d.last_attempt_at = now;
    d.last_status = http_status;
    if (http_status >= 200 && http_status <= 299) {
        d.status = DeliveryStatus::kDelivered;
        d.delivered_at = now;
        d.last_error.clear();
        return d;
    }
    d.last_error = std::move(error);
    if (now - *d.first_attempt_at >= policy.give_up_after) {
        d.status = DeliveryStatus::kDead;
        return d;
    }
    d.status = DeliveryStatus::kPending;
    d.next_attempt_at = now + RetryDelay(policy, d.attempts, random);
    return d;
}

}  // namespace kizuna::core
