#pragma once
// ISO/IEC 7816-4 command and response APDUs (short length form only: our records fit in one
// short APDU), the instruction bytes and status words the Kizuna card speaks, and the
// application id of the Kizuna card application.
// Thread-safety: plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace kizuna::card {

// Proprietary (category F) application identifier: F0 "KIZUNA" 01.
inline constexpr std::string_view kKizunaAid{"\xF0\x4B\x49\x5A\x55\x4E\x41\x01", 8};
// Short EF identifier of the append-only record file inside the application.
inline constexpr uint8_t kRecordFileSfi = 1;

// Instruction bytes (ISO/IEC 7816-4 section 11).
namespace ins {
inline constexpr uint8_t kSelect = 0xA4;
inline constexpr uint8_t kReadRecord = 0xB2;
inline constexpr uint8_t kAppendRecord = 0xE2;
inline constexpr uint8_t kUpdateRecord = 0xDC;
inline constexpr uint8_t kWriteRecord = 0xD2;
inline constexpr uint8_t kEraseRecord = 0x0C;
inline constexpr uint8_t kUpdateBinary = 0xD6;
inline constexpr uint8_t kWriteBinary = 0xD0;
inline constexpr uint8_t kEraseBinary = 0x0E;
}  // namespace ins

// Status words (ISO/IEC 7816-4 section 5.6).
namespace sw {
inline constexpr uint16_t kOk = 0x9000;
inline constexpr uint16_t kWrongLength = 0x6700;  // Lc/Le inconsistent or bad data length
inline constexpr uint16_t kIncompatibleFileStructure = 0x6981;
inline constexpr uint16_t kConditionsNotSatisfied = 0x6985;  // the file is write-once
inline constexpr uint16_t kNoCurrentEf = 0x6986;             // nothing selected yet
inline constexpr uint16_t kFileNotFound = 0x6A82;            // also: application not found
inline constexpr uint16_t kRecordNotFound = 0x6A83;
inline constexpr uint16_t kNotEnoughMemory = 0x6A84;  // the record file is full
inline constexpr uint16_t kIncorrectP1P2 = 0x6A86;
inline constexpr uint16_t kInsNotSupported = 0x6D00;
inline constexpr uint16_t kClaNotSupported = 0x6E00;
// 6Cxx: wrong Le; xx is the exact length available.
inline constexpr uint16_t WrongLe(uint8_t exact) { return static_cast<uint16_t>(0x6C00 | exact); }
}  // namespace sw

// A short command APDU. `le` absent means no response data expected (case 1/3); a present le of
// 0 means "up to 256 bytes" as on the wire.
struct CommandApdu {
    uint8_t cla = 0x00;
    uint8_t ins = 0;
    uint8_t p1 = 0;
    uint8_t p2 = 0;
    std::string data;           // at most 255 bytes
    std::optional<uint8_t> le;  // wire value of Le

    // The bytes on the wire. Errors: kInvalidArgument when data exceeds 255 bytes.
    core::Result<std::string> Encode() const;
    // Parses cases 1-4 (short). Errors: kInvalidArgument for a malformed length field.
    static core::Result<CommandApdu> Parse(std::string_view bytes);
    // Maximum response data length this command accepts (256 for Le=00, 0 without Le).
    std::size_t MaxResponseLength() const;
};

struct ResponseApdu {
    std::string data;
    uint16_t sw = sw::kOk;

    std::string Encode() const;
    // Errors: kInvalidArgument when fewer than the two status bytes arrived.
    static core::Result<ResponseApdu> Parse(std::string_view bytes);
    bool ok() const { return sw == sw::kOk; }
};

// "6A82" style rendering of a status word, with its ISO meaning, for error messages.
std::string DescribeStatusWord(uint16_t status_word);
// Upper-case hex of bytes, for logs and the card image file.
std::string ToHex(std::string_view bytes);
// Errors: kInvalidArgument for odd length or a non-hex character.
core::Result<std::string> FromHex(std::string_view hex);

// Builders for the commands the protocol sends.
CommandApdu SelectByAid(std::string_view aid);
CommandApdu ReadRecord(uint8_t record_number, uint8_t sfi);
CommandApdu AppendRecord(std::string_view record, uint8_t sfi);

}  // namespace kizuna::card
