#include "mail/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace kizuna::mail {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// Time moves only when the limiter sleeps on it or the test advances it.
class FakeTickClock final : public TickClock {
  public:
    TimePoint Now() const override { return now_; }
    void SleepFor(nanoseconds d) override {
        if (d > nanoseconds::zero()) now_ += d;
        slept_ += d;
    }
    void Advance(nanoseconds d) { now_ += d; }
    nanoseconds slept() const { return slept_; }

  private:
    TimePoint now_{};
    nanoseconds slept_{0};
};

TEST(RateLimiter, BurstIsFreeThenOneTokenPerPeriod) {
    FakeTickClock clock;
    RateLimiter limiter(10.0, 3.0, clock);
    EXPECT_EQ(limiter.Reserve(), nanoseconds::zero());
    EXPECT_EQ(limiter.Reserve(), nanoseconds::zero());
    EXPECT_EQ(limiter.Reserve(), nanoseconds::zero());
    EXPECT_EQ(limiter.Reserve(), milliseconds(100));
    EXPECT_EQ(limiter.Reserve(), milliseconds(200));  // owed tokens add up
}

TEST(RateLimiter, AcquireKeepsTheRateOverManyMessages) {
    FakeTickClock clock;
    RateLimiter limiter(200.0, 1.0, clock);
    const auto start = clock.Now();
    for (int i = 0; i < 1001; ++i) limiter.Acquire();
    // The first is free; the other 1000 take 1000 / 200 = 5 s.
    EXPECT_EQ(clock.Now() - start, std::chrono::seconds(5));
}

TEST(RateLimiter, IdleTimeRefillsOnlyUpToTheBurst) {
    FakeTickClock clock;
    RateLimiter limiter(1.0, 2.0, clock);
    limiter.Acquire();
    limiter.Acquire();
    clock.Advance(std::chrono::hours(1));
    EXPECT_EQ(limiter.Reserve(), nanoseconds::zero());
    EXPECT_EQ(limiter.Reserve(), nanoseconds::zero());
    EXPECT_EQ(limiter.Reserve(), std::chrono::seconds(1));
}

}  // namespace
}  // namespace kizuna::mail
