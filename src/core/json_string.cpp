#include "core/json_string.hpp"

#include <cstddef>

namespace kizuna::core {
namespace {

// Length of the well-formed UTF-8 sequence whose lead byte (>= 0x80) is at `p`, or 0 when it is
// not one (Unicode standard, table 3-7): a stray continuation byte, C0, C1, F5..FF, a missing or
// wrong continuation byte, an overlong form, a surrogate, or a code point above U+10FFFF.
std::size_t MultibyteLength(const unsigned char* p, const unsigned char* end) {
    auto continuation = [&](const unsigned char* at, unsigned char low, unsigned char high) {
        return at < end && *at >= low && *at <= high;
    };
    const unsigned char c = *p;
    if (c >= 0xC2 && c <= 0xDF) return continuation(p + 1, 0x80, 0xBF) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        const unsigned char low = c == 0xE0 ? 0xA0 : 0x80;
        const unsigned char high = c == 0xED ? 0x9F : 0xBF;
        return continuation(p + 1, low, high) && continuation(p + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        const unsigned char low = c == 0xF0 ? 0x90 : 0x80;
        const unsigned char high = c == 0xF4 ? 0x8F : 0xBF;
        return continuation(p + 1, low, high) && continuation(p + 2, 0x80, 0xBF) &&
                       continuation(p + 3, 0x80, 0xBF)
                   ? 4
                   : 0;
    }
    return 0;
}

}  // namespace

bool AppendJsonString(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::size_t start = out.size();
    const auto* data = reinterpret_cast<const unsigned char*>(text.data());
    const unsigned char* end = data + text.size();
    out += '"';
    std::size_t copied = 0;  // text before this offset is already in out
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned char c = data[i];
        if (c >= 0x80) {
            const std::size_t length = MultibyteLength(data + i, end);
            if (length == 0) {
                out.resize(start);
                return false;
            }
            i += length;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            ++i;
            continue;
        }
        out.append(text.data() + copied, i - copied);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default: {
                const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                out.append(escaped, sizeof escaped);
                break;
            }
        }
        copied = ++i;
    }
    out.append(text.data() + copied, text.size() - copied);
    out += '"';
    return true;
}

}  // namespace kizuna::core
