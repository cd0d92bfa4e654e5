#pragma once
// The one thread that advances offer dispatch runs (DispatchRunner): at start it settles what a
// previous process left in flight, then steps the runs until none has work, waits until a retry
// or a pause is due, the poll interval passes or a new run wakes it, and so on until stopped.
// Started by the Hub when HubOptions::dispatch.run_worker is set. The destructor stops it
// between two messages and joins it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "hub/dispatch_runner.hpp"
#include "mail/rate_limiter.hpp"

namespace kizuna::hub {

// How long the worker pauses after a step that took `took` while `units_written_beside` write
// units were committed (its own few included), so that while others write its steps take at
// most `busy_share` of the time; zero when nobody else wrote or the share is 1. At most 1 s.
std::chrono::nanoseconds PauseForBusyShare(std::chrono::nanoseconds took,
                                           uint64_t units_written_beside, double busy_share);

class DispatchWorker {
  public:
    // `sender` may be null (no SMTP). `context` and `service` must outlive the worker.
    DispatchWorker(HubContext& context, DispatchService& service,
                   std::unique_ptr<mail::MailSender> sender);
    ~DispatchWorker();
    DispatchWorker(const DispatchWorker&) = delete;
    DispatchWorker& operator=(const DispatchWorker&) = delete;

    // A new run is stored: look now rather than at the next poll.
    void WakeUp();

  private:
    void Loop();
    bool stopping();
    // How long to pause after a step that began at `started`, when the storage had run
    // `units_before` write units then: zero unless other work was written meanwhile.
    std::chrono::nanoseconds PauseAfterStep(std::chrono::steady_clock::time_point started,
                                            uint64_t units_before) const;

    storage::Storage& storage_;
    std::unique_ptr<mail::MailSender> sender_;
    mail::SteadyTickClock clock_;
    DispatchRunner runner_;
    std::chrono::milliseconds poll_interval_;
    int nice_;
    double busy_share_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool woken_ = false;
    std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace kizuna::hub
