#include "http/json_reader.hpp"

#include <gtest/gtest.h>

#include "http/error_mapping.hpp"
#include "http/json_mapping.hpp"
#include "http/metrics.hpp"

namespace kizuna::http {
namespace {

TEST(JsonReader, ReadsFieldsOfEveryType) {
    JsonReader r = JsonReader::ParseBody(
        R"({"s":"文字","i":-42,"b":true,"t":"2026-11-22T15:04:05+09:00","m":1.5,
            "mm":{"books":2,"food":0.125},"a":["x","y"],"o":{"n":1},"l":[{"q":1},{"q":2}],
            "extra":{"ignored":[1,2,3]}})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.RequiredString("s"), "文字");
    EXPECT_EQ(r.RequiredInt("i"), -42);
    EXPECT_EQ(r.OptionalBool("b"), true);
    EXPECT_EQ(core::FormatRfc3339(r.RequiredTime("t")), "2026-11-22T06:04:05Z");
    EXPECT_EQ(r.OptionalMilli("m"), 1500);
    EXPECT_EQ(r.OptionalMilliMap("mm"),
              (std::map<std::string, int64_t>{{"books", 2000}, {"food", 125}}));
    EXPECT_EQ(r.OptionalStringArray("a"), (std::vector<std::string>{"x", "y"}));
    auto o = r.Object("o", true);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->RequiredInt("n"), 1);
    auto lines = r.ObjectArray("l", true);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].RequiredInt("q"), 2);
    EXPECT_FALSE(r.Has("absent"));
    EXPECT_FALSE(r.OptionalString("absent").has_value());
    EXPECT_TRUE(r.ok());
}

// Issue 15, defect 9: fields not declared nullable took null for missing ("validity_days": null
// gave 365). Null is refused naming the field, except where declared nullable.
TEST(JsonReader, NullIsRefusedNamingTheFieldUnlessDeclaredNullable) {
    for (const char* body : {R"({"validity_days":null})", R"({"o":{"validity_days":null}})"}) {
        JsonReader r = JsonReader::ParseBody(body);
        if (auto o = r.Object("o", false)) {
            EXPECT_FALSE(o->OptionalInt("validity_days").has_value());
        } else {
            EXPECT_FALSE(r.OptionalInt("validity_days").has_value());
        }
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_NE(r.error().message.find("must not be null"), std::string::npos);
        EXPECT_EQ(r.error().field.substr(r.error().field.size() - 13), "validity_days");
    }
    JsonReader has = JsonReader::ParseBody(R"({"card_number":null})");
    EXPECT_FALSE(has.Has("card_number"));
    ASSERT_FALSE(has.ok());
    EXPECT_EQ(has.error().field, "card_number");

    JsonReader nullable = JsonReader::ParseBody(R"({"program_id":null})");
    EXPECT_FALSE(nullable.OptionalNullableString("program_id").has_value());
    EXPECT_TRUE(nullable.ok());
    JsonReader given = JsonReader::ParseBody(R"({"program_id":"pg_1"})");
    EXPECT_EQ(given.OptionalNullableString("program_id"), "pg_1");
    JsonReader wrong = JsonReader::ParseBody(R"({"program_id":7})");
    EXPECT_FALSE(wrong.OptionalNullableString("program_id").has_value());
    EXPECT_FALSE(wrong.ok());
}

TEST(JsonReader, NamesTheFullPathOfAWrongType) {
    JsonReader r = JsonReader::ParseBody(R"({"lines":[{"quantity":1},{"quantity":"2"}]})");
    auto lines = r.ObjectArray("lines", true);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].RequiredInt("quantity"), 1);
    lines[1].RequiredInt("quantity");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().field, "lines[1].quantity");
    EXPECT_EQ(r.error().message, "lines[1].quantity must be an integer");
}

TEST(JsonReader, KeepsTheFirstProblem) {
    JsonReader r = JsonReader::ParseBody(R"({"a":1,"b":2})");
    r.RequiredString("a");
    r.RequiredString("b");
    r.RequiredString("c");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().field, "a");
}

TEST(JsonReader, MissingAndNullRequiredFieldsAreNamed) {
    JsonReader missing = JsonReader::ParseBody(R"({"profile":{}})");
    auto profile = missing.Object("profile", true);
    ASSERT_TRUE(profile.has_value());
    profile->RequiredString("name");
    EXPECT_EQ(missing.error().field, "profile.name");
    EXPECT_EQ(missing.error().message, "profile.name is required");

    JsonReader null = JsonReader::ParseBody(R"({"name":null})");
    null.RequiredString("name");
    EXPECT_EQ(null.error().field, "name");
}

TEST(JsonReader, RefusesBodiesThatAreNotOneObject) {
    for (const char* body : {"", " \n", "[]", "1", "\"s\"", "{", "{\"a\":1,}", "{}{}", "null"}) {
        JsonReader r = JsonReader::ParseBody(body);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().field, "body") << body;
    }
    std::string deep = std::string(33, '[') + std::string(33, ']');
    EXPECT_FALSE(JsonReader::ParseBody("{\"a\":" + deep + "}").ok());
    std::string fine = std::string(20, '[') + std::string(20, ']');
    EXPECT_TRUE(JsonReader::ParseBody("{\"a\":" + fine + "}").ok());
    // Brackets inside strings do not count.
    EXPECT_TRUE(JsonReader::ParseBody("{\"a\":\"" + std::string(100, '[') + "\\\"\"}").ok());
}

