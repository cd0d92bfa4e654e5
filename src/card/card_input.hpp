#pragma once
// CardInput: what a store terminal receives where it asks for a card — a typed card number
// ("9810 1234 5678 9012", spaces and hyphens allowed) or a scanned QR payload ("KZ1.…", which
// barcode scanners type like a keyboard). Thread-safety: plain values and a pure function.

#include <optional>
#include <string>
#include <string_view>

#include "core/card_record.hpp"
#include "core/result.hpp"

namespace kizuna::card {

struct CardInput {
    std::string card_number;                 // 16 digits, Luhn-checked
    std::optional<core::CardRecord> record;  // present for a QR payload; verify it before use
};

// Errors: kInvalidArgument (field `field`) for text that is neither a valid card number nor a
// well-formed QR payload.
core::Result<CardInput> ParseCardInput(std::string_view text, std::string_view field = "card");

}  // namespace kizuna::card
