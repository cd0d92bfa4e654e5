#include "hub/dispatch_worker.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "hub/hub_context.hpp"

namespace kizuna::hub {

DispatchWorker::DispatchWorker(HubContext& context, DispatchService& service,
                               std::unique_ptr<mail::MailSender> sender)
    : storage_(context.storage()),
      sender_(std::move(sender)),
      runner_(context, service, sender_.get(), clock_),
      poll_interval_(service.options().poll_interval),
      nice_(service.options().worker_nice),
      busy_share_(service.options().busy_share),
      thread_([this] { Loop(); }) {}

DispatchWorker::~DispatchWorker() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void DispatchWorker::WakeUp() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    wake_.notify_all();
}

bool DispatchWorker::stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
}

void DispatchWorker::Loop() {
    pthread_setname_np(pthread_self(), "kz-dispatch");
    // On Linux a nice value belongs to a thread (setpriority on its thread id), so only this
    // one runs at a lower priority than the threads that serve purchases.
    if (nice_ > 0 &&
        setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice_) != 0) {
        spdlog::warn("dispatch: cannot lower the worker's priority to nice {}", nice_);
    }
    bool recovered = false;
    while (!stopping()) {
        std::chrono::nanoseconds wait = poll_interval_;
        const auto started = std::chrono::steady_clock::now();
        const uint64_t units_before = storage_.Stats().write_units;
        if (!recovered) {
            auto recovery = runner_.RecoverInterrupted();
            if (recovery) {
                recovered = true;
            } else {
                spdlog::warn("dispatch: {}", recovery.error().message);
            }
        } else {
            auto step = runner_.Step([this] { return stopping(); });
            if (!step) {
                spdlog::warn("dispatch: {}", step.error().message);
            } else if (*step) {
                wait = std::min(wait, **step);
            }
        }
        if (wait == std::chrono::nanoseconds::zero()) {
            wait = PauseAfterStep(started, units_before);
            if (wait == std::chrono::nanoseconds::zero()) continue;
        }
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
        woken_ = false;
    }
}

std::chrono::nanoseconds PauseForBusyShare(std::chrono::nanoseconds took,
                                           uint64_t units_written_beside, double busy_share) {
    // A step writes a few units of its own (a page of recipients, a batch's states); more than
    // that means purchases or other requests were written beside it.
    constexpr uint64_t kOwnUnitsPerStep = 8;
    constexpr auto kLongestPause = std::chrono::seconds(1);
    if (busy_share >= 1 || busy_share <= 0 || units_written_beside <= kOwnUnitsPerStep) {
        return std::chrono::nanoseconds::zero();
    }
    const auto pause = std::chrono::duration_cast<std::chrono::nanoseconds>(
        took * ((1 - busy_share) / busy_share));
    return std::min<std::chrono::nanoseconds>(pause, kLongestPause);
}

std::chrono::nanoseconds DispatchWorker::PauseAfterStep(
    std::chrono::steady_clock::time_point started, uint64_t units_before) const {
    return PauseForBusyShare(std::chrono::steady_clock::now() - started,
                             storage_.Stats().write_units - units_before, busy_share_);
}

}  // namespace kizuna::hub
