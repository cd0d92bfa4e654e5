#include "core/text.hpp"

#include <cstdint>

namespace kizuna::core {

namespace {

// Decodes one code point at `pos` of valid-or-not UTF-8. On success advances pos and returns the
// code point; on malformed input returns -1 and leaves pos unchanged. Rejects overlong forms,
// surrogates (U+D800..U+DFFF) and values above U+10FFFF (RFC 3629).
int32_t DecodeOne(std::string_view text, std::size_t& pos) {
    const auto byte = [&](std::size_t i) { return static_cast<uint8_t>(text[i]); };
    const uint8_t lead = byte(pos);
    if (lead < 0x80) {
        ++pos;
        return lead;
    }
    int length = 0;
    int32_t cp = 0;
    int32_t min = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        cp = lead & 0x1F;
        min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        cp = lead & 0x0F;
        min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        cp = lead & 0x07;
        min = 0x10000;
    } else {
        return -1;  // continuation byte, C0/C1 (always overlong) or F5..FF
    }
    if (pos + static_cast<std::size_t>(length) > text.size()) return -1;
    for (int i = 1; i < length; ++i) {
        const uint8_t b = byte(pos + static_cast<std::size_t>(i));
        if ((b & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    pos += static_cast<std::size_t>(length);
    return cp;
}

bool IsAsciiSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";  // U+3000

}  // namespace

bool IsValidUtf8(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (DecodeOne(text, pos) < 0) return false;
    }
    return true;
}

std::size_t CodePointCount(std::string_view text) {
    std::size_t count = 0;
    for (const char c : text) {
        // Count every byte that is not a continuation byte.
        if ((static_cast<uint8_t>(c) & 0xC0) != 0x80) ++count;
    }
    return count;
}

bool HasControlCharacters(std::string_view text, bool allow_newlines) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const int32_t cp = DecodeOne(text, pos);
        if (cp < 0) {
            ++pos;  // not valid UTF-8; validity is IsValidUtf8's business, keep scanning
            continue;
        }
        if (cp < 0x20) {
            if (allow_newlines && (cp == '\t' || cp == '\n' || cp == '\r')) continue;
            return true;
        }
        if (cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return true;
    }
    return false;
}

std::string Trim(std::string_view text) {
    while (!text.empty()) {
        if (IsAsciiSpace(text.front())) {
            text.remove_prefix(1);
        } else if (text.starts_with(kIdeographicSpace)) {
            text.remove_prefix(kIdeographicSpace.size());
        } else {
            break;
        }
    }
    while (!text.empty()) {
        if (IsAsciiSpace(text.back())) {
            text.remove_suffix(1);
        } else if (text.ends_with(kIdeographicSpace)) {
            text.remove_suffix(kIdeographicSpace.size());
        } else {
            break;
        }
    }
    return std::string(text);
}

}  // namespace kizuna::core

namespace kizuna::core {

Status CheckText(std::string_view text, std::string_view field, std::size_t min_chars,
                 std::size_t max_chars, bool allow_newlines) {
    const auto fail = [&](std::string_view what) { return InvalidField(field, what); };
    if (!IsValidUtf8(text)) return fail("must be valid UTF-8 text");
    if (HasControlCharacters(text, allow_newlines)) {
        return fail(allow_newlines ? "must not contain control characters"
                                   : "must not contain control characters or line breaks");
    }
    const std::size_t count = CodePointCount(text);
    if (min_chars > 0 && (count == 0 || Trim(text).empty())) return fail("is required");
    if (count < min_chars) {
        return InvalidField(field, "must be at least " + std::to_string(min_chars) + " characters");
    }
    if (count > max_chars) {
        return InvalidField(field, "must be at most " + std::to_string(max_chars) + " characters");
    }
    return Status::Ok();
}

}  // namespace kizuna::core