TEST(JsonReader, IntegersMustBeWholeAndInRange) {
    for (const char* body : {R"({"n":1.5})", R"({"n":1e3})", R"({"n":"1"})", R"({"n":true})",
                             R"({"n":18446744073709551615})", R"({"n":[1]})"}) {
        JsonReader r = JsonReader::ParseBody(body);
        r.RequiredInt("n");
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().field, "n");
    }
    JsonReader big = JsonReader::ParseBody(R"({"n":9223372036854775807,"m":-9223372036854775808})");
    EXPECT_EQ(big.RequiredInt("n"), INT64_MAX);
    EXPECT_EQ(big.RequiredInt("m"), INT64_MIN);
    EXPECT_TRUE(big.ok());
}

TEST(JsonReader, MultipliersHaveAtMostThreeDecimals) {
    JsonReader ok = JsonReader::ParseBody(R"({"a":2,"b":0.001,"c":100,"d":1.10})");
    EXPECT_EQ(ok.OptionalMilli("a"), 2000);
    EXPECT_EQ(ok.OptionalMilli("b"), 1);
    EXPECT_EQ(ok.OptionalMilli("c"), 100000);
    EXPECT_EQ(ok.OptionalMilli("d"), 1100);
    EXPECT_TRUE(ok.ok());
    for (const char* body : {R"({"m":1.0005})", R"({"m":"2"})", R"({"m":1e300})", R"({"m":{}})"}) {
        JsonReader r = JsonReader::ParseBody(body);
        r.OptionalMilli("m");
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().field, "m");
    }
    JsonReader in_map = JsonReader::ParseBody(R"({"mm":{"books":1.2345}})");
    in_map.OptionalMilliMap("mm");
    EXPECT_EQ(in_map.error().field, "mm.books");
}

TEST(JsonMapping, MultipliersAreWrittenAsPlainNumbers) {
    EXPECT_EQ(DumpJson(MilliToJson(2000)), "2");
    EXPECT_EQ(DumpJson(MilliToJson(1500)), "1.5");
    EXPECT_EQ(DumpJson(MilliToJson(125)), "0.125");
}

TEST(ErrorMapping, EveryCodeHasItsStatus) {
    using core::ErrorCode;
    EXPECT_EQ(HttpStatusOf(ErrorCode::kInvalidArgument), 400);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kPayloadTooLarge), 413);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kUnauthenticated), 401);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kWrongPassword), 401);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kForbidden), 403);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kNotFound), 404);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kAlreadyExists), 409);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kIdempotencyConflict), 409);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kCardRevoked), 409);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kInsufficientPoints), 422);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kRuleViolation), 422);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kTooManyRequests), 429);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kUnavailable), 503);
    EXPECT_EQ(HttpStatusOf(ErrorCode::kInternal), 500);
}

TEST(ErrorMapping, OneBodyShapeWithFieldOnlyWhenSet) {
    HttpResponse with_field = ErrorResponse(
        core::MakeError(core::ErrorCode::kInvalidArgument, "points must be at least 1", "points"));
    EXPECT_EQ(with_field.status, 400);
    EXPECT_EQ(
        with_field.body,
        R"({"error":{"code":"invalid_argument","message":"points must be at least 1","field":"points"}})");
    HttpResponse without =
        ErrorResponse(core::MakeError(core::ErrorCode::kInsufficientPoints, "only 3 points"));
    EXPECT_EQ(without.body,
              R"({"error":{"code":"insufficient_points","message":"only 3 points"}})");
}

TEST(ErrorMapping, InternalDetailsAreNotShown) {
    HttpResponse response = ErrorResponse(
        core::MakeError(core::ErrorCode::kInternal, "sqlite3_step: disk I/O error at page 42"));
    EXPECT_EQ(response.status, 500);
    EXPECT_EQ(response.body.find("sqlite"), std::string::npos);
}

TEST(ErrorMapping, ThrottledLoginsCarryRetryAfter) {
    HttpResponse response =
        ErrorResponse(core::MakeError(core::ErrorCode::kTooManyRequests, "too many tries"));
    EXPECT_EQ(response.status, 429);
    ASSERT_EQ(response.headers.size(), 1u);
    EXPECT_EQ(response.headers[0].first, "Retry-After");
    EXPECT_GT(std::stoi(response.headers[0].second), 0);
}

TEST(Metrics, RendersCountsHistogramAndInFlight) {
    Metrics metrics({{"GET", "/healthz"}, {"POST", "/v1/purchases"}});
    metrics.RequestStarted();
    metrics.RequestStarted();
    metrics.RequestStarted();
    metrics.RequestFinished(0, 200, std::chrono::microseconds(300));
    metrics.RequestFinished(1, 422, std::chrono::milliseconds(20));
    std::string text = metrics.Render();
    EXPECT_NE(
        text.find(R"(kizuna_http_requests_total{method="GET",route="/healthz",status="2xx"} 1)"),
        std::string::npos)
        << text;
    EXPECT_NE(
        text.find(
            R"(kizuna_http_requests_total{method="POST",route="/v1/purchases",status="4xx"} 1)"),
        std::string::npos);
    EXPECT_NE(
        text.find(
            R"(kizuna_http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.0005"} 1)"),
        std::string::npos);
    EXPECT_NE(
        text.find(
            R"(kizuna_http_request_duration_seconds_bucket{method="POST",route="/v1/purchases",le="0.01"} 0)"),
        std::string::npos);
    EXPECT_NE(
        text.find(
            R"(kizuna_http_request_duration_seconds_bucket{method="POST",route="/v1/purchases",le="0.025"} 1)"),
        std::string::npos);
    EXPECT_NE(text.find("kizuna_http_requests_in_flight 1\n"), std::string::npos);
}

}  // namespace
}  // namespace kizuna::http
