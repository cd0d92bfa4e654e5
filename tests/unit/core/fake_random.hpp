#pragma once
// Deterministic core::Random for tests: replays a script of values, or, once the script is
// used up, a fixed-seed linear congruential sequence. Test scaffolding for the injected
// interface; production uses crypto::SystemRandom.

#include <cstdint>
#include <deque>
#include <utility>

#include "core/random.hpp"

namespace kizuna::testing {

class FakeRandom final : public core::Random {
  public:
    explicit FakeRandom(uint64_t seed = 42, std::deque<uint64_t> script = {})
        : state_(seed), script_(std::move(script)) {}

    uint64_t Uniform(uint64_t upper_bound) override {
        if (!script_.empty()) {
            const uint64_t v = script_.front();
            script_.pop_front();
            return v % upper_bound;
        }
        state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
        return (state_ >> 33) % upper_bound;
    }

  private:
    uint64_t state_;
    std::deque<uint64_t> script_;
};

}  // namespace kizuna::testing
