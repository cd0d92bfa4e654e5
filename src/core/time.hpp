#pragma once
// Time in Kizuna: UTC seconds. Stored as UTC; formatted as RFC 3339 ("2026-11-22T15:04:05Z").

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace kizuna::core {

using Timestamp = std::chrono::sys_seconds;

inline int64_t ToUnixSeconds(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromUnixSeconds(int64_t s) { return Timestamp(std::chrono::seconds(s)); }

// "2026-11-22T15:04:05Z". Always UTC, always seconds precision.
std::string FormatRfc3339(Timestamp t);
// The times Kizuna accepts and stores: from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, so
// that every one formats back as a four-digit year that ParseRfc3339 reads again.
inline constexpr Timestamp kEarliestTime = Timestamp(std::chrono::seconds(0));
inline constexpr Timestamp kLatestTime = Timestamp(std::chrono::seconds(253402300799));
inline bool IsTimeInRange(Timestamp t) { return t >= kEarliestTime && t <= kLatestTime; }

// The one parser of times from outside (API, CLI). Accepts "YYYY-MM-DDTHH:MM:SS" followed by
// "Z" or "+HH:MM"/"-HH:MM", with optional fractional seconds (dropped), whose UTC time is within
// [kEarliestTime, kLatestTime]. Errors: kInvalidArgument naming `field`.
Result<Timestamp> ParseRfc3339(std::string_view text, std::string_view field);

// A calendar date "YYYY-MM-DD" (birth dates). Validates month lengths and leap years.
Result<std::chrono::year_month_day> ParseDate(std::string_view text, std::string_view field);
std::string FormatDate(std::chrono::year_month_day date);

// Source of the current time; injected so tests can drive clocks.
class Clock {
  public:
    virtual ~Clock() = default;
    virtual Timestamp Now() const = 0;
};

}  // namespace kizuna::core
