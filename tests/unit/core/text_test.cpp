#include "core/text.hpp"

#include <gtest/gtest.h>

namespace kizuna::core {
namespace {

TEST(Text, JapaneseNamesAreValidUtf8) {
    EXPECT_TRUE(IsValidUtf8("山田 太郎"));
    EXPECT_TRUE(IsValidUtf8("ヤマダ タロウ"));
    EXPECT_TRUE(IsValidUtf8("𠮷野家"));  // U+20BB7, four bytes
    EXPECT_TRUE(IsValidUtf8("plain ASCII"));
    EXPECT_TRUE(IsValidUtf8(""));
}

TEST(Text, RejectsOverlongEncodings) {
    EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes
    EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
    EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
    EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
    EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
    EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(Text, RejectsSurrogatesAndBeyondUnicode) {
    EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800
    EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF
    EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));       // U+D7FF
    EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
    EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
    EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
    EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Text, RejectsTruncatedAndStrayContinuationBytes) {
    EXPECT_FALSE(IsValidUtf8("\xE5\xB1"));  // 山 cut short
    EXPECT_FALSE(IsValidUtf8("abc\x80"));
    EXPECT_FALSE(IsValidUtf8("\xE5\x41\xB1"));  // ASCII inside a sequence
}

TEST(Text, CountsCodePointsNotBytes) {
    EXPECT_EQ(CodePointCount("山田 太郎"), 5u);
    EXPECT_EQ(CodePointCount("𠮷"), 1u);
    EXPECT_EQ(CodePointCount("abc"), 3u);
    EXPECT_EQ(CodePointCount(""), 0u);
}

TEST(Text, FindsControlCharacters) {
    EXPECT_FALSE(HasControlCharacters("山田 太郎", false));
    EXPECT_TRUE(HasControlCharacters(std::string_view("a\0b", 3), false));
    EXPECT_TRUE(HasControlCharacters("a\x1b[31m", false));
    EXPECT_TRUE(HasControlCharacters("a\x7F", false));
    EXPECT_TRUE(HasControlCharacters("a\xC2\x85", false));   // U+0085 NEL (C1)
    EXPECT_TRUE(HasControlCharacters("a\xC2\x9F", false));   // U+009F
    EXPECT_FALSE(HasControlCharacters("a\xC2\xA0", false));  // U+00A0 is not a control
}

TEST(Text, NewlinesAllowedOnlyWhenAsked) {
    EXPECT_TRUE(HasControlCharacters("line1\nline2", false));
    EXPECT_FALSE(HasControlCharacters("line1\r\n\tline2", true));
    EXPECT_TRUE(HasControlCharacters("line1\nline2\x0B", true));
}

TEST(Text, TrimsAsciiAndIdeographicSpaces) {
    EXPECT_EQ(Trim("  山田\t\n"), "山田");
    EXPECT_EQ(Trim("\xE3\x80\x80山田 太郎\xE3\x80\x80 "), "山田 太郎");
    EXPECT_EQ(Trim("   "), "");
    EXPECT_EQ(Trim(""), "");
    EXPECT_EQ(Trim("a b"), "a b");
}

TEST(Text, CheckTextNamesTheFieldAndItsProblem) {
    EXPECT_TRUE(CheckText("山田", "name", 1, 100).ok());
    auto blank = CheckText("\xE3\x80\x80 ", "name", 1, 100);
    ASSERT_FALSE(blank.ok());
    EXPECT_EQ(blank.error().field, "name");
    EXPECT_NE(blank.error().message.find("required"), std::string::npos);
    EXPECT_FALSE(CheckText("abcd", "f", 0, 3).ok());
    EXPECT_TRUE(CheckText("山田太", "f", 0, 3).ok());  // 3 code points, 9 bytes
    EXPECT_FALSE(CheckText("\xC0\xAF", "f", 0, 3).ok());
    EXPECT_FALSE(CheckText("a\nb", "f", 0, 10).ok());
    EXPECT_TRUE(CheckText("a\nb", "f", 0, 10, true).ok());
}

}  // namespace
}  // namespace kizuna::core

namespace kizuna::core {
namespace {

std::string EncodeUtf8(uint32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return out;
}

TEST(Text, EveryScalarValueIsValidAndEverySurrogateIsNot) {
    for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        const std::string encoded = EncodeUtf8(cp);
        ASSERT_EQ(IsValidUtf8(encoded), !surrogate) << std::hex << cp;
        if (!surrogate) {
            ASSERT_EQ(CodePointCount(encoded), 1u) << std::hex << cp;
        }
    }
}

TEST(Text, EveryTwoByteSequenceIsJudgedLikeTheStandard) {
    // A two-byte string is valid exactly when it is two ASCII bytes or one C2..DF lead with a
    // continuation byte.
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const std::string s{static_cast<char>(a), static_cast<char>(b)};
            const bool expected =
                (a < 0x80 && b < 0x80) || (a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF);
            ASSERT_EQ(IsValidUtf8(s), expected) << std::hex << a << " " << b;
        }
    }
}

}  // namespace
}  // namespace kizuna::core
