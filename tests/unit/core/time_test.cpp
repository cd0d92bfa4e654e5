#include "core/time.hpp"

#include <gtest/gtest.h>

namespace kizuna::core {
namespace {

namespace chr = std::chrono;

Timestamp Utc(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
    return chr::sys_days{chr::year{y} / chr::month{m} / chr::day{d}} + chr::hours{hh} +
           chr::minutes{mm} + chr::seconds{ss};
}

TEST(Time, FormatsUtcWithSecondsAndZ) {
    EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 22, 15, 4, 5)), "2026-11-22T15:04:05Z");
    EXPECT_EQ(FormatRfc3339(FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
    EXPECT_EQ(FormatRfc3339(Utc(2024, 2, 29, 23, 59, 59)), "2024-02-29T23:59:59Z");
    // The ends of four-digit years, and beyond them, as printf's %04d writes the year.
    EXPECT_EQ(FormatRfc3339(Utc(0, 1, 1, 0, 0, 0)), "0000-01-01T00:00:00Z");
    EXPECT_EQ(FormatRfc3339(Utc(9999, 12, 31, 23, 59, 59)), "9999-12-31T23:59:59Z");
    EXPECT_EQ(FormatRfc3339(Utc(10000, 1, 1, 0, 0, 0)), "10000-01-01T00:00:00Z");
    EXPECT_EQ(FormatRfc3339(Utc(-1, 12, 31, 23, 59, 59)), "-001-12-31T23:59:59Z");
}

TEST(Time, ParsesZuluTime) {
    auto t = ParseRfc3339("2026-11-22T15:04:05Z", "occurred_at");
    ASSERT_TRUE(t.has_value()) << t.error().message;
    EXPECT_EQ(*t, Utc(2026, 11, 22, 15, 4, 5));
}

TEST(Time, ConvertsPositiveOffsetToUtc) {
    auto t = ParseRfc3339("2026-11-23T00:30:00+09:00", "occurred_at");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, Utc(2026, 11, 22, 15, 30, 0));
}

TEST(Time, ConvertsNegativeOffsetToUtc) {
    auto t = ParseRfc3339("2026-12-31T20:00:00-05:30", "occurred_at");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, Utc(2027, 1, 1, 1, 30, 0));
}

TEST(Time, DropsFractionalSeconds) {
    auto t = ParseRfc3339("2026-11-22T15:04:05.987654Z", "occurred_at");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(*t, Utc(2026, 11, 22, 15, 4, 5));
}

TEST(Time, RoundTripsThroughText) {
    const Timestamp t = Utc(2024, 2, 29, 23, 59, 59);
    auto back = ParseRfc3339(FormatRfc3339(t), "t");
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, t);
}

TEST(Time, AcceptsFebruary29InLeapYearsOnly) {
    EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z", "t").has_value());
    EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z", "t").has_value());
    EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z", "t").has_value());
    EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z", "t").has_value());
}

TEST(Time, RejectsMalformedTimesNamingTheField) {
    for (const char* bad :
         {"", "2026-11-22", "2026-11-22T15:04:05", "2026-11-22 15:04:05Z", "2026-13-01T00:00:00Z",
          "2026-04-31T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
          "2026-11-22T24:00:00Z", "2026-11-22T23:60:00Z", "2026-11-22T23:59:60Z",
          "2026-11-22T15:04:05+9:00", "2026-11-22T15:04:05+0900", "2026-11-22T15:04:05+24:00",
          "2026-11-22T15:04:05.Z", "2026-11-22T15:04:05Zjunk", "2026-1-22T15:04:05Z",
          "２０２６-11-22T15:04:05Z", "2026-11-22T15:04:05+09:60"}) {
        auto t = ParseRfc3339(bad, "occurred_at");
        ASSERT_FALSE(t.has_value()) << bad;
        EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument) << bad;
        EXPECT_EQ(t.error().field, "occurred_at") << bad;
    }
}

TEST(Time, ErrorMessageNamesFieldAndShowsTheExpectedForm) {
    auto t = ParseRfc3339("yesterday", "occurred_at");
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().message, "occurred_at must be an RFC 3339 time like 2026-11-22T15:04:05Z");
    auto d = ParseDate("2023-02-29", "profile.birth_date");
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error().message, "profile.birth_date is not a real calendar date");
}

TEST(Time, ParsesAndFormatsDates) {
    auto d = ParseDate("1990-04-01", "profile.birth_date");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, chr::year{1990} / chr::April / 1);
    EXPECT_EQ(FormatDate(*d), "1990-04-01");
}

