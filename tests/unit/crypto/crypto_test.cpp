#include "crypto/crypto.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "core/card_record.hpp"

namespace kizuna::crypto {
namespace {

class Crypto : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { InitCrypto(); }
};

TEST_F(Crypto, HashedPasswordVerifies) {
    const std::string hash = HashPassword("correct horse battery");
    EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
    EXPECT_TRUE(VerifyPassword(hash, "correct horse battery"));
}

TEST_F(Crypto, WrongPasswordFails) {
    const std::string hash = HashPassword("correct horse battery");
    EXPECT_FALSE(VerifyPassword(hash, "correct horse batterY"));
    EXPECT_FALSE(VerifyPassword(hash, ""));
}

TEST_F(Crypto, SamePasswordHashesDifferentlyEachTime) {
    const std::string a = HashPassword("パスワード八文字");
    const std::string b = HashPassword("パスワード八文字");
    EXPECT_NE(a, b);  // random salt
    EXPECT_TRUE(VerifyPassword(a, "パスワード八文字"));
    EXPECT_TRUE(VerifyPassword(b, "パスワード八文字"));
}

TEST_F(Crypto, MalformedHashNeverVerifies) {
    EXPECT_FALSE(VerifyPassword("", "x"));
    EXPECT_FALSE(VerifyPassword("not a hash", "not a hash"));
    EXPECT_FALSE(VerifyPassword(std::string(1000, '$'), "x"));
}

TEST_F(Crypto, SecretTokensAreUrlSafeAndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string token = NewSecretToken();
        EXPECT_EQ(token.size(), 43u);  // 32 bytes in unpadded base64url
        auto raw = core::Base64UrlDecode(token);
        ASSERT_TRUE(raw.has_value());
        EXPECT_EQ(raw->size(), 32u);
        seen.insert(token);
    }
    EXPECT_EQ(seen.size(), 100u);
    EXPECT_EQ(NewSecretToken(16).size(), 22u);
}

TEST_F(Crypto, DigestIsBlake2b256Hex) {
    // BLAKE2b-256 of the empty string and of "abc" (reference values from RFC 7693's code).
    EXPECT_EQ(Digest(""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    EXPECT_EQ(Digest("abc"), "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    EXPECT_NE(Digest("abd"), Digest("abc"));
}

TEST_F(Crypto, ConstantTimeEqualsComparesWholeStrings) {
    EXPECT_TRUE(ConstantTimeEquals("token-1", "token-1"));
    EXPECT_FALSE(ConstantTimeEquals("token-1", "token-2"));
    EXPECT_FALSE(ConstantTimeEquals("token", "token-1"));
    EXPECT_TRUE(ConstantTimeEquals("", ""));
    EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST_F(Crypto, SignatureVerifiesWithItsPublicKey) {
    const SigningKeyPair keys = NewSigningKeyPair();
    EXPECT_EQ(keys.public_key.size(), 32u);
    EXPECT_EQ(keys.secret_key.size(), 64u);
    const std::string signature = Sign("card 9810...", keys.secret_key);
    EXPECT_EQ(signature.size(), 64u);
    EXPECT_TRUE(VerifySignature("card 9810...", signature, keys.public_key));
}

TEST_F(Crypto, TamperedMessageOrSignatureFails) {
    const SigningKeyPair keys = NewSigningKeyPair();
    const std::string message = "member 1234567890";
    std::string signature = Sign(message, keys.secret_key);
    EXPECT_FALSE(VerifySignature("member 1234567891", signature, keys.public_key));
    signature[10] = static_cast<char>(signature[10] ^ 0x01);
    EXPECT_FALSE(VerifySignature(message, signature, keys.public_key));
    EXPECT_FALSE(VerifySignature(message, signature.substr(0, 63), keys.public_key));
}

TEST_F(Crypto, SignatureFromAnotherKeyFails) {
    const SigningKeyPair a = NewSigningKeyPair();
    const SigningKeyPair b = NewSigningKeyPair();
    const std::string signature = Sign("hello", a.secret_key);
    EXPECT_FALSE(VerifySignature("hello", signature, b.public_key));
    EXPECT_FALSE(VerifySignature("hello", signature, a.public_key.substr(0, 31)));
}

TEST_F(Crypto, SignedCardRecordVerifiesAndTamperedFieldFails) {
    const SigningKeyPair keys = NewSigningKeyPair();
    core::CardRecord record;
    record.card_number = "9810123456789014";
    record.member_id = "1234567890";
    record.issued_at = core::FromUnixSeconds(1'800'000'000);
    record.issuing_store = "st_abc";
    record.signature = Sign(*core::SignedPortion(record), keys.secret_key);
    auto text = core::CardRecordToText(record);
    ASSERT_TRUE(text.has_value());
    auto read = core::CardRecordFromText(*text);
    ASSERT_TRUE(read.has_value());
    EXPECT_TRUE(VerifySignature(*core::SignedPortion(*read), read->signature, keys.public_key));
    read->member_id = "1234567891";
    EXPECT_FALSE(VerifySignature(*core::SignedPortion(*read), read->signature, keys.public_key));
}

TEST_F(Crypto, SystemRandomStaysBelowSmallAndLargeBounds) {
    SystemRandom random;
    std::set<uint64_t> small;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t v = random.Uniform(10);
        ASSERT_LT(v, 10u);
        small.insert(v);
    }
    EXPECT_EQ(small.size(), 10u);  // all ten digits show up in 1000 draws
    EXPECT_EQ(random.Uniform(1), 0u);
    const uint64_t big = (uint64_t{1} << 40) + 12345;
    bool above_32_bits = false;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t v = random.Uniform(big);
        ASSERT_LT(v, big);
        above_32_bits = above_32_bits || v > 0xFFFFFFFFu;
    }
    EXPECT_TRUE(above_32_bits);
    const uint64_t max = std::numeric_limits<uint64_t>::max();
    for (int i = 0; i < 100; ++i) ASSERT_LT(random.Uniform(max), max);
    for (int i = 0; i < 100; ++i) ASSERT_LT(random.Uniform(0x100000000ULL), 0x100000000ULL);
}

}  // namespace
}  // namespace kizuna::crypto
