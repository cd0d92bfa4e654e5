// The card record parsers: the binary form read from a chip card and the text form scanned from
// a QR code, and base64url under it. Whatever they accept must survive a round trip: encoding a
// decoded record gives the same record back (the binary form byte for byte), so two different
// byte strings can never stand for one signed record.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/card_record.hpp"
#include "fuzz_check.hpp"

using namespace kizuna::core;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    if (auto record = DecodeCardRecord(input)) {
        FUZZ_CHECK(record->card_number.size() == 16, record->card_number);
        FUZZ_CHECK(record->member_id.size() == 10, record->member_id);
        auto encoded = EncodeCardRecord(*record);
        FUZZ_CHECK(encoded.has_value(), "a decoded record does not encode: " +
                                            (encoded ? std::string() : encoded.error().message));
        FUZZ_CHECK(*encoded == input, "a decoded record encodes to other bytes");
        auto text = CardRecordToText(*record);
        FUZZ_CHECK(text.has_value(), "a decoded record has no text form");
        auto back = CardRecordFromText(*text);
        FUZZ_CHECK(back.has_value() && *back == *record, "the text form does not read back");
    }

    if (auto record = CardRecordFromText(input)) {
        auto text = CardRecordToText(*record);
        FUZZ_CHECK(text.has_value(), "a record read from text has no text form");
        auto back = CardRecordFromText(*text);
        FUZZ_CHECK(back.has_value() && *back == *record, "text -> record -> text -> record");
    }

    if (auto bytes = Base64UrlDecode(input)) {
        const std::string again = Base64UrlEncode(*bytes);
        auto decoded = Base64UrlDecode(again);
        FUZZ_CHECK(decoded.has_value() && *decoded == *bytes, "base64url round trip");
    }
    return 0;
}
