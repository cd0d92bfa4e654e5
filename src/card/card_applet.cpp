#include "card/card_applet.hpp"

#include <utility>

namespace kizuna::card {

namespace {
constexpr uint16_t kMemoryFailure = 0x6581;

ResponseApdu Status(uint16_t status_word) { return ResponseApdu{{}, status_word}; }

// BER-TLV with a one-byte length (every object here is shorter than 128 bytes).
std::string Tlv(uint8_t tag, std::string_view value) {
    std::string out{static_cast<char>(tag), static_cast<char>(value.size())};
    out += value;
    return out;
}

// Checks the Le of a command that returns `available` bytes of data.
bool LeFits(const CommandApdu& command, std::size_t available, ResponseApdu* wrong_le) {
    if (command.le && *command.le != 0 && *command.le < available) {
        *wrong_le = Status(sw::WrongLe(static_cast<uint8_t>(available)));
        return false;
    }
    return true;
}
}  // namespace

CardApplet::CardApplet(CardImage image, Persist persist)
    : image_(std::move(image)), persist_(std::move(persist)) {}

std::string CardApplet::Atr() {
    // TS=3B direct convention; T0: TD1 follows, 10 historical bytes; TD1: TD2 follows, T=0;
    // TD2: T=1. A T=1 ATR ends with TCK, the XOR of T0 through the last historical byte.
    std::string atr{"\x3B\x8A\x80\x01", 4};
    atr += "KIZUNACARD";
    uint8_t tck = 0;
    for (std::size_t i = 1; i < atr.size(); ++i) tck ^= static_cast<uint8_t>(atr[i]);
    atr.push_back(static_cast<char>(tck));
    return atr;
}

std::string CardApplet::ProcessBytes(std::string_view command) {
    auto parsed = CommandApdu::Parse(command);
    if (!parsed) return Status(sw::kWrongLength).Encode();
    return Process(*parsed).Encode();
}

ResponseApdu CardApplet::Process(const CommandApdu& command) {
    if (command.cla != 0x00) return Status(sw::kClaNotSupported);
    switch (command.ins) {
        case ins::kSelect:
            return Select(command);
        case ins::kReadRecord:
            return ReadRecord(command);
        case ins::kAppendRecord:
            return AppendRecord(command);
        case ins::kUpdateRecord:
        case ins::kWriteRecord:
        case ins::kEraseRecord:
            return Status(selected_ ? sw::kConditionsNotSatisfied : sw::kNoCurrentEf);
        case ins::kUpdateBinary:
        case ins::kWriteBinary:
        case ins::kEraseBinary:
            return Status(selected_ ? sw::kIncompatibleFileStructure : sw::kNoCurrentEf);
        default:
            return Status(sw::kInsNotSupported);
    }
}

std::string CardApplet::Fci() const {
    // FCI template: DF name, then proprietary data: records held, record slots, max length.
    std::string proprietary = Tlv(0x80, std::string(1, static_cast<char>(image_.records().size())));
    proprietary += Tlv(0x81, std::string(1, static_cast<char>(image_.capacity())));
    proprietary += Tlv(0x82, std::string(1, static_cast<char>(CardImage::kMaxRecordLength)));
    return Tlv(0x6F, Tlv(0x84, image_.aid()) + Tlv(0xA5, proprietary));
}

ResponseApdu CardApplet::Select(const CommandApdu& command) {
    if (command.p1 != 0x04 || (command.p2 != 0x00 && command.p2 != 0x0C)) {
        return Status(sw::kIncorrectP1P2);
    }
    if (command.data.empty() || command.data.size() > 16) return Status(sw::kWrongLength);
    if (command.data != image_.aid()) {
        // A failed SELECT leaves no application selected, as after a reset.
        selected_ = false;
        return Status(sw::kFileNotFound);
    }
    selected_ = true;
    if (command.p2 == 0x0C || !command.le) return Status(sw::kOk);
    const std::string fci = Fci();
    ResponseApdu wrong_le;
    if (!LeFits(command, fci.size(), &wrong_le)) return wrong_le;
    return ResponseApdu{fci, sw::kOk};
}

ResponseApdu CardApplet::ReadRecord(const CommandApdu& command) {
    if (!selected_) return Status(sw::kNoCurrentEf);
    if ((command.p2 & 0x07) != 0x04 || command.p1 == 0) return Status(sw::kIncorrectP1P2);
    const uint8_t sfi = command.p2 >> 3;
    if (sfi != 0 && sfi != kRecordFileSfi) return Status(sw::kFileNotFound);
    if (!command.data.empty() || !command.le) return Status(sw::kWrongLength);
    const auto& records = image_.records();
    if (command.p1 > records.size()) return Status(sw::kRecordNotFound);
    const std::string& record = records[command.p1 - 1];
    ResponseApdu wrong_le;
    if (!LeFits(command, record.size(), &wrong_le)) return wrong_le;
    return ResponseApdu{record, sw::kOk};
}

ResponseApdu CardApplet::AppendRecord(const CommandApdu& command) {
    if (!selected_) return Status(sw::kNoCurrentEf);
    if (command.p1 != 0x00 || (command.p2 & 0x07) != 0x00) return Status(sw::kIncorrectP1P2);
    const uint8_t sfi = command.p2 >> 3;
    if (sfi != 0 && sfi != kRecordFileSfi) return Status(sw::kFileNotFound);
    if (command.data.empty() || command.data.size() > CardImage::kMaxRecordLength) {
        return Status(sw::kWrongLength);
    }
    if (image_.full()) return Status(sw::kNotEnoughMemory);
    CardImage next = image_;
    if (!next.Append(command.data)) return Status(sw::kNotEnoughMemory);
    if (persist_ && !persist_(next)) return Status(kMemoryFailure);
    image_ = std::move(next);
    return Status(sw::kOk);
}

}  // namespace kizuna::card
