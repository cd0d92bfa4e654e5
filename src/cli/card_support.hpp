#pragma once
// The card side of the client commands (seed [0029]-[0031], [0035]): the --card-reader flag,
// checking a blank card before the hub issues one and writing it afterwards, reading a chip
// card or a scanned QR payload into the card number the hub wants, and verifying a card offline
// with the hub's card key — fetched once from GET /v1/card-key and cached per hub in
// <config dir>/card-keys.json, so a store refuses a tampered or foreign card before it asks the
// hub anything, and keeps doing so when the hub is out of reach.
// Not thread-safe (CLI11 bindings, one reader at a time).

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "card/card_input.hpp"
#include "card/card_verifier.hpp"
#include "cli/hub_client.hpp"
#include "core/card_record.hpp"
#include "core/result.hpp"

namespace kizuna::cli {

inline constexpr const char* kEnvCardReader = "KIZUNA_CARD_READER";

// Adds --card-reader SPEC ("pcsc", "pcsc:NAME" or "file:PATH"; env KIZUNA_CARD_READER).
CLI::Option* AddCardReaderFlag(CLI::App* command, std::string& spec);
// The flag's value, else KIZUNA_CARD_READER, else `fallback`.
std::string CardReaderSpec(const std::string& flag_value, const std::string& fallback = "");

// The verifier for the hub `client` talks to: its cached card key, or the key fetched and then
// cached. Errors: the hub's refusal or unreachability when nothing is cached; kInvalidArgument
// for a key that is not an Ed25519 public key.
core::Result<card::CardVerifier> CardVerifierFor(HubClient& client);

// Reads the card in the reader and verifies it offline. Errors: the card errors of
// card::CardProtocol, kUnauthenticated for a tampered or foreign record, or those of
// CardVerifierFor.
core::Result<core::CardRecord> ReadVerifiedCard(const std::string& reader_spec, HubClient& client);

// What was typed or scanned where a card is asked for: a card number passes through (the hub
// checks it); a QR payload ("KZ1.…") is verified offline first and then carries its record.
// Errors: kInvalidArgument (field `field`), kUnauthenticated, or those of CardVerifierFor.
core::Result<card::CardInput> CardFromInput(std::string_view text, std::string_view field,
                                            HubClient& client);

// Before asking the hub to issue a card: the reader holds a blank Kizuna card.
core::Status CheckBlankCard(const std::string& reader_spec);
// Writes the issued card (the hub's {"card_number",…,"record":"KZ1.…"}) onto the blank card.
core::Status WriteIssuedCard(const std::string& reader_spec, const nlohmann::json& card);

// Around a hub call that issues a card (enroll, reissue), when `reader` is not empty: before
// it, the reader must hold a blank Kizuna card (so no member or revocation happens for a card
// that cannot be written) and `medium` defaults to "chip"; after it, the issued card is written.
// Each returns kExitOk, or reports the problem and returns its exit code.
int PrepareCardIssue(const std::string& reader, std::string& medium, bool json);
int FinishCardIssue(const std::string& reader, const std::string& member_id,
                    const nlohmann::json& card, bool json);

// Reports a card error and returns its exit code: 3 for trouble with the reader or the card
// (kUnavailable), 2 for bad input, 1 for a card refused.
int ReportCardError(const core::Error& error, bool json);

}  // namespace kizuna::cli
