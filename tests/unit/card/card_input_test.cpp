#include "card/card_input.hpp"

#include <gtest/gtest.h>

#include "test_records.hpp"

namespace kizuna::card {
namespace {

TEST(CardInput, AcceptsATypedCardNumberWithSpacesOrHyphens) {
    const std::string number = testing::CardNumber(1);
    const std::string typed = " " + number.substr(0, 4) + " " + number.substr(4, 4) + "-" +
                              number.substr(8, 4) + " " + number.substr(12) + "\n";
    auto input = ParseCardInput(typed);
    ASSERT_TRUE(input) << input.error().message;
    EXPECT_EQ(input->card_number, number);
    EXPECT_FALSE(input->record.has_value());
}

TEST(CardInput, AcceptsAScannedQrPayload) {
    testing::TestHub hub;
    const core::CardRecord record = hub.SignedRecord(testing::CardNumber(1));
    auto text = core::CardRecordToText(record);
    ASSERT_TRUE(text);
    auto input = ParseCardInput(*text + "\r\n");
    ASSERT_TRUE(input) << input.error().message;
    EXPECT_EQ(input->card_number, testing::CardNumber(1));
    ASSERT_TRUE(input->record.has_value());
    EXPECT_EQ(*input->record, record);
}

TEST(CardInput, RefusesAMistypedNumberAndADamagedCode) {
    std::string mistyped_number = testing::CardNumber(1);
    mistyped_number[7] = mistyped_number[7] == '5' ? '6' : '5';
    auto mistyped = ParseCardInput(mistyped_number, "card_number");
    ASSERT_FALSE(mistyped);
    EXPECT_EQ(mistyped.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(mistyped.error().field, "card_number");
    // Sixteen digits that fail their check digit say so: a digit was mistyped.
    EXPECT_NE(mistyped.error().message.find("check digit"), std::string::npos)
        << mistyped.error().message;
    EXPECT_FALSE(ParseCardInput("KZ1.!!!"));
    EXPECT_FALSE(ParseCardInput(""));
}

// Found by fuzz/qr_payload_fuzzer: a well-formed code whose card number failed its check digit
// was accepted, though CardInput promises a Luhn-checked number.
TEST(CardInput, RefusesACodeWhoseCardNumberFailsItsCheckDigit) {
    testing::TestHub hub;
    core::CardRecord record = hub.SignedRecord(testing::CardNumber(1));
    record.card_number[15] = record.card_number[15] == '0' ? '1' : '0';
    auto text = core::CardRecordToText(record);
    ASSERT_TRUE(text);
    auto input = ParseCardInput(*text, "card");
    ASSERT_FALSE(input);
    EXPECT_EQ(input.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_EQ(input.error().field, "card");
}

}  // namespace
}  // namespace kizuna::card
