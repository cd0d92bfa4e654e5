#include "core/time.hpp"

#include <cstdio>

namespace kizuna::core {

namespace {

namespace chr = std::chrono;

// Reads exactly `count` decimal digits at `pos`; false if any is not a digit.
bool ReadDigits(std::string_view text, std::size_t pos, std::size_t count, int& out) {
    if (pos + count > text.size()) return false;
    int value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    out = value;
    return true;
}

// Parses "YYYY-MM-DD" at the start of text; checks the calendar (month lengths, leap years).
Result<chr::year_month_day> ParseDatePart(std::string_view text, std::string_view field,
                                          std::string_view format_error) {
    int y = 0;
    int m = 0;
    int d = 0;
    if (text.size() < 10 || !ReadDigits(text, 0, 4, y) || text[4] != '-' ||
        !ReadDigits(text, 5, 2, m) || text[7] != '-' || !ReadDigits(text, 8, 2, d)) {
        return InvalidField(field, format_error);
    }
    const chr::year_month_day date{chr::year{y}, chr::month{static_cast<unsigned>(m)},
                                   chr::day{static_cast<unsigned>(d)}};
    if (!date.ok()) return InvalidField(field, "is not a real calendar date");
    return date;
}

}  // namespace

std::string FormatRfc3339(Timestamp t) {
    const auto day = chr::floor<chr::days>(t);
    const chr::year_month_day date{day};
    const chr::hh_mm_ss<chr::seconds> time{t - day};
    const int year = static_cast<int>(date.year());
    if (year < 0 || year > 9999) {
        // Outside four digits: printf's widening and sign, as before.
        char buffer[48];
        std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", year,
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()),
                      static_cast<int>(time.minutes().count()),
                      static_cast<int>(time.seconds().count()));
        return buffer;
    }
    // Digits placed by hand: snprintf took 170 ns a call, and a usage answer formats several.
    std::string text = "0000-00-00T00:00:00Z";
    auto two_digits = [&text](std::size_t at, long value) {
        text[at] = static_cast<char>('0' + value / 10);
        text[at + 1] = static_cast<char>('0' + value % 10);
    };
    two_digits(0, year / 100);
    two_digits(2, year % 100);
    two_digits(5, static_cast<unsigned>(date.month()));
    two_digits(8, static_cast<unsigned>(date.day()));
    two_digits(11, time.hours().count());
    two_digits(14, time.minutes().count());
    two_digits(17, time.seconds().count());
    return text;
}

Result<Timestamp> ParseRfc3339(std::string_view text, std::string_view field) {
    constexpr std::string_view kFormat = "must be an RFC 3339 time like 2026-11-22T15:04:05Z";
    constexpr std::string_view kNoZone = "needs a time zone: Z or an offset like +09:00";
    KZ_ASSIGN_OR_RETURN(const chr::year_month_day date, ParseDatePart(text, field, kFormat));
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (text.size() < 19 || (text[10] != 'T' && text[10] != 't') ||
        !ReadDigits(text, 11, 2, hour) || text[13] != ':' || !ReadDigits(text, 14, 2, minute) ||
        text[16] != ':' || !ReadDigits(text, 17, 2, second)) {
        return InvalidField(field, kFormat);
    }
    // Leap seconds (60) cannot be represented in sys_seconds, so they are refused.
    if (hour > 23 || minute > 59 || second > 59) {
        return InvalidField(field, "has a time of day out of range");
    }
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t digits_start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == digits_start) return InvalidField(field, "needs digits after the decimal point");
    }
    if (pos >= text.size()) return InvalidField(field, kNoZone);
    chr::seconds offset{0};
    const char zone = text[pos];
    if (zone == 'Z' || zone == 'z') {
        ++pos;
    } else if (zone == '+' || zone == '-') {
        int off_h = 0;
        int off_m = 0;
        if (!ReadDigits(text, pos + 1, 2, off_h) || pos + 3 >= text.size() ||
            text[pos + 3] != ':' || !ReadDigits(text, pos + 4, 2, off_m)) {
            return InvalidField(field, "must have a time zone offset like +09:00 or -05:00");
        }
        if (off_h > 23 || off_m > 59) {
            return InvalidField(field, "has a time zone offset out of range");
        }
        offset = chr::hours{off_h} + chr::minutes{off_m};
        if (zone == '-') offset = -offset;
        pos += 6;
    } else {
        return InvalidField(field, kNoZone);
    }
    if (pos != text.size()) return InvalidField(field, "has extra text after the time zone");
    const Timestamp local =
        chr::sys_days{date} + chr::hours{hour} + chr::minutes{minute} + chr::seconds{second};
    // Local time = UTC + offset, so UTC = local - offset.
    const Timestamp utc{local - offset};
    // Checked after the conversion: 0000-01-01T00:00:00+00:01 is a year -1 time in UTC, and
    // 9999-12-31T23:59:59-00:01 one of year 10000; neither would format back as it parses.
    if (!IsTimeInRange(utc)) {
        return InvalidField(field,
                            "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z "
                            "once converted to UTC");
    }
    return utc;
}

Result<chr::year_month_day> ParseDate(std::string_view text, std::string_view field) {
    constexpr std::string_view kFormat = "must be a date like 1990-04-01 (YYYY-MM-DD)";
    if (text.size() != 10) return InvalidField(field, kFormat);
    return ParseDatePart(text, field, kFormat);
}

std::string FormatDate(chr::year_month_day date) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    return buffer;
}

}  // namespace kizuna::core
