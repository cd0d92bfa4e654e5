#pragma once
// How a webhook delivery leaves the hub: one HTTP POST. An interface so the delivery logic can
// be driven in tests without a network; CurlWebhookSender is the real one.

#include <string>
#include <utility>
#include <vector>

namespace kizuna::hub {

struct WebhookRequest {
    std::string url;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

struct WebhookResponse {
    int status = 0;     // the HTTP status; 0 when there was no answer
    std::string error;  // why there was no answer, or a short note on a non-2xx one
    // The sender gave up because the hub is stopping: not an attempt, nothing to record.
    bool interrupted = false;
};

class WebhookSender {
  public:
    virtual ~WebhookSender() = default;
    // Sends the request and waits for the answer (or the sender's timeouts). Never throws.
    virtual WebhookResponse Post(const WebhookRequest& request) = 0;
};

}  // namespace kizuna::hub
