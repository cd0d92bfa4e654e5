#pragma once
// The one thread that sends webhooks: every poll interval it queues the deliveries of new events
// and attempts the due ones (WebhookService), until stopped. Started by the Hub when
// HubOptions::webhooks.deliver is set; the destructor stops it, interrupting a POST in flight,
// and joins it. Failures (storage unavailable) are logged and retried at the next poll.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kizuna::hub {

class WebhookService;
class CurlWebhookSender;

class WebhookWorker {
  public:
    // `service` and `sender` must outlive the worker.
    WebhookWorker(WebhookService& service, CurlWebhookSender& sender,
                  std::chrono::milliseconds poll_interval);
    ~WebhookWorker();
    WebhookWorker(const WebhookWorker&) = delete;
    WebhookWorker& operator=(const WebhookWorker&) = delete;

  private:
    void Loop();
    // One round: queue new events, then attempt due deliveries until none is due.
    void RunOnce();

    WebhookService& service_;
    CurlWebhookSender& sender_;
    std::chrono::milliseconds poll_interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace kizuna::hub
