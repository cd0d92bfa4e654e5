#pragma once
// A token bucket limiting how many messages per second a run sends, and the steady clock it
// reads, injected so tests drive time without sleeping.
// Thread-safety: none; one limiter per sending loop.

#include <chrono>

namespace kizuna::mail {

class TickClock {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;
    virtual ~TickClock() = default;
    virtual TimePoint Now() const = 0;
    virtual void SleepFor(std::chrono::nanoseconds duration) = 0;
};

// std::chrono::steady_clock and std::this_thread::sleep_for.
class SteadyTickClock final : public TickClock {
  public:
    TimePoint Now() const override;
    void SleepFor(std::chrono::nanoseconds duration) override;
};

class RateLimiter {
  public:
    // `per_second` > 0 tokens are added each second, up to `burst` >= 1; the bucket starts full.
    RateLimiter(double per_second, double burst, TickClock& clock);

    // Takes one token; returns how long the caller must wait before using it (zero when one was
    // available). Tokens taken ahead are owed, so calls keep the rate even if callers do not wait.
    std::chrono::nanoseconds Reserve();
    // Reserve() and then sleep on the clock for the time it returned.
    void Acquire();

  private:
    double per_second_;
    double burst_;
    TickClock& clock_;
    double tokens_;
    TickClock::TimePoint last_;
};

}  // namespace kizuna::mail
