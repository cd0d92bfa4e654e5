#include "mail/rate_limiter.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <thread>

namespace kizuna::mail {

TickClock::TimePoint SteadyTickClock::Now() const { return std::chrono::steady_clock::now(); }

void SteadyTickClock::SleepFor(std::chrono::nanoseconds duration) {
    if (duration > std::chrono::nanoseconds::zero()) std::this_thread::sleep_for(duration);
}

RateLimiter::RateLimiter(double per_second, double burst, TickClock& clock)
    : per_second_(per_second), burst_(burst), clock_(clock), tokens_(burst), last_(clock.Now()) {
    assert(per_second > 0 && burst >= 1);
}

std::chrono::nanoseconds RateLimiter::Reserve() {
    const TickClock::TimePoint now = clock_.Now();
    if (now > last_) {
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
        last_ = now;
    }
    tokens_ -= 1;
    if (tokens_ >= 0) return std::chrono::nanoseconds::zero();
    return std::chrono::nanoseconds(static_cast<int64_t>(std::ceil(-tokens_ / per_second_ * 1e9)));
}

void RateLimiter::Acquire() { clock_.SleepFor(Reserve()); }

}  // namespace kizuna::mail
