#include "hub/system_clock.hpp"

#include <chrono>

namespace kizuna::hub {

core::Timestamp SystemClock::Now() const {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace kizuna::hub
