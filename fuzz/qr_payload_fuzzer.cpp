// What a store terminal reads where it asks for a card: a typed card number or a scanned QR
// payload ("KZ1.…"), then the offline signature check of the record it carries. Properties: an
// accepted input names a 16-digit card number with a valid check digit, the record's own when it
// carries one; a record not signed with the hub's key never verifies (the key here is made at
// start, so no input can carry its signature); and whatever an accepted record says, once signed
// with that key it verifies, as a record and as text, and reads back unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "card/card_input.hpp"
#include "card/card_verifier.hpp"
#include "core/card_record.hpp"
#include "core/ids.hpp"
#include "crypto/crypto.hpp"
#include "fuzz_check.hpp"

using namespace kizuna;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    static const crypto::SigningKeyPair keys = crypto::NewSigningKeyPair();
    static const auto verifier = card::CardVerifier::Create(keys.public_key);
    FUZZ_CHECK(verifier.has_value(), "verifier");

    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto parsed = card::ParseCardInput(input);
    if (!parsed) return 0;
    FUZZ_CHECK(core::IsValidCardNumber(parsed->card_number), parsed->card_number);
    if (!parsed->record) return 0;
    core::CardRecord record = *parsed->record;
    FUZZ_CHECK(record.card_number == parsed->card_number, "the card number is not the record's");
    FUZZ_CHECK(!verifier->Verify(record).has_value(), "a record verified with a foreign key");

    auto portion = core::SignedPortion(record);
    FUZZ_CHECK(portion.has_value(), "an accepted record has no signed portion");
    record.signature = crypto::Sign(*portion, keys.secret_key);
    auto verified = verifier->Verify(record);
    FUZZ_CHECK(verified.has_value() && *verified == record, "a signed record does not verify");
    auto text = core::CardRecordToText(record);
    FUZZ_CHECK(text.has_value(), "a signed record has no text form");
    auto from_text = verifier->VerifyText(*text);
    FUZZ_CHECK(from_text.has_value() && *from_text == record, "its text form does not verify");
    auto as_input = card::ParseCardInput(*text);
    FUZZ_CHECK(as_input.has_value() && as_input->record && *as_input->record == record,
               "its text form does not read back as a card input");
    return 0;
}
