#include "hub/mail_delivery_worker.hpp"

#include <pthread.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace kizuna::hub {

MailDeliveryWorker::MailDeliveryWorker(std::filesystem::path spool,
                                       std::unique_ptr<mail::MailSender> sender,
                                       const MailDeliveryOptions& options)
    : sender_(std::move(sender)),
      delivery_(std::move(spool), *sender_, options, clock_),
      poll_interval_(options.poll_interval),
      thread_([this] { Loop(); }) {}

MailDeliveryWorker::~MailDeliveryWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

bool MailDeliveryWorker::stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
}

void MailDeliveryWorker::Loop() {
    pthread_setname_np(pthread_self(), "kz-mail");
    while (!stopping()) {
        auto pass = delivery_.RunPass([this] { return stopping(); });
        if (!pass) {
            spdlog::warn("mail: {}", pass.error().message);
        } else if (pass->sent + pass->failed + pass->deferred > 0) {
            spdlog::info("mail: {} sent, {} failed, {} to retry", pass->sent, pass->failed,
                         pass->deferred);
        }
        std::chrono::nanoseconds wait = poll_interval_;
        if (auto due = delivery_.NextDue()) wait = std::min(wait, *due);
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, wait, [this] { return stopping_; });
    }
}

}  // namespace kizuna::hub
