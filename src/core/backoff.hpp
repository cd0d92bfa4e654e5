#pragma once
// Exponential backoff, the one doubling schedule behind every retry in Kizuna: webhook
// deliveries (RetryDelay in webhook.hpp jitters it), the mail spool (hub/mail_delivery.cpp) and
// offer mailings (hub/dispatch_runner.cpp).

#include <algorithm>
#include <chrono>

namespace kizuna::core {

// The wait before attempt `attempts + 1`, `attempts` (>= 1) having failed: base * 2^(attempts-1),
// at most `cap`. Exact, no jitter; no attempt count and no cap overflows.
template <typename Rep, typename Period>
std::chrono::duration<Rep, Period> BackoffDelay(std::chrono::duration<Rep, Period> base,
                                                std::chrono::duration<Rep, Period> cap,
                                                int attempts) {
    auto wait = base;
    // Past half the cap the next doubling would pass it: go to the cap instead, so even a cap
    // near the type's maximum never overflows.
    for (int i = 1; i < attempts && wait < cap; ++i) wait = wait > cap / 2 ? cap : wait * 2;
    return std::min(wait, cap);
}

}  // namespace kizuna::core
