#include "card/card_input.hpp"

#include "core/ids.hpp"

namespace kizuna::card {

using core::ErrorCode;
using core::MakeError;

core::Result<CardInput> ParseCardInput(std::string_view text, std::string_view field) {
    // Scanners and copy-paste add surrounding whitespace or a trailing newline.
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r')) {
        text.remove_suffix(1);
    }
    if (text.starts_with(core::kCardRecordTextPrefix)) {
        auto record = core::CardRecordFromText(text);
        if (!record) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "the scanned card code is damaged: " + record.error().message,
                             std::string(field));
        }
        // The binary form holds any 16 digits; a genuine card's number passes its check digit.
        if (!core::IsValidCardNumber(record->card_number)) {
            return MakeError(ErrorCode::kInvalidArgument,
                             "the scanned card code is damaged: its card number " +
                                 record->card_number + " fails its check digit",
                             std::string(field));
        }
        CardInput input{record->card_number, std::move(*record)};
        return input;
    }
    std::string digits;
    for (char c : text) {
        if (c == ' ' || c == '-') continue;
        digits.push_back(c);
    }
    if (!core::IsValidCardNumber(digits)) {
        const bool sixteen_digits =
            digits.size() == 16 && digits.find_first_not_of("0123456789") == std::string::npos;
        return MakeError(ErrorCode::kInvalidArgument,
                         sixteen_digits ? core::CardNumberProblem(digits)
                                        : "'" + std::string(text) +
                                              "' is neither a card number (16 digits) nor a "
                                              "scanned card code",
                         std::string(field));
    }
    return CardInput{std::move(digits), std::nullopt};
}

}  // namespace kizuna::card
