// core::AppendJsonString, the escaper under http::JsonWriter and the dispatch items' writer. The
// byte-for-byte match with nlohmann's dump() is checked where nlohmann is at hand
// (tests/unit/http/json_writer_test.cpp, tests/unit/hub/dispatch_service_test.cpp); here the
// escapes themselves, spelled out.

#include "core/json_string.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace kizuna::core {
namespace {

std::string Quoted(std::string_view text) {
    std::string out;
    EXPECT_TRUE(AppendJsonString(out, text)) << text;
    return out;
}

TEST(JsonString, EscapesQuoteBackslashAndTheShortControlEscapes) {
    EXPECT_EQ(Quoted(""), R"("")");
    EXPECT_EQ(Quoted("plain text"), R"("plain text")");
    EXPECT_EQ(Quoted("say \"hi\""), R"("say \"hi\"")");
    EXPECT_EQ(Quoted("C:\\dir\\"), R"("C:\\dir\\")");
    EXPECT_EQ(Quoted("\b\f\n\r\t"), R"("\b\f\n\r\t")");
    // '/' and DEL are not escaped.
    EXPECT_EQ(Quoted("a/b\x7f"), "\"a/b\x7f\"");
}

TEST(JsonString, EscapesEveryOtherControlCharacterAsLowerCaseHex) {
    const std::string shorts = "\b\f\n\r\t";
    for (int c = 0; c < 0x20; ++c) {
        if (shorts.find(static_cast<char>(c)) != std::string::npos) continue;
        char expected[16];
        std::snprintf(expected, sizeof expected, "\"x\\u%04xy\"", c);
        EXPECT_EQ(Quoted("x" + std::string(1, static_cast<char>(c)) + "y"), expected)
            << "character " << c;
    }
    EXPECT_EQ(Quoted(std::string("\0\x1f", 2)), R"("\u0000\u001f")");
}

TEST(JsonString, PassesValidUtf8ThroughUnchanged) {
    for (const std::string& text : {
             std::string("山田 太郎 ヤマダ タロウ"),
             std::string("café 😀"),
             // The edges of each sequence length: U+0080, U+07FF, U+0800, U+D7FF, U+E000,
             // U+FFFF, U+10000, U+10FFFF.
             std::string("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"
                         "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
             // U+2028 and U+2029 stay as they are, as nlohmann writes them.
             std::string("line\xe2\x80\xa8sep\xe2\x80\xa9"),
         }) {
        EXPECT_EQ(Quoted(text), "\"" + text + "\"");
    }
    EXPECT_EQ(Quoted("「引用」\"\\\n"), "\"「引用」\\\"\\\\\\n\"");
}

TEST(JsonString, RefusesTextThatIsNotUtf8AndLeavesTheOutputAsItWas) {
    for (const std::string& text : {
             std::string("a\x80z"),                    // stray continuation byte
             std::string("\xc0\xaf"),                  // overlong
             std::string("\xc1\xbf"),                  // overlong
             std::string("\xe0\x80\xaf"),              // overlong
             std::string("\xed\xa0\x80"),              // surrogate U+D800
             std::string("\xf0\x8f\xbf\xbf"),          // overlong
             std::string("\xf4\x90\x80\x80"),          // above U+10FFFF
             std::string("\xf5\x80\x80\x80"),          // F5 lead
             std::string("\xff"),                      //
             std::string("escaped \" first\xe3\x81"),  // truncated at the end, after an escape
             std::string("\xe3\x81 next"),             // truncated in the middle
         }) {
        std::string out = "[1,";
        EXPECT_FALSE(AppendJsonString(out, text)) << text;
        EXPECT_EQ(out, "[1,");
    }
}

TEST(JsonString, AppendsAfterWhatIsAlreadyThere) {
    std::string out = "{\"k\":";
    ASSERT_TRUE(AppendJsonString(out, "v\t"));
    EXPECT_EQ(out, R"({"k":"v\t")");
}

}  // namespace
}  // namespace kizuna::core
