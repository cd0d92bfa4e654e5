#pragma once
// The injected clock and randomness of `kizuna demo`. While seeding, the clock is pinned to the
// simulated day (so enrollments, purchases, rule versions and expiries land over the past year as
// if they had happened then) and the hub's ids come from a seeded generator (so --seed N always
// produces the same members and cards). Before serving, the clock follows the system clock again
// and ids come from the system CSPRNG.
// Thread-safety: all methods are safe to call from any thread.

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/random.hpp"
#include "core/time.hpp"
#include "crypto/crypto.hpp"

namespace kizuna::cli {

class DemoClock final : public core::Clock {
  public:
    core::Timestamp Now() const override;
    void Pin(core::Timestamp at) { pinned_.store(core::ToUnixSeconds(at)); }
    void Follow() { pinned_.store(kLive); }

  private:
    static constexpr int64_t kLive = INT64_MIN;
    std::atomic<int64_t> pinned_{kLive};
};

// A deterministic, unbiased generator (xoshiro256** seeded by splitmix64).
class SeededRandom final : public core::Random {
  public:
    explicit SeededRandom(uint64_t seed);
    uint64_t Uniform(uint64_t upper_bound) override;
    uint64_t Next();

  private:
    uint64_t state_[4];
};

// Seeded until SwitchToSystem(), the system CSPRNG afterwards.
class SwitchableRandom final : public core::Random {
  public:
    explicit SwitchableRandom(uint64_t seed) : seeded_(seed) {}
    uint64_t Uniform(uint64_t upper_bound) override;
    void SwitchToSystem() { system_.store(true); }

  private:
    std::mutex mutex_;
    SeededRandom seeded_;
    crypto::SystemRandom system_random_;
    std::atomic<bool> system_{false};
};

}  // namespace kizuna::cli
