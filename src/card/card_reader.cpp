#include "card/card_reader.hpp"

#include "card/file_card_reader.hpp"
#include "card/pcsc_card_reader.hpp"

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

core::Result<std::unique_ptr<CardReader>> OpenCardReader(std::string_view spec) {
    if (spec == "pcsc") return std::unique_ptr<CardReader>(new PcscCardReader(""));
    if (spec.starts_with("pcsc:") && spec.size() > 5) {
        return std::unique_ptr<CardReader>(new PcscCardReader(std::string(spec.substr(5))));
    }
    if (spec.starts_with("file:") && spec.size() > 5) {
        return std::unique_ptr<CardReader>(new FileCardReader(std::string(spec.substr(5))));
    }
    return MakeError(
        ErrorCode::kInvalidArgument,
        "card reader must be pcsc, pcsc:NAME or file:PATH, not '" + std::string(spec) + "'",
        "card-reader");
}

core::Error NoReaderError(std::string_view detail) {
    return MakeError(ErrorCode::kUnavailable, "no card reader: " + std::string(detail));
}

core::Error NoCardError(std::string_view reader) {
    return MakeError(ErrorCode::kUnavailable,
                     "no card in " + std::string(reader) + "; insert the card and try again");
}

core::Error CardRemovedError(std::string_view reader) {
    return MakeError(ErrorCode::kUnavailable,
                     "the card was removed from " + std::string(reader) +
                         " during the operation; nothing was completed, insert it and retry");
}

}  // namespace kizuna::card
