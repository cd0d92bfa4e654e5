#include "hub/webhook_worker.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "hub/curl_webhook_sender.hpp"
#include "hub/webhook_service.hpp"

namespace kizuna::hub {

WebhookWorker::WebhookWorker(WebhookService& service, CurlWebhookSender& sender,
                             std::chrono::milliseconds poll_interval)
    : service_(service),
      sender_(sender),
      poll_interval_(poll_interval),
      thread_([this] { Loop(); }) {}

WebhookWorker::~WebhookWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    sender_.Stop();
    wake_.notify_all();
    thread_.join();
}

void WebhookWorker::Loop() {
    pthread_setname_np(pthread_self(), "kz-webhooks");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        RunOnce();
        lock.lock();
        wake_.wait_for(lock, poll_interval_, [this] { return stopping_; });
    }
}

void WebhookWorker::RunOnce() {
    auto stopping = [this] {
        std::lock_guard lock(mutex_);
        return stopping_;
    };
    while (!stopping()) {
        auto queued = service_.QueueNewEvents();
        if (!queued) {
            spdlog::warn("webhooks: queueing new events failed: {}", queued.error().message);
            return;
        }
        if (*queued == 0) break;
    }
    while (!stopping()) {
        auto attempted = service_.DeliverDue(sender_);
        if (!attempted) {
            spdlog::warn("webhooks: delivering failed: {}", attempted.error().message);
            return;
        }
        if (*attempted == 0) break;
    }
}

}  // namespace kizuna::hub
