#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <set>

#include "fake_random.hpp"

namespace kizuna::core {
namespace {

TEST(Ids, LuhnMatchesKnownVectors) {
    EXPECT_EQ(LuhnCheckDigit("7992739871"), '3');
    EXPECT_TRUE(LuhnValid("79927398713"));
    EXPECT_FALSE(LuhnValid("79927398710"));
    EXPECT_TRUE(LuhnValid("4111111111111111"));
    EXPECT_EQ(LuhnCheckDigit("411111111111111"), '1');
    EXPECT_TRUE(LuhnValid("378282246310005"));
}

TEST(Ids, LuhnRejectsNonDigitsAndTooShort) {
    EXPECT_FALSE(LuhnValid(""));
    EXPECT_FALSE(LuhnValid("0"));
    EXPECT_FALSE(LuhnValid("7992739871a"));
    EXPECT_EQ(LuhnCheckDigit("12x"), '\0');
}

TEST(Ids, DammMatchesKnownVectors) {
    EXPECT_EQ(DammCheckDigit("572"), '4');
    EXPECT_TRUE(DammValid("5724"));
    EXPECT_FALSE(DammValid("5723"));
}

TEST(Ids, DammDetectsEverySingleDigitError) {
    testing::FakeRandom random(7);
    for (int n = 0; n < 50; ++n) {
        const std::string id = NewMemberId(random);
        ASSERT_TRUE(DammValid(id)) << id;
        for (std::size_t pos = 0; pos < id.size(); ++pos) {
            for (char d = '0'; d <= '9'; ++d) {
                if (d == id[pos]) continue;
                std::string wrong = id;
                wrong[pos] = d;
                EXPECT_FALSE(DammValid(wrong)) << id << " -> " << wrong;
            }
        }
    }
}

TEST(Ids, DammDetectsEveryAdjacentTransposition) {
    testing::FakeRandom random(11);
    for (int n = 0; n < 50; ++n) {
        const std::string id = NewMemberId(random);
        for (std::size_t pos = 0; pos + 1 < id.size(); ++pos) {
            if (id[pos] == id[pos + 1]) continue;
            std::string swapped = id;
            std::swap(swapped[pos], swapped[pos + 1]);
            EXPECT_FALSE(DammValid(swapped)) << id << " -> " << swapped;
        }
    }
}

TEST(Ids, NewMemberIdIsTenDigitsFirstNonZeroAndValid) {
    // Script a zero for the first digit draw: it must still come out non-zero.
    testing::FakeRandom random(1, {0, 0, 0, 0, 0, 0, 0, 0, 0});
    const std::string id = NewMemberId(random);
    EXPECT_EQ(id.size(), 10u);
    EXPECT_NE(id[0], '0');
    EXPECT_TRUE(IsValidMemberId(id));
    EXPECT_EQ(id, "100000000" + std::string(1, DammCheckDigit("100000000")));
}

TEST(Ids, IsValidMemberIdRejectsWrongLengthAndCheckDigit) {
    testing::FakeRandom random(3);
    const std::string id = NewMemberId(random);
    EXPECT_TRUE(IsValidMemberId(id));
    EXPECT_FALSE(IsValidMemberId(id.substr(0, 9)));
    EXPECT_FALSE(IsValidMemberId(id + "0"));
    std::string wrong = id;
    wrong[9] = wrong[9] == '0' ? '1' : '0';
    EXPECT_FALSE(IsValidMemberId(wrong));
    EXPECT_FALSE(IsValidMemberId("57240000a0"));
}

TEST(Ids, NewCardNumberHasPrefixSixteenDigitsAndLuhn) {
    testing::FakeRandom random(5);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string number = NewCardNumber(random);
        EXPECT_EQ(number.size(), 16u);
        EXPECT_TRUE(number.starts_with(kCardPrefix));
        EXPECT_TRUE(LuhnValid(number));
        EXPECT_TRUE(IsValidCardNumber(number));
        seen.insert(number);
    }
    EXPECT_EQ(seen.size(), 100u);
}

TEST(Ids, IsValidCardNumberRejectsOtherPrefixesAndTypos) {
    EXPECT_TRUE(LuhnValid("4111111111111111"));
    EXPECT_FALSE(IsValidCardNumber("4111111111111111"));  // Luhn-valid, wrong prefix
    testing::FakeRandom random(9);
    const std::string number = NewCardNumber(random);
    std::string typo = number;
    typo[10] = typo[10] == '9' ? '0' : static_cast<char>(typo[10] + 1);
    EXPECT_FALSE(IsValidCardNumber(typo));
    EXPECT_FALSE(IsValidCardNumber(number.substr(0, 15)));
}

TEST(Ids, OpaqueIdIsPrefixUnderscoreAndSixteenBase32Chars) {
    testing::FakeRandom random(13, {0, 31, 25, 26});
    const std::string id = NewOpaqueId(random, "st");
    ASSERT_EQ(id.size(), 19u);
    EXPECT_EQ(id.substr(0, 7), "st_a7z2");
    for (const char c : id.substr(3)) {
        EXPECT_NE(std::string_view("abcdefghijklmnopqrstuvwxyz234567").find(c),
                  std::string_view::npos);
    }
}

TEST(Random, DigitsHaveRequestedLengthAndNonZeroFirst) {
    testing::FakeRandom random(1, {0, 0, 9});
    EXPECT_EQ(RandomDigits(random, 3), "109");
    EXPECT_EQ(RandomDigits(random, 0), "");
    EXPECT_EQ(RandomDigits(random, 12).size(), 12u);
}

}  // namespace
}  // namespace kizuna::core

namespace kizuna::core {
namespace {

TEST(Ids, LuhnDetectsEverySingleDigitError) {
    testing::FakeRandom random(17);
    for (int n = 0; n < 30; ++n) {
        const std::string number = NewCardNumber(random);
        for (std::size_t pos = 0; pos < number.size(); ++pos) {
            for (char d = '0'; d <= '9'; ++d) {
                if (d == number[pos]) continue;
                std::string wrong = number;
                wrong[pos] = d;
                EXPECT_FALSE(LuhnValid(wrong)) << number << " -> " << wrong;
            }
        }
    }
}

TEST(Ids, DammCheckDigitMakesEveryThreeDigitNumberValid) {
    for (int n = 0; n < 1000; ++n) {
        std::string digits = std::to_string(n);
        digits.insert(0, 3 - digits.size(), '0');
        const char check = DammCheckDigit(digits);
        ASSERT_GE(check, '0');
        ASSERT_LE(check, '9');
        EXPECT_TRUE(DammValid(digits + check)) << digits;
        int valid_checks = 0;
        for (char c = '0'; c <= '9'; ++c) valid_checks += DammValid(digits + c) ? 1 : 0;
        EXPECT_EQ(valid_checks, 1) << digits;
    }
}

TEST(Ids, OpaqueIdsUseEveryBase32CharacterAndDoNotRepeat) {
    testing::FakeRandom random(23);
    std::set<char> chars;
    std::set<std::string> ids;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = NewOpaqueId(random, "of");
        ids.insert(id);
        for (const char c : id.substr(3)) chars.insert(c);
    }
    EXPECT_EQ(ids.size(), 1000u);
    EXPECT_EQ(chars.size(), 32u);
}

}  // namespace
}  // namespace kizuna::core
