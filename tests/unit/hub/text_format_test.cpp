#include "hub/text_format.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace kizuna::hub {
namespace {

TEST(TextFormat, GroupsThousands) {
    EXPECT_EQ(GroupThousands(0), "0");
    EXPECT_EQ(GroupThousands(999), "999");
    EXPECT_EQ(GroupThousands(1980), "1,980");
    EXPECT_EQ(GroupThousands(1234567), "1,234,567");
    EXPECT_EQ(GroupThousands(-12345), "-12,345");
    EXPECT_EQ(GroupThousands(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(TextFormat, MoneyUsesTheCurrencysMinorUnit) {
    EXPECT_EQ(FormatMoney(1980, "JPY"), "1,980 JPY");
    EXPECT_EQ(FormatMoney(1980, "USD"), "19.80 USD");
    EXPECT_EQ(FormatMoney(123456705, "EUR"), "1,234,567.05 EUR");
    EXPECT_EQ(FormatMoney(1980, "KWD"), "1.980 KWD");
    EXPECT_EQ(FormatMoney(5, "USD"), "0.05 USD");
    EXPECT_EQ(FormatMoney(-150, "USD"), "-1.50 USD");
}

}  // namespace
}  // namespace kizuna::hub
