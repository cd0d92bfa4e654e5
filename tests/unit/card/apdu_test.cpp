#include "card/apdu.hpp"

#include <gtest/gtest.h>

namespace kizuna::card {
namespace {

std::string Bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) out.push_back(static_cast<char>(v));
    return out;
}

TEST(Apdu, EncodesSelectAsCaseFour) {
    auto wire = SelectByAid(kKizunaAid).Encode();
    ASSERT_TRUE(wire);
    EXPECT_EQ(ToHex(*wire), "00A4040008F04B495A554E410100");
}

TEST(Apdu, EncodesReadRecordWithSfiInP2) {
    auto wire = ReadRecord(3, kRecordFileSfi).Encode();
    ASSERT_TRUE(wire);
    EXPECT_EQ(ToHex(*wire), "00B2030C00");
}

TEST(Apdu, EncodesAppendRecordWithoutLe) {
    auto wire = AppendRecord("\x01\x02", kRecordFileSfi).Encode();
    ASSERT_TRUE(wire);
    EXPECT_EQ(ToHex(*wire), "00E20008020102");
}

TEST(Apdu, ParsesAllFourShortCases) {
    auto case1 = CommandApdu::Parse(Bytes({0x00, 0xA4, 0x04, 0x00}));
    ASSERT_TRUE(case1);
    EXPECT_TRUE(case1->data.empty());
    EXPECT_FALSE(case1->le.has_value());

    auto case2 = CommandApdu::Parse(Bytes({0x00, 0xB2, 0x01, 0x0C, 0x00}));
    ASSERT_TRUE(case2);
    EXPECT_EQ(case2->le, uint8_t{0});
    EXPECT_EQ(case2->MaxResponseLength(), 256u);

    auto case3 = CommandApdu::Parse(Bytes({0x00, 0xE2, 0x00, 0x08, 0x02, 0xAA, 0xBB}));
    ASSERT_TRUE(case3);
    EXPECT_EQ(case3->data, Bytes({0xAA, 0xBB}));
    EXPECT_FALSE(case3->le.has_value());

    auto case4 = CommandApdu::Parse(Bytes({0x00, 0xA4, 0x04, 0x00, 0x01, 0xF0, 0x10}));
    ASSERT_TRUE(case4);
    EXPECT_EQ(case4->data, Bytes({0xF0}));
    EXPECT_EQ(case4->le, uint8_t{0x10});
}

TEST(Apdu, RefusesMalformedLengths) {
    EXPECT_FALSE(CommandApdu::Parse(Bytes({0x00, 0xA4, 0x04})));
    EXPECT_FALSE(CommandApdu::Parse(Bytes({0x00, 0xE2, 0x00, 0x08, 0x03, 0xAA})));
    EXPECT_FALSE(CommandApdu::Parse(Bytes({0x00, 0xE2, 0x00, 0x08, 0x00, 0x00, 0x01, 0xAA})));
    CommandApdu too_long{0x00, ins::kAppendRecord, 0, 0, std::string(256, 'x'), std::nullopt};
    EXPECT_FALSE(too_long.Encode());
}

TEST(Apdu, ParsesResponseStatusWord) {
    auto response = ResponseApdu::Parse(Bytes({0x41, 0x6A, 0x84}));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->data, "A");
    EXPECT_EQ(response->sw, sw::kNotEnoughMemory);
    EXPECT_FALSE(response->ok());
    EXPECT_FALSE(ResponseApdu::Parse(Bytes({0x90})));
    EXPECT_EQ(DescribeStatusWord(0x6A82), "6A82 (file or application not found)");
}

TEST(Apdu, HexRoundTripsAndRefusesGarbage) {
    auto bytes = FromHex("00fF7a");
    ASSERT_TRUE(bytes);
    EXPECT_EQ(ToHex(*bytes), "00FF7A");
    EXPECT_FALSE(FromHex("abc"));
    EXPECT_FALSE(FromHex("zz"));
}

}  // namespace
}  // namespace kizuna::card
