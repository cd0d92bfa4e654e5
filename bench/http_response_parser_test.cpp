#include "http_response_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace kizuna::bench {
namespace {

using State = HttpResponseParser::State;

TEST(HttpResponseParser, ContentLengthResponseInOnePiece) {
    HttpResponseParser p;
    const std::string r = "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello";
    size_t consumed = 0;
    ASSERT_EQ(p.Feed(r, consumed), State::kComplete);
    EXPECT_EQ(consumed, r.size());
    EXPECT_EQ(p.status(), 201);
    EXPECT_FALSE(p.close());
    EXPECT_TRUE(p.error_body().empty());
}

TEST(HttpResponseParser, ResponseSplitAtEveryByte) {
    const std::string r =
        "HTTP/1.1 200 OK\r\ncontent-length: 12\r\nConnection: keep-alive\r\n\r\n{\"ok\":true}\n";
    HttpResponseParser p;
    for (size_t i = 0; i < r.size(); ++i) {
        size_t consumed = 0;
        const auto state = p.Feed(std::string_view(r).substr(i, 1), consumed);
        EXPECT_EQ(consumed, 1u);
        EXPECT_EQ(state, i + 1 == r.size() ? State::kComplete : State::kNeedMore) << i;
    }
    EXPECT_EQ(p.status(), 200);
}

TEST(HttpResponseParser, ChunkedBodyWithTrailer) {
    const std::string r =
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n";
    HttpResponseParser p;
    size_t consumed = 0;
    ASSERT_EQ(p.Feed(r, consumed), State::kComplete);
    EXPECT_EQ(consumed, r.size());
    EXPECT_EQ(p.status(), 404);
    EXPECT_EQ(p.error_body(), "abcdefg");
}

TEST(HttpResponseParser, StopsAtTheEndOfTheFirstResponse) {
    const std::string first = "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
    const std::string r = first + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    HttpResponseParser p;
    size_t consumed = 0;
    ASSERT_EQ(p.Feed(r, consumed), State::kComplete);
    EXPECT_EQ(consumed, first.size());
    EXPECT_EQ(p.status(), 204);
    p.Reset();
    ASSERT_EQ(p.Feed(std::string_view(r).substr(consumed), consumed), State::kComplete);
    EXPECT_EQ(p.status(), 200);
}

TEST(HttpResponseParser, ConnectionCloseAndHttp10AreNoticed) {
    HttpResponseParser p;
    size_t consumed = 0;
    ASSERT_EQ(
        p.Feed("HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", consumed),
        State::kComplete);
    EXPECT_TRUE(p.close());
    p.Reset();
    ASSERT_EQ(p.Feed("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", consumed), State::kComplete);
    EXPECT_TRUE(p.close());
}

TEST(HttpResponseParser, RejectsGarbageAndUndelimitedBodies) {
    HttpResponseParser p;
    size_t consumed = 0;
    EXPECT_EQ(p.Feed("SSH-2.0-OpenSSH\r\n\r\n", consumed), State::kError);
    p.Reset();
    EXPECT_EQ(p.Feed("HTTP/1.1 200 OK\r\n\r\n", consumed), State::kError);
    p.Reset();
    EXPECT_EQ(p.Feed("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", consumed), State::kError);
}

}  // namespace
}  // namespace kizuna::bench
