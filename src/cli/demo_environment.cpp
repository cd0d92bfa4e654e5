#include "cli/demo_environment.hpp"

#include <chrono>

namespace kizuna::cli {
namespace {

uint64_t SplitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

core::Timestamp DemoClock::Now() const {
    const int64_t pinned = pinned_.load();
    if (pinned != kLive) return core::FromUnixSeconds(pinned);
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

SeededRandom::SeededRandom(uint64_t seed) {
    for (auto& word : state_) word = SplitMix64(seed);
}

uint64_t SeededRandom::Next() {
    const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = RotateLeft(state_[3], 45);
    return result;
}

uint64_t SeededRandom::Uniform(uint64_t upper_bound) {
    // Rejection sampling keeps every value equally likely.
    const uint64_t limit = UINT64_MAX - UINT64_MAX % upper_bound;
    uint64_t value = Next();
    while (value >= limit) value = Next();
    return value % upper_bound;
}

uint64_t SwitchableRandom::Uniform(uint64_t upper_bound) {
    if (system_.load()) return system_random_.Uniform(upper_bound);
    std::lock_guard lock(mutex_);
    return seeded_.Uniform(upper_bound);
}

}  // namespace kizuna::cli
