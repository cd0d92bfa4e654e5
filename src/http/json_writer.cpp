#include "http/json_writer.hpp"

#include <charconv>

#include "http/json.hpp"

namespace kizuna::http {
namespace {

// Well-formed UTF-8 as the Unicode standard defines it (table 3-7): no overlong forms, no
// surrogates, nothing above U+10FFFF. The same bytes nlohmann's serializer accepts as they are.
bool IsValidUtf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const unsigned char* end = p + text.size();
    auto continuation = [&](const unsigned char* at, unsigned char low, unsigned char high) {
        return at < end && *at >= low && *at <= high;
    };
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            ++p;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (!continuation(p + 1, 0x80, 0xBF)) return false;
            p += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            unsigned char low = c == 0xE0 ? 0xA0 : 0x80;
            unsigned char high = c == 0xED ? 0x9F : 0xBF;
            if (!continuation(p + 1, low, high) || !continuation(p + 2, 0x80, 0xBF)) return false;
            p += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            unsigned char low = c == 0xF0 ? 0x90 : 0x80;
            unsigned char high = c == 0xF4 ? 0x8F : 0xBF;
            if (!continuation(p + 1, low, high) || !continuation(p + 2, 0x80, 0xBF) ||
                !continuation(p + 3, 0x80, 0xBF)) {
                return false;
            }
            p += 4;
        } else {
            return false;  // a stray continuation byte, C0, C1 or F5..FF
        }
    }
    return true;
}

}  // namespace

void JsonWriter::Key(std::string_view key) {
    BeforeValue();
    AppendQuoted(key);
    out_ += ':';
    need_comma_ = false;
}

void JsonWriter::String(std::string_view value) {
    BeforeValue();
    AppendQuoted(value);
    need_comma_ = true;
}

void JsonWriter::Int(int64_t value) {
    BeforeValue();
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec;  // 24 characters hold any int64_t
    out_.append(digits, end);
    need_comma_ = true;
}

void JsonWriter::Bool(bool value) {
    BeforeValue();
    out_ += value ? "true" : "false";
    need_comma_ = true;
}

void JsonWriter::AppendQuoted(std::string_view text) {
    if (!IsValidUtf8(text)) {
        out_ += DumpJson(Json(std::string(text)));
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    std::size_t copied = 0;  // text before this offset is already in out_
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out_.append(text.data() + copied, i - copied);
        copied = i + 1;
        switch (c) {
            case '"':
                out_ += "\\\"";
                break;
            case '\\':
                out_ += "\\\\";
                break;
            case '\b':
                out_ += "\\b";
                break;
            case '\f':
                out_ += "\\f";
                break;
            case '\n':
                out_ += "\\n";
                break;
            case '\r':
                out_ += "\\r";
                break;
            case '\t':
                out_ += "\\t";
                break;
            default: {
                const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                out_.append(escaped, sizeof escaped);
                break;
            }
        }
    }
    out_.append(text.data() + copied, text.size() - copied);
    out_ += '"';
}

}  // namespace kizuna::http
