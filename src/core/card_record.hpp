#pragma once
// The signed card record: what a write-once chip card holds and what a QR code carries. The hub
// signs it with Ed25519 so a store node can tell a genuine card offline. Compact binary, one
// card record (at most 129 bytes):
//   [0]      version (1)
//   [1..8]   card number, uint64 big-endian
//   [9..13]  member id, 40-bit big-endian
//   [14..15] generation, uint16 big-endian
//   [16..23] issued_at, int64 big-endian unix seconds
//   [24]     n = length of the issuing store id (0..40)
//   [25..]   the store id, ASCII
//   then     64-byte Ed25519 signature over everything before it
// Text form (QR payload, JSON "record"): "KZ1." + base64url(binary), no padding.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

inline constexpr int kCardRecordVersion = 1;
inline constexpr std::size_t kCardSignatureBytes = 64;
inline constexpr std::string_view kCardRecordTextPrefix = "KZ1.";

struct CardRecord {
    int version = kCardRecordVersion;
    std::string card_number;  // 16 digits
    std::string member_id;    // 10 digits
    int generation = 1;
    Timestamp issued_at{};
    std::string issuing_store;  // store id, may be empty
    std::string signature;      // 64 bytes raw; empty before signing

    friend bool operator==(const CardRecord&, const CardRecord&) = default;
};

// The bytes the signature covers. Errors: kInvalidArgument for fields out of range.
Result<std::string> SignedPortion(const CardRecord& record);
// SignedPortion + signature. The signature must be 64 bytes.
Result<std::string> EncodeCardRecord(const CardRecord& record);
// Parses the binary form; does not verify the signature (crypto does that). Errors:
// kInvalidArgument for a wrong version, length or malformed digits.
Result<CardRecord> DecodeCardRecord(std::string_view bytes);

Result<std::string> CardRecordToText(const CardRecord& record);
Result<CardRecord> CardRecordFromText(std::string_view text);

// RFC 4648 base64url without padding.
std::string Base64UrlEncode(std::string_view bytes);
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace kizuna::core
