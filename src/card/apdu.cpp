#include "card/apdu.hpp"

#include <cstdio>

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

core::Result<std::string> CommandApdu::Encode() const {
    if (data.size() > 255) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "APDU data of " + std::to_string(data.size()) +
                             " bytes does not fit a short APDU (255 at most)");
    }
    std::string out{static_cast<char>(cla), static_cast<char>(ins), static_cast<char>(p1),
                    static_cast<char>(p2)};
    if (!data.empty()) {
        out.push_back(static_cast<char>(data.size()));
        out += data;
    }
    if (le) out.push_back(static_cast<char>(*le));
    return out;
}

core::Result<CommandApdu> CommandApdu::Parse(std::string_view bytes) {
    if (bytes.size() < 4) {
        return MakeError(ErrorCode::kInvalidArgument, "APDU shorter than its 4-byte header");
    }
    CommandApdu apdu;
    apdu.cla = static_cast<uint8_t>(bytes[0]);
    apdu.ins = static_cast<uint8_t>(bytes[1]);
    apdu.p1 = static_cast<uint8_t>(bytes[2]);
    apdu.p2 = static_cast<uint8_t>(bytes[3]);
    if (bytes.size() == 4) return apdu;
    if (bytes.size() == 5) {
        apdu.le = static_cast<uint8_t>(bytes[4]);
        return apdu;
    }
    const std::size_t lc = static_cast<uint8_t>(bytes[4]);
    if (lc == 0) {
        return MakeError(ErrorCode::kInvalidArgument, "extended-length APDUs are not supported");
    }
    if (bytes.size() == 5 + lc) {
        apdu.data = std::string(bytes.substr(5, lc));
        return apdu;
    }
    if (bytes.size() == 6 + lc) {
        apdu.data = std::string(bytes.substr(5, lc));
        apdu.le = static_cast<uint8_t>(bytes[5 + lc]);
        return apdu;
    }
    return MakeError(ErrorCode::kInvalidArgument, "APDU length " + std::to_string(bytes.size()) +
                                                      " does not match Lc " + std::to_string(lc));
}

std::size_t CommandApdu::MaxResponseLength() const {
    if (!le) return 0;
    return *le == 0 ? 256 : *le;
}

std::string ResponseApdu::Encode() const {
    std::string out = data;
    out.push_back(static_cast<char>(sw >> 8));
    out.push_back(static_cast<char>(sw & 0xFF));
    return out;
}

core::Result<ResponseApdu> ResponseApdu::Parse(std::string_view bytes) {
    if (bytes.size() < 2) {
        return MakeError(ErrorCode::kInvalidArgument, "card response of " +
                                                          std::to_string(bytes.size()) +
                                                          " bytes lacks the two status bytes");
    }
    ResponseApdu response;
    response.data = std::string(bytes.substr(0, bytes.size() - 2));
    response.sw = static_cast<uint16_t>((static_cast<uint8_t>(bytes[bytes.size() - 2]) << 8) |
                                        static_cast<uint8_t>(bytes[bytes.size() - 1]));
    return response;
}

std::string DescribeStatusWord(uint16_t status_word) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04X", static_cast<unsigned>(status_word));
    std::string meaning;
    switch (status_word) {
        case sw::kOk:
            meaning = "success";
            break;
        case sw::kWrongLength:
            meaning = "wrong length";
            break;
        case sw::kIncompatibleFileStructure:
            meaning = "command incompatible with file";
            break;
        case sw::kConditionsNotSatisfied:
            meaning = "conditions of use not satisfied";
            break;
        case sw::kNoCurrentEf:
            meaning = "command not allowed, nothing selected";
            break;
        case sw::kFileNotFound:
            meaning = "file or application not found";
            break;
        case sw::kRecordNotFound:
            meaning = "record not found";
            break;
        case sw::kNotEnoughMemory:
            meaning = "not enough memory in file";
            break;
        case sw::kIncorrectP1P2:
            meaning = "incorrect parameters P1-P2";
            break;
        case sw::kInsNotSupported:
            meaning = "instruction not supported";
            break;
        case sw::kClaNotSupported:
            meaning = "class not supported";
            break;
        default:
            meaning = (status_word & 0xFF00) == 0x6C00 ? "wrong Le" : "unexpected status";
    }
    return std::string(hex) + " (" + meaning + ")";
}

std::string ToHex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 0x0F]);
    }
    return out;
}

core::Result<std::string> FromHex(std::string_view hex) {
    if (hex.size() % 2 != 0) {
        return MakeError(ErrorCode::kInvalidArgument, "hex text has an odd number of digits");
    }
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]);
        const int lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return MakeError(ErrorCode::kInvalidArgument, "hex text has a non-hex character");
        }
        out.push_back(static_cast<char>((hi << 4) | lo));
    }
    return out;
}

CommandApdu SelectByAid(std::string_view aid) {
    // P1=04: select by DF name; P2=00: first occurrence, return the FCI template.
    return CommandApdu{0x00, ins::kSelect, 0x04, 0x00, std::string(aid), uint8_t{0}};
}

CommandApdu ReadRecord(uint8_t record_number, uint8_t sfi) {
    // P2 = SFI in b8-b4, b3-b1 = 100: P1 is the record number.
    return CommandApdu{
        0x00, ins::kReadRecord, record_number, static_cast<uint8_t>((sfi << 3) | 0x04),
        {},   uint8_t{0}};
}

CommandApdu AppendRecord(std::string_view record, uint8_t sfi) {
    return CommandApdu{
        0x00,        ins::kAppendRecord, 0x00, static_cast<uint8_t>(sfi << 3), std::string(record),
        std::nullopt};
}

}  // namespace kizuna::card
