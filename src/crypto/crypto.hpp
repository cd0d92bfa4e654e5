#pragma once
// Thin, safe wrappers over libsodium: password hashing (Argon2id), secret tokens, digests,
// Ed25519 signatures. (base64url is pure text work: core/card_record.hpp.) Every function is
// thread-safe once InitCrypto() has run.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/random.hpp"
#include "core/result.hpp"

namespace kizuna::crypto {

// Initializes libsodium. Call once at start-up; throws std::runtime_error if it cannot.
void InitCrypto();

// Argon2id, interactive limits, as libsodium's self-describing "$argon2id$..." string.
std::string HashPassword(std::string_view password);
bool VerifyPassword(std::string_view hash, std::string_view password);

// A new secret of `bytes` random bytes, base64url without padding (API keys, session tokens).
std::string NewSecretToken(std::size_t bytes = 32);
// Fast keyed-less digest (BLAKE2b-256) as lowercase hex. For high-entropy secrets (tokens,
// API keys), where a slow hash adds nothing, and for request fingerprints.
std::string Digest(std::string_view data);

// HMAC-SHA-256 of `message` under `key` (any length), as lowercase hex (webhook signatures).
std::string HmacSha256Hex(std::string_view key, std::string_view message);
// `bytes` random bytes as lowercase hex (webhook secrets).
std::string NewHexSecret(std::size_t bytes = 32);

// Constant-time comparison of equal-length strings.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

struct SigningKeyPair {
    std::string public_key;  // 32 bytes, raw
    std::string secret_key;  // 64 bytes, raw
};
SigningKeyPair NewSigningKeyPair();
// A 64-byte signature. Throws std::invalid_argument if the secret key is not 64 bytes (a
// programming or start-up error: keys are loaded once).
std::string Sign(std::string_view message, std::string_view secret_key);
bool VerifySignature(std::string_view message, std::string_view signature,
                     std::string_view public_key);

// Authenticated secret-key encryption (XSalsa20-Poly1305, libsodium's secretbox) under a key
// derived from `secret` (any length, high entropy) and `context` (which keeps keys for
// different purposes apart): a random nonce followed by the ciphertext. Unseal gives none for
// anything Seal did not make with the same secret and context (tampered, truncated, other key).
std::string Seal(std::string_view plaintext, std::string_view secret, std::string_view context);
std::optional<std::string> Unseal(std::string_view sealed, std::string_view secret,
                                  std::string_view context);

// core::Random backed by the operating system's CSPRNG (randombytes_uniform).
class SystemRandom final : public core::Random {
  public:
    uint64_t Uniform(uint64_t upper_bound) override;
};

}  // namespace kizuna::crypto
