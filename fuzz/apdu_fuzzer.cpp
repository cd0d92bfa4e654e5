// The APDU parsers and the card application that answers them (the card simulator's and the
// file reader's), over a card image parsed from text. Properties: a parsed command or response
// encodes to the bytes it came from; the card answers every command with at least a status word;
// and the record file is write-once: whatever the commands, records already on the card never
// change and new ones only ever go at the end.
//
// Input: the first byte picks how the rest is read (a command, a response, a card image text,
// or a session: length-prefixed commands sent in turn to a blank card).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "card/apdu.hpp"
#include "card/card_applet.hpp"
#include "card/card_image.hpp"
#include "fuzz_check.hpp"

using namespace kizuna;

namespace {

void CheckCommand(std::string_view bytes) {
    auto command = card::CommandApdu::Parse(bytes);
    if (!command) return;
    FUZZ_CHECK(command->data.size() <= 255, "a command with more than 255 data bytes");
    auto encoded = command->Encode();
    FUZZ_CHECK(encoded.has_value() && *encoded == bytes, "command parse/encode round trip");
}

void CheckResponse(std::string_view bytes) {
    auto response = card::ResponseApdu::Parse(bytes);
    if (!response) return;
    FUZZ_CHECK(response->Encode() == bytes, "response parse/encode round trip");
}

void CheckImage(std::string_view text) {
    auto image = card::CardImage::Parse(text);
    if (!image) return;
    FUZZ_CHECK(image->records().size() <= image->capacity(), "more records than slots");
    auto again = card::CardImage::Parse(image->Serialize());
    FUZZ_CHECK(again.has_value(), "a parsed image does not parse after Serialize");
    FUZZ_CHECK(again->aid() == image->aid() && again->capacity() == image->capacity() &&
                   again->records() == image->records(),
               "image serialize/parse round trip");
}

void RunSession(std::string_view input) {
    int persisted = 0;
    card::CardApplet applet(card::CardImage::Blank(), [&](const card::CardImage&) {
        ++persisted;
        return core::Status::Ok();
    });
    std::vector<std::string> before;
    while (!input.empty()) {
        const std::size_t length = static_cast<uint8_t>(input[0]);
        input.remove_prefix(1);
        const std::string_view command = input.substr(0, length);
        input.remove_prefix(command.size());
        if (command.size() == 1 && static_cast<uint8_t>(command[0]) == 0xFF) {
            applet.Reset();
            continue;
        }
        before = applet.image().records();
        const std::string answer = applet.ProcessBytes(command);
        FUZZ_CHECK(answer.size() >= 2, "an answer without a status word");
        CheckResponse(answer);
        const auto& after = applet.image().records();
        FUZZ_CHECK(after.size() == before.size() || after.size() == before.size() + 1,
                   "a command removed records or added several");
        for (std::size_t i = 0; i < before.size(); ++i) {
            FUZZ_CHECK(after[i] == before[i], "a written record changed: write-once broken");
        }
        FUZZ_CHECK(after.size() <= applet.image().capacity(), "more records than slots");
        if (after.size() == before.size() + 1) {
            FUZZ_CHECK(answer.substr(answer.size() - 2) == std::string("\x90\x00", 2),
                       "a record was added but the card did not answer 9000");
        }
    }
    FUZZ_CHECK(static_cast<std::size_t>(persisted) == applet.image().records().size(),
               "the image changed without being persisted (or the other way)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0:
            CheckCommand(input);
            break;
        case 1:
            CheckResponse(input);
            break;
        case 2:
            CheckImage(input);
            break;
        default:
            RunSession(input);
            break;
    }
    return 0;
}
