#pragma once
// WebhookSender over libcurl: 5 s to connect, 10 s in all, no redirects followed, http and
// https only (also for any redirect libcurl might be asked to follow), the answer's body
// discarded. Stop() makes a POST in flight give up at once, so the hub stops promptly.
// Thread-safety: Post from one thread at a time (one handle, reused for keep-alive); Stop from
// any thread.

#include <atomic>
#include <chrono>

#include "hub/webhook_sender.hpp"

namespace kizuna::hub {

class CurlWebhookSender final : public WebhookSender {
  public:
    CurlWebhookSender(std::chrono::milliseconds connect_timeout = std::chrono::seconds(5),
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~CurlWebhookSender() override;
    CurlWebhookSender(const CurlWebhookSender&) = delete;
    CurlWebhookSender& operator=(const CurlWebhookSender&) = delete;

    WebhookResponse Post(const WebhookRequest& request) override;
    void Stop() { stopping_.store(true); }

  private:
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds timeout_;
    std::atomic<bool> stopping_{false};
    void* curl_ = nullptr;  // CURL*, kept out of the header
};

}  // namespace kizuna::hub
