#include "core/card_record.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace kizuna::core {
namespace {

CardRecord SampleRecord() {
    CardRecord r;
    r.card_number = "9810123456789014";
    r.member_id = "1234567890";
    r.generation = 3;
    r.issued_at = FromUnixSeconds(1'800'000'000);
    r.issuing_store = "st_k3j2abcdefghijklm";
    r.signature = std::string(64, '\xAB');
    return r;
}

TEST(CardRecord, BinaryLayoutMatchesTheDocumentedFormat) {
    const CardRecord r = SampleRecord();
    auto bytes = EncodeCardRecord(r);
    ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
    ASSERT_EQ(bytes->size(), 25 + r.issuing_store.size() + 64);
    EXPECT_EQ((*bytes)[0], 1);
    uint64_t card = 0;
    for (int i = 1; i <= 8; ++i) card = (card << 8) | static_cast<uint8_t>((*bytes)[i]);
    EXPECT_EQ(card, 9810123456789014ULL);
    uint64_t member = 0;
    for (int i = 9; i <= 13; ++i) member = (member << 8) | static_cast<uint8_t>((*bytes)[i]);
    EXPECT_EQ(member, 1234567890ULL);
    EXPECT_EQ(static_cast<uint8_t>((*bytes)[14]), 0);
    EXPECT_EQ(static_cast<uint8_t>((*bytes)[15]), 3);
    int64_t issued = 0;
    for (int i = 16; i <= 23; ++i) issued = (issued << 8) | static_cast<uint8_t>((*bytes)[i]);
    EXPECT_EQ(issued, 1'800'000'000);
    EXPECT_EQ(static_cast<uint8_t>((*bytes)[24]), r.issuing_store.size());
    EXPECT_EQ(bytes->substr(25, r.issuing_store.size()), r.issuing_store);
    EXPECT_EQ(bytes->substr(25 + r.issuing_store.size()), r.signature);
    auto portion = SignedPortion(r);
    ASSERT_TRUE(portion.has_value());
    EXPECT_EQ(*portion, bytes->substr(0, 25 + r.issuing_store.size()));
}

TEST(CardRecord, RoundTripsThroughBinaryAndText) {
    const CardRecord r = SampleRecord();
    auto bytes = EncodeCardRecord(r);
    ASSERT_TRUE(bytes.has_value());
    auto decoded = DecodeCardRecord(*bytes);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, r);

    auto text = CardRecordToText(r);
    ASSERT_TRUE(text.has_value());
    EXPECT_TRUE(text->starts_with("KZ1."));
    EXPECT_EQ(text->find('='), std::string::npos);
    auto back = CardRecordFromText(*text);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(*back, r);
}

TEST(CardRecord, LeadingZerosAndEmptyStoreSurvive) {
    CardRecord r = SampleRecord();
    r.card_number = "0000000000000018";
    r.member_id = "0000000000";
    r.issuing_store = "";
    auto bytes = EncodeCardRecord(r);
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(bytes->size(), 25u + 64u);
    auto back = DecodeCardRecord(*bytes);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, r);
}

TEST(CardRecord, LongestRecordIs129Bytes) {
    CardRecord r = SampleRecord();
    r.issuing_store = std::string(40, 's');
    auto bytes = EncodeCardRecord(r);
    ASSERT_TRUE(bytes.has_value());
    EXPECT_EQ(bytes->size(), 129u);
    r.issuing_store = std::string(41, 's');
    EXPECT_FALSE(EncodeCardRecord(r).has_value());
}

TEST(CardRecord, EncodeRejectsFieldsOutOfRange) {
    const std::vector<std::function<void(CardRecord&)>> changes = {
        [](CardRecord& r) { r.version = 2; },
        [](CardRecord& r) { r.card_number = "981012345678901"; },
        [](CardRecord& r) { r.card_number = "98101234567890a4"; },
        [](CardRecord& r) { r.member_id = "12345678901"; },
        [](CardRecord& r) { r.generation = 0; },
        [](CardRecord& r) { r.generation = 65536; },
        [](CardRecord& r) { r.issuing_store = "店舗"; },
        [](CardRecord& r) { r.signature = std::string(63, 'x'); },
    };
    for (std::size_t i = 0; i < changes.size(); ++i) {
        CardRecord r = SampleRecord();
        changes[i](r);
        auto bytes = EncodeCardRecord(r);
        ASSERT_FALSE(bytes.has_value()) << "change " << i;
        EXPECT_EQ(bytes.error().code, ErrorCode::kInvalidArgument);
    }
    CardRecord unsigned_record = SampleRecord();
    unsigned_record.signature.clear();
    EXPECT_TRUE(SignedPortion(unsigned_record).has_value());
}

TEST(CardRecord, DecodeRejectsWrongVersionLengthAndDigits) {
    const std::string good = *EncodeCardRecord(SampleRecord());
    std::string wrong_version = good;
    wrong_version[0] = 2;
    EXPECT_FALSE(DecodeCardRecord(wrong_version).has_value());
    EXPECT_FALSE(DecodeCardRecord(good.substr(0, good.size() - 1)).has_value());
    EXPECT_FALSE(DecodeCardRecord(good + "x").has_value());
    EXPECT_FALSE(DecodeCardRecord("").has_value());
    std::string too_big_card = good;
    for (int i = 1; i <= 8; ++i) too_big_card[i] = '\xFF';
    EXPECT_FALSE(DecodeCardRecord(too_big_card).has_value());
    std::string too_big_member = good;
    for (int i = 9; i <= 13; ++i) too_big_member[i] = '\xFF';
    EXPECT_FALSE(DecodeCardRecord(too_big_member).has_value());
    std::string long_store = good;
    long_store[24] = 41;
    EXPECT_FALSE(DecodeCardRecord(long_store).has_value());
}

TEST(CardRecord, FromTextRejectsMissingPrefixAndBadBase64) {
    const std::string text = *CardRecordToText(SampleRecord());
    EXPECT_FALSE(CardRecordFromText(text.substr(4)).has_value());
    EXPECT_FALSE(CardRecordFromText("KZ2." + text.substr(4)).has_value());
    EXPECT_FALSE(CardRecordFromText(text + "=").has_value());
    std::string bad_char = text;
    bad_char[10] = '+';
    EXPECT_FALSE(CardRecordFromText(bad_char).has_value());
}

TEST(Base64Url, MatchesRfc4648Vectors) {
    const std::vector<std::pair<std::string, std::string>> vectors = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(Base64UrlEncode(plain), encoded);
        auto decoded = Base64UrlDecode(encoded);
        ASSERT_TRUE(decoded.has_value()) << encoded;
        EXPECT_EQ(*decoded, plain);
    }
}

TEST(Base64Url, UsesUrlSafeAlphabet) {
    EXPECT_EQ(Base64UrlEncode("\xFB\xFF"), "-_8");
    EXPECT_EQ(*Base64UrlDecode("-_8"), "\xFB\xFF");
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    EXPECT_EQ(*Base64UrlDecode(Base64UrlEncode(all)), all);
}

TEST(Base64Url, RejectsBadCharactersPaddingAndImpossibleLengths) {
    for (const char* bad : {"Zg==", "Zm9v+", "Zm9v/", "Z", "Zm9vY", "Zm 9v", "Zm9v\n"}) {
        auto r = Base64UrlDecode(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
}

TEST(Base64Url, RejectsNonCanonicalTrailingBits) {
    EXPECT_TRUE(Base64UrlDecode("Zg").has_value());
    EXPECT_FALSE(Base64UrlDecode("Zh").has_value());   // same byte, stray low bits
    EXPECT_FALSE(Base64UrlDecode("Zm9").has_value());  // "fo" is Zm8
}

}  // namespace
}  // namespace kizuna::core