TEST(Time, RejectsImpossibleDates) {
    for (const char* bad : {"2023-02-29", "2026-06-31", "2026-13-01", "2026-00-01", "1990-4-1",
                            "1990-04-01T00:00:00Z", "19900401", "1990/04/01", ""}) {
        auto d = ParseDate(bad, "profile.birth_date");
        ASSERT_FALSE(d.has_value()) << bad;
        EXPECT_EQ(d.error().field, "profile.birth_date");
    }
    EXPECT_TRUE(ParseDate("2024-02-29", "d").has_value());
}

}  // namespace
}  // namespace kizuna::core

namespace kizuna::core {
namespace {

TEST(Time, ZeroOffsetsEqualZ) {
    const Timestamp z = *ParseRfc3339("2026-01-01T00:00:00Z", "t");
    EXPECT_EQ(*ParseRfc3339("2026-01-01T00:00:00+00:00", "t"), z);
    EXPECT_EQ(*ParseRfc3339("2026-01-01T00:00:00-00:00", "t"), z);
    EXPECT_EQ(*ParseRfc3339("2026-01-01t00:00:00z", "t"), z);  // RFC 3339 allows lower case
}

TEST(Time, OffsetCrossesYearAndLeapDayBoundaries) {
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2027-01-01T08:59:59+09:00", "t")),
              "2026-12-31T23:59:59Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2024-03-01T01:00:00+02:00", "t")),
              "2024-02-29T23:00:00Z");
    EXPECT_EQ(FormatRfc3339(*ParseRfc3339("2024-02-29T23:30:00-01:00", "t")),
              "2024-03-01T00:30:00Z");
}

TEST(Time, FormatsEveryDayOfALeapYearAndParsesItBack) {
    const Timestamp start = *ParseRfc3339("2024-01-01T12:34:56Z", "t");
    for (int day = 0; day < 366; ++day) {
        const Timestamp t = start + std::chrono::days(day);
        auto back = ParseRfc3339(FormatRfc3339(t), "t");
        ASSERT_TRUE(back.has_value()) << FormatRfc3339(t);
        EXPECT_EQ(*back, t);
    }
    EXPECT_EQ(FormatRfc3339(start + std::chrono::days(59)), "2024-02-29T12:34:56Z");
}

TEST(Time, UnixSecondsRoundTrip) {
    EXPECT_EQ(ToUnixSeconds(*ParseRfc3339("2001-09-09T01:46:40Z", "t")), 1'000'000'000);
    EXPECT_EQ(ToUnixSeconds(FromUnixSeconds(-1)), -1);
    EXPECT_EQ(FormatRfc3339(FromUnixSeconds(-1)), "1969-12-31T23:59:59Z");
}

}  // namespace
}  // namespace kizuna::core

namespace kizuna::core {
namespace {

// Issue 15, defect 7: a bonus window from 0000-01-01T00:00:00+00:01 to 9999-12-31T23:59:59-00:01
// was stored and came back as -001-12-31T23:59:00Z and 10000-01-01T00:00:59Z, which the parser
// then refused. Only years 1970 to 9999 after conversion to UTC are accepted.
TEST(Time, TimesOutsideYears1970To9999InUtcAreRefused) {
    for (const char* text :
         {"0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "1969-12-31T23:59:59Z",
          "1970-01-01T08:59:59+09:00", "0001-01-01T00:00:00Z"}) {
        auto parsed = ParseRfc3339(text, "bonus_windows[0].start");
        ASSERT_FALSE(parsed.has_value()) << text << " -> " << FormatRfc3339(*parsed);
        EXPECT_EQ(parsed.error().field, "bonus_windows[0].start");
        EXPECT_NE(parsed.error().message.find("1970"), std::string::npos);
    }
    // The edges themselves are accepted and format back as they parse.
    for (const char* text : {"1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                             "1970-01-01T09:00:00+09:00", "9999-12-31T22:59:59-01:00"}) {
        auto parsed = ParseRfc3339(text, "t");
        ASSERT_TRUE(parsed.has_value()) << text;
        auto again = ParseRfc3339(FormatRfc3339(*parsed), "t");
        ASSERT_TRUE(again.has_value()) << FormatRfc3339(*parsed);
        EXPECT_EQ(*again, *parsed);
    }
}

}  // namespace
}  // namespace kizuna::core
