#include "core/card.hpp"

namespace kizuna::core {

std::string_view CardStatusName(CardStatus s) {
    switch (s) {
        case CardStatus::kActive:
            return "active";
        case CardStatus::kRevoked:
            return "revoked";
    }
    return "active";
}

std::string_view CardMediumName(CardMedium m) {
    switch (m) {
        case CardMedium::kChip:
            return "chip";
        case CardMedium::kQr:
            return "qr";
        case CardMedium::kVirtual:
            return "virtual";
    }
    return "virtual";
}

Result<CardMedium> ParseCardMedium(std::string_view text, std::string_view field) {
    for (const CardMedium m : {CardMedium::kChip, CardMedium::kQr, CardMedium::kVirtual}) {
        if (text == CardMediumName(m)) return m;
    }
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(field) + " must be \"chip\", \"qr\" or \"virtual\"",
                     std::string(field));
}

}  // namespace kizuna::core
