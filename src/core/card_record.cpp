#include "core/card_record.hpp"

#include <array>

namespace kizuna::core {

namespace {

constexpr std::size_t kHeaderBytes = 25;  // version .. store id length
constexpr std::size_t kMaxStoreIdBytes = 40;
constexpr std::size_t kCardNumberDigits = 16;
constexpr std::size_t kMemberIdDigits = 10;
constexpr uint64_t kMaxMemberIdValue = (uint64_t{1} << 40) - 1;
constexpr int kMaxGeneration = 0xFFFF;

constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Error Invalid(std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message), "record");
}

bool ParseDecimal(std::string_view text, std::size_t digits, uint64_t& out) {
    if (text.size() != digits) return false;
    uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    out = value;
    return true;
}

std::string ZeroPadded(uint64_t value, std::size_t digits) {
    std::string out(digits, '0');
    for (std::size_t i = digits; i-- > 0 && value > 0;) {
        out[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    return out;
}

uint64_t PowerOfTen(std::size_t n) {
    uint64_t p = 1;
    while (n-- > 0) p *= 10;
    return p;
}

void PutBigEndian(std::string& out, uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
    }
}

uint64_t GetBigEndian(std::string_view in, std::size_t pos, int bytes) {
    uint64_t value = 0;
    for (int i = 0; i < bytes; ++i) {
        value = (value << 8) | static_cast<uint8_t>(in[pos + static_cast<std::size_t>(i)]);
    }
    return value;
}

bool IsPrintableAscii(std::string_view text) {
    for (const char c : text) {
        if (c < 0x21 || c > 0x7E) return false;
    }
    return true;
}

int Base64UrlValue(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

}  // namespace

Result<std::string> SignedPortion(const CardRecord& record) {
    if (record.version != kCardRecordVersion) {
        return Invalid("card record version must be " + std::to_string(kCardRecordVersion));
    }
    uint64_t card_number = 0;
    if (!ParseDecimal(record.card_number, kCardNumberDigits, card_number)) {
        return Invalid("card number must be 16 digits");
    }
    uint64_t member_id = 0;
    if (!ParseDecimal(record.member_id, kMemberIdDigits, member_id)) {
        return Invalid("member id must be 10 digits");
    }
    if (record.generation < 1 || record.generation > kMaxGeneration) {
        return Invalid("card generation must be between 1 and 65535");
    }
    if (record.issuing_store.size() > kMaxStoreIdBytes || !IsPrintableAscii(record.issuing_store)) {
        return Invalid("issuing store id must be at most 40 printable ASCII characters");
    }
    std::string out;
    out.reserve(kHeaderBytes + record.issuing_store.size() + kCardSignatureBytes);
    out.push_back(static_cast<char>(record.version));
    PutBigEndian(out, card_number, 8);
    PutBigEndian(out, member_id, 5);
    PutBigEndian(out, static_cast<uint64_t>(record.generation), 2);
    PutBigEndian(out, static_cast<uint64_t>(ToUnixSeconds(record.issued_at)), 8);
    out.push_back(static_cast<char>(record.issuing_store.size()));
    out += record.issuing_store;
    return out;
}

Result<std::string> EncodeCardRecord(const CardRecord& record) {
    if (record.signature.size() != kCardSignatureBytes) {
        return Invalid("card record signature must be 64 bytes");
    }
    KZ_ASSIGN_OR_RETURN(std::string out, SignedPortion(record));
    out += record.signature;
    return out;
}

Result<CardRecord> DecodeCardRecord(std::string_view bytes) {
    if (bytes.size() < kHeaderBytes + kCardSignatureBytes) {
        return Invalid("card record is too short");
    }
    CardRecord record;
    record.version = static_cast<uint8_t>(bytes[0]);
    if (record.version != kCardRecordVersion) {
        return Invalid("unsupported card record version " + std::to_string(record.version));
    }
    const std::size_t store_length = static_cast<uint8_t>(bytes[24]);
    if (store_length > kMaxStoreIdBytes) return Invalid("card record store id is too long");
    if (bytes.size() != kHeaderBytes + store_length + kCardSignatureBytes) {
        return Invalid("card record length does not match its contents");
    }
    const uint64_t card_number = GetBigEndian(bytes, 1, 8);
    if (card_number >= PowerOfTen(kCardNumberDigits)) {
        return Invalid("card record holds a malformed card number");
    }
    const uint64_t member_id = GetBigEndian(bytes, 9, 5);
    if (member_id >= PowerOfTen(kMemberIdDigits) || member_id > kMaxMemberIdValue) {
        return Invalid("card record holds a malformed member id");
    }
    record.card_number = ZeroPadded(card_number, kCardNumberDigits);
    record.member_id = ZeroPadded(member_id, kMemberIdDigits);
    record.generation = static_cast<int>(GetBigEndian(bytes, 14, 2));
    if (record.generation < 1) return Invalid("card record generation must be at least 1");
    record.issued_at = FromUnixSeconds(static_cast<int64_t>(GetBigEndian(bytes, 16, 8)));
    record.issuing_store = std::string(bytes.substr(kHeaderBytes, store_length));
    if (!IsPrintableAscii(record.issuing_store)) {
        return Invalid("card record store id must be printable ASCII");
    }
    record.signature = std::string(bytes.substr(kHeaderBytes + store_length));
    return record;
}

Result<std::string> CardRecordToText(const CardRecord& record) {
    KZ_ASSIGN_OR_RETURN(const std::string bytes, EncodeCardRecord(record));
    return std::string(kCardRecordTextPrefix) + Base64UrlEncode(bytes);
}

Result<CardRecord> CardRecordFromText(std::string_view text) {
    if (!text.starts_with(kCardRecordTextPrefix)) {
        return Invalid("card record text must start with \"KZ1.\"");
    }
    KZ_ASSIGN_OR_RETURN(const std::string bytes,
                        Base64UrlDecode(text.substr(kCardRecordTextPrefix.size())));
    return DecodeCardRecord(bytes);
}

std::string Base64UrlEncode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16) |
                           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8) |
                           static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 2]));
        out.push_back(kBase64UrlAlphabet[(n >> 18) & 63]);
        out.push_back(kBase64UrlAlphabet[(n >> 12) & 63]);
        out.push_back(kBase64UrlAlphabet[(n >> 6) & 63]);
        out.push_back(kBase64UrlAlphabet[n & 63]);
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16;
        out.push_back(kBase64UrlAlphabet[(n >> 18) & 63]);
        out.push_back(kBase64UrlAlphabet[(n >> 12) & 63]);
    } else if (rest == 2) {
        const uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16) |
                           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8);
        out.push_back(kBase64UrlAlphabet[(n >> 18) & 63]);
        out.push_back(kBase64UrlAlphabet[(n >> 12) & 63]);
        out.push_back(kBase64UrlAlphabet[(n >> 6) & 63]);
    }
    return out;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
    const auto bad = [](std::string message) {
        return MakeError(ErrorCode::kInvalidArgument, "base64url: " + message);
    };
    if (text.size() % 4 == 1) return bad("impossible length " + std::to_string(text.size()));
    std::string out;
    out.reserve(text.size() * 3 / 4);
    uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int v = Base64UrlValue(c);
        if (v < 0) return bad("invalid character (only A-Z a-z 0-9 - _ without padding)");
        buffer = (buffer << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
            buffer &= (1u << bits) - 1;
        }
    }
    // Strict: the bits left over after the last byte must be zero, so each byte string has
    // exactly one encoding.
    if (buffer != 0) return bad("non-zero trailing bits");
    return out;
}

}  // namespace kizuna::core
