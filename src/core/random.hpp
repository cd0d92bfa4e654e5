#pragma once
// Source of randomness, injected so tests are repeatable. The production implementation
// (libsodium) lives outside core.

#include <cstdint>
#include <string>

namespace kizuna::core {

class Random {
  public:
    virtual ~Random() = default;
    // Uniform in [0, upper_bound). upper_bound > 0.
    virtual uint64_t Uniform(uint64_t upper_bound) = 0;
};

// A string of `digits` decimal digits, uniformly random, the first one non-zero.
std::string RandomDigits(Random& random, int digits);

}  // namespace kizuna::core
