#include "card/card_protocol.hpp"

#include <optional>

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

namespace {

core::Error CardRefused(const CardReader& reader, std::string_view what, uint16_t status_word) {
    return MakeError(ErrorCode::kUnavailable, "the card in " + reader.Name() + " refused " +
                                                  std::string(what) + ": " +
                                                  DescribeStatusWord(status_word));
}

// Finds a one-byte-length BER-TLV object `tag` directly inside `data`.
std::optional<std::string_view> FindTlv(std::string_view data, uint8_t tag) {
    std::size_t pos = 0;
    while (pos + 2 <= data.size()) {
        const uint8_t t = static_cast<uint8_t>(data[pos]);
        const std::size_t length = static_cast<uint8_t>(data[pos + 1]);
        if (length > 0x7F || pos + 2 + length > data.size()) return std::nullopt;
        if (t == tag) return data.substr(pos + 2, length);
        pos += 2 + length;
    }
    return std::nullopt;
}

// Disconnects when a session ends, on every path.
class ConnectionGuard {
  public:
    explicit ConnectionGuard(CardReader& reader) : reader_(reader) {}
    ~ConnectionGuard() { reader_.Disconnect(); }
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;

  private:
    CardReader& reader_;
};

}  // namespace

struct CardProtocol::Session {
    std::size_t records = 0;
    std::size_t capacity = 0;
};

// Connects, selects the Kizuna application and reads its record count from the FCI.
core::Result<CardProtocol::Session> CardProtocol::Open() {
    KZ_RETURN_IF_ERROR(reader_.Connect());
    KZ_ASSIGN_OR_RETURN(const ResponseApdu select, reader_.Transmit(SelectByAid(kKizunaAid)));
    if (select.sw == sw::kFileNotFound) {
        return MakeError(ErrorCode::kNotFound,
                         "the card in " + reader_.Name() +
                             " is not a Kizuna card (it has no Kizuna application: " +
                             DescribeStatusWord(select.sw) + ")");
    }
    if (!select.ok()) return CardRefused(reader_, "SELECT of the Kizuna application", select.sw);
    const auto fci = FindTlv(select.data, 0x6F);
    const auto proprietary = fci ? FindTlv(*fci, 0xA5) : std::nullopt;
    const auto count = proprietary ? FindTlv(*proprietary, 0x80) : std::nullopt;
    const auto slots = proprietary ? FindTlv(*proprietary, 0x81) : std::nullopt;
    if (!count || count->size() != 1 || !slots || slots->size() != 1) {
        return MakeError(ErrorCode::kUnavailable,
                         "the card in " + reader_.Name() +
                             " answered SELECT without the Kizuna file information (FCI)");
    }
    return Session{static_cast<uint8_t>((*count)[0]), static_cast<uint8_t>((*slots)[0])};
}

core::Result<std::string> CardProtocol::ReadRecordNumber(std::size_t number) {
    KZ_ASSIGN_OR_RETURN(const ResponseApdu response,
                        reader_.Transmit(ReadRecord(static_cast<uint8_t>(number), kRecordFileSfi)));
    if (!response.ok()) {
        return CardRefused(reader_, "READ RECORD " + std::to_string(number), response.sw);
    }
    return response.data;
}

core::Status CardProtocol::RequireBlank(const Session& session) const {
    if (session.records > 0) {
        return MakeError(ErrorCode::kAlreadyExists,
                         "the card in " + reader_.Name() +
                             " is already issued and cards are write-once; use a blank card");
    }
    return core::Status::Ok();
}

core::Status CardProtocol::CheckBlank() {
    ConnectionGuard guard(reader_);
    KZ_ASSIGN_OR_RETURN(const Session session, Open());
    return RequireBlank(session);
}

core::Status CardProtocol::IssueCard(const core::CardRecord& record) {
    KZ_ASSIGN_OR_RETURN(const std::string encoded, core::EncodeCardRecord(record));
    ConnectionGuard guard(reader_);
    KZ_ASSIGN_OR_RETURN(const Session session, Open());
    KZ_RETURN_IF_ERROR(RequireBlank(session));
    KZ_ASSIGN_OR_RETURN(const ResponseApdu append,
                        reader_.Transmit(AppendRecord(encoded, kRecordFileSfi)));
    if (append.sw == sw::kNotEnoughMemory) {
        return MakeError(ErrorCode::kRuleViolation, "the card in " + reader_.Name() + " is full (" +
                                                        DescribeStatusWord(append.sw) +
                                                        "); use a blank card");
    }
    if (!append.ok()) return CardRefused(reader_, "APPEND RECORD", append.sw);
    // Read the record back: a card that acknowledged but stored something else is unusable.
    KZ_ASSIGN_OR_RETURN(const std::string stored, ReadRecordNumber(session.records + 1));
    if (stored != encoded) {
        return MakeError(ErrorCode::kUnavailable, "the card in " + reader_.Name() +
                                                      " did not store the record faithfully; "
                                                      "discard the card and use another");
    }
    return core::Status::Ok();
}

core::Result<core::CardRecord> CardProtocol::ReadCard() {
    ConnectionGuard guard(reader_);
    KZ_ASSIGN_OR_RETURN(const Session session, Open());
    if (session.records == 0) {
        return MakeError(ErrorCode::kNotFound,
                         "the card in " + reader_.Name() +
                             " is blank: it holds no member record yet (issue it first)");
    }
    KZ_ASSIGN_OR_RETURN(const std::string bytes, ReadRecordNumber(session.records));
    auto decoded = core::DecodeCardRecord(bytes);
    if (!decoded) {
        return MakeError(ErrorCode::kUnauthenticated,
                         "the record on the card in " + reader_.Name() +
                             " is damaged or altered: " + decoded.error().message);
    }
    return decoded;
}

core::Result<CardContents> CardProtocol::ReadContents() {
    ConnectionGuard guard(reader_);
    KZ_ASSIGN_OR_RETURN(const Session session, Open());
    CardContents contents;
    contents.reader = reader_.Name();
    KZ_ASSIGN_OR_RETURN(contents.atr, reader_.Atr());
    contents.capacity = session.capacity;
    for (std::size_t n = 1; n <= session.records; ++n) {
        KZ_ASSIGN_OR_RETURN(std::string record, ReadRecordNumber(n));
        contents.records.push_back(std::move(record));
    }
    return contents;
}

}  // namespace kizuna::card
