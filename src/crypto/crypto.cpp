#include "crypto/crypto.hpp"

#include <sodium.h>

#include <limits>
#include <stdexcept>

#include "core/card_record.hpp"

namespace kizuna::crypto {

namespace {

const unsigned char* Bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

void InitCrypto() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialized");
}

std::string HashPassword(std::string_view password) {
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(
            hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        // Only fails when the memory for Argon2id cannot be allocated.
        throw std::runtime_error("password hashing ran out of memory");
    }
    return std::string(hash);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
    const std::string terminated(hash);  // libsodium reads a NUL-terminated string
    return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

std::string NewSecretToken(std::size_t bytes) {
    std::string raw(bytes, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string token = core::Base64UrlEncode(raw);
    sodium_memzero(raw.data(), raw.size());
    return token;
}

std::string Digest(std::string_view data) {
    unsigned char hash[crypto_generichash_BYTES];
    crypto_generichash(hash, sizeof hash, Bytes(data), data.size(), nullptr, 0);
    char hex[crypto_generichash_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    return std::string(hex, crypto_generichash_BYTES * 2);
}

namespace {

// The secretbox key for (secret, context): BLAKE2b keyed by the secret over the context.
std::array<unsigned char, crypto_secretbox_KEYBYTES> SealKey(std::string_view secret,
                                                             std::string_view context) {
    std::array<unsigned char, crypto_secretbox_KEYBYTES> key{};
    // A generichash key is at most crypto_generichash_KEYBYTES_MAX bytes: longer secrets are
    // digested first.
    unsigned char digested[crypto_generichash_KEYBYTES_MAX];
    crypto_generichash(digested, sizeof digested, Bytes(secret), secret.size(), nullptr, 0);
    crypto_generichash(key.data(), key.size(), Bytes(context), context.size(), digested,
                       sizeof digested);
    sodium_memzero(digested, sizeof digested);
    return key;
}

}  // namespace

std::string Seal(std::string_view plaintext, std::string_view secret, std::string_view context) {
    auto key = SealKey(secret, context);
    std::string sealed(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(),
                       '\0');
    auto* out = reinterpret_cast<unsigned char*>(sealed.data());
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, Bytes(plaintext), plaintext.size(),
                          out, key.data());
    sodium_memzero(key.data(), key.size());
    return sealed;
}

std::optional<std::string> Unseal(std::string_view sealed, std::string_view secret,
                                  std::string_view context) {
    if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        return std::nullopt;
    }
    auto key = SealKey(secret, context);
    const auto* in = Bytes(sealed);
    std::string plaintext(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES,
                          '\0');
    const int opened = crypto_secretbox_open_easy(
        reinterpret_cast<unsigned char*>(plaintext.data()), in + crypto_secretbox_NONCEBYTES,
        sealed.size() - crypto_secretbox_NONCEBYTES, in, key.data());
    sodium_memzero(key.data(), key.size());
    if (opened != 0) return std::nullopt;
    return plaintext;
}

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, Bytes(key), key.size());
    crypto_auth_hmacsha256_update(&state, Bytes(message), message.size());
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&state, mac);
    sodium_memzero(&state, sizeof state);
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    return std::string(hex, crypto_auth_hmacsha256_BYTES * 2);
}

std::string NewHexSecret(std::size_t bytes) {
    std::string raw(bytes, '\0');
    randombytes_buf(raw.data(), raw.size());
    std::string hex(bytes * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), Bytes(raw), raw.size());
    sodium_memzero(raw.data(), raw.size());
    hex.pop_back();
    return hex;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    // The length of a token is not secret; its bytes are.
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SigningKeyPair NewSigningKeyPair() {
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    unsigned char secret_key[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(public_key, secret_key);
    SigningKeyPair pair;
    pair.public_key.assign(reinterpret_cast<const char*>(public_key), sizeof public_key);
    pair.secret_key.assign(reinterpret_cast<const char*>(secret_key), sizeof secret_key);
    sodium_memzero(secret_key, sizeof secret_key);
    return pair;
}

std::string Sign(std::string_view message, std::string_view secret_key) {
    if (secret_key.size() != crypto_sign_SECRETKEYBYTES) {
        throw std::invalid_argument("Ed25519 secret key must be 64 bytes");
    }
    unsigned char signature[crypto_sign_BYTES];
    crypto_sign_detached(signature, nullptr, Bytes(message), message.size(), Bytes(secret_key));
    return std::string(reinterpret_cast<const char*>(signature), sizeof signature);
}

bool VerifySignature(std::string_view message, std::string_view signature,
                     std::string_view public_key) {
    if (signature.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES) {
        return false;
    }
    return crypto_sign_verify_detached(Bytes(signature), Bytes(message), message.size(),
                                       Bytes(public_key)) == 0;
}

uint64_t SystemRandom::Uniform(uint64_t upper_bound) {
    if (upper_bound <= 1) return 0;
    if (upper_bound <= std::numeric_limits<uint32_t>::max()) {
        return randombytes_uniform(static_cast<uint32_t>(upper_bound));
    }
    // randombytes_uniform takes 32-bit bounds only. Reject the lowest 2^64 mod upper_bound
    // values so that every residue is equally likely.
    const uint64_t threshold = (0 - upper_bound) % upper_bound;
    while (true) {
        uint64_t r = 0;
        randombytes_buf(&r, sizeof r);
        if (r >= threshold) return r % upper_bound;
    }
}

}  // namespace kizuna::crypto
