#pragma once
// The production clock: the operating system's wall clock, truncated to whole seconds (Kizuna
// time has seconds precision). Thread-safe; stateless.

#include "core/time.hpp"

namespace kizuna::hub {

class SystemClock final : public core::Clock {
  public:
    core::Timestamp Now() const override;
};

}  // namespace kizuna::hub
