#include "card/card_verifier.hpp"

#include <gtest/gtest.h>

#include "test_records.hpp"

namespace kizuna::card {
namespace {

class CardVerifierTest : public ::testing::Test {
  protected:
    testing::TestHub hub_;
    CardVerifier verifier_ = *CardVerifier::Create(hub_.keys.public_key);

    void ExpectRefused(const core::CardRecord& record) {
        auto verified = verifier_.Verify(record);
        ASSERT_FALSE(verified);
        EXPECT_EQ(verified.error().code, core::ErrorCode::kUnauthenticated);
    }
};

TEST_F(CardVerifierTest, AcceptsARecordSignedByTheHub) {
    const core::CardRecord record = hub_.SignedRecord();
    auto verified = verifier_.Verify(record);
    ASSERT_TRUE(verified) << verified.error().message;
    EXPECT_EQ(*verified, record);
}

TEST_F(CardVerifierTest, RefusesEveryAlteredField) {
    const core::CardRecord genuine = hub_.SignedRecord();
    core::CardRecord altered = genuine;
    altered.card_number = testing::CardNumber(2);
    ExpectRefused(altered);
    altered = genuine;
    altered.member_id = "1234567891";
    ExpectRefused(altered);
    altered = genuine;
    altered.generation = 2;
    ExpectRefused(altered);
    altered = genuine;
    altered.issued_at += std::chrono::seconds(1);
    ExpectRefused(altered);
    altered = genuine;
    altered.issuing_store = "st_elsewhere";
    ExpectRefused(altered);
    altered = genuine;
    altered.signature[10] ^= 0x01;
    ExpectRefused(altered);
}

TEST_F(CardVerifierTest, RefusesAnUnsignedRecord) {
    core::CardRecord unsigned_record = hub_.SignedRecord();
    unsigned_record.signature.clear();
    ExpectRefused(unsigned_record);
}

TEST_F(CardVerifierTest, RefusesARecordFromAnotherHub) {
    testing::TestHub other_hub;
    ExpectRefused(other_hub.SignedRecord());
}

TEST_F(CardVerifierTest, RefusesAFlippedBitInTheBinaryForm) {
    auto bytes = core::EncodeCardRecord(hub_.SignedRecord());
    ASSERT_TRUE(bytes);
    ASSERT_TRUE(verifier_.VerifyBytes(*bytes));
    for (std::size_t i = 0; i < bytes->size(); ++i) {
        std::string altered = *bytes;
        altered[i] ^= 0x04;
        auto verified = verifier_.VerifyBytes(altered);
        ASSERT_FALSE(verified) << "a flipped bit at byte " << i << " went unnoticed";
        EXPECT_EQ(verified.error().code, core::ErrorCode::kUnauthenticated);
    }
}

TEST_F(CardVerifierTest, VerifiesTheQrTextForm) {
    auto text = core::CardRecordToText(hub_.SignedRecord());
    ASSERT_TRUE(text);
    EXPECT_TRUE(verifier_.VerifyText(*text));
    EXPECT_FALSE(verifier_.VerifyText("KZ1.AAAA"));
    EXPECT_FALSE(verifier_.VerifyText("not a card"));
}

TEST(CardVerifier, RefusesAKeyOfTheWrongSize) {
    auto verifier = CardVerifier::Create("short");
    ASSERT_FALSE(verifier);
    EXPECT_EQ(verifier.error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kizuna::card
