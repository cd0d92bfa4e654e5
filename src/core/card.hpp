#pragma once
// A member card. The balance belongs to the member, never the card: a reissue makes a new card
// (generation + 1) and revokes the old one.

#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace kizuna::core {

enum class CardStatus { kActive, kRevoked };
enum class CardMedium { kChip, kQr, kVirtual };

std::string_view CardStatusName(CardStatus s);  // "active" / "revoked"
std::string_view CardMediumName(CardMedium m);  // "chip" / "qr" / "virtual"
Result<CardMedium> ParseCardMedium(std::string_view text, std::string_view field);

struct Card {
    std::string card_number;
    std::string member_id;
    int generation = 1;
    CardStatus status = CardStatus::kActive;
    CardMedium medium = CardMedium::kVirtual;
    std::string issued_by_store;  // store id; empty when self-service
    Timestamp issued_at{};
    std::optional<Timestamp> revoked_at;
};

}  // namespace kizuna::core
