#include "http/json_parse.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

namespace kizuna::http {
namespace {

class Parser {
  public:
    explicit Parser(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    bool Document(Json& out) {
        // A UTF-8 byte-order mark is skipped, as the library does.
        if (end_ - p_ >= 3 && static_cast<unsigned char>(p_[0]) == 0xEF &&
            static_cast<unsigned char>(p_[1]) == 0xBB &&
            static_cast<unsigned char>(p_[2]) == 0xBF) {
            p_ += 3;
        }
        SkipSpace();
        if (!Value(out)) return false;
        SkipSpace();
        // The library takes a NUL byte where a token may start as the end of the input, and
        // ignores what follows it.
        return p_ == end_ || *p_ == '\0';
    }

  private:
    void SkipSpace() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    }

    bool Value(Json& out) {
        if (p_ == end_) return false;
        switch (*p_) {
            case '{':
                return Object(out);
            case '[':
                return Array(out);
            case '"': {
                std::string text;
                if (!String(text)) return false;
                out = std::move(text);
                return true;
            }
            case 't':
                return Literal("true", out, Json(true));
            case 'f':
                return Literal("false", out, Json(false));
            case 'n':
                return Literal("null", out, Json(nullptr));
            default:
                return Number(out);
        }
    }

    bool Literal(std::string_view word, Json& out, Json value) {
        if (static_cast<std::size_t>(end_ - p_) < word.size() ||
            std::string_view(p_, word.size()) != word) {
            return false;
        }
        p_ += word.size();
        out = std::move(value);
        return true;
    }

    bool Object(Json& out) {
        ++p_;  // '{'
        out = Json::object();
        auto& members = out.get_ref<Json::object_t&>();
        members.reserve(8);
        SkipSpace();
        if (p_ < end_ && *p_ == '}') {
            ++p_;
            return true;
        }
        std::string key;
        while (true) {
            if (p_ == end_ || *p_ != '"') return false;
            key.clear();
            if (!String(key)) return false;
            SkipSpace();
            if (p_ == end_ || *p_ != ':') return false;
            ++p_;
            SkipSpace();
            Json value;
            if (!Value(value)) return false;
            // A repeated key keeps its place and takes the later value, as in the library.
            members[key] = std::move(value);
            SkipSpace();
            if (p_ == end_) return false;
            if (*p_ == '}') {
                ++p_;
                return true;
            }
            if (*p_ != ',') return false;
            ++p_;
            SkipSpace();
        }
    }

    bool Array(Json& out) {
        ++p_;  // '['
        out = Json::array();
        auto& elements = out.get_ref<Json::array_t&>();
        SkipSpace();
        if (p_ < end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        while (true) {
            elements.emplace_back();
            if (!Value(elements.back())) return false;
            SkipSpace();
            if (p_ == end_) return false;
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            if (*p_ != ',') return false;
            ++p_;
            SkipSpace();
        }
    }

    static int HexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    // Four hex digits after "\u"; -1 when malformed.
    int Hex4() {
        if (end_ - p_ < 4) return -1;
        int value = 0;
        for (int i = 0; i < 4; ++i) {
            int digit = HexDigit(p_[i]);
            if (digit < 0) return -1;
            value = value * 16 + digit;
        }
        p_ += 4;
        return value;
    }

    static void AppendUtf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    // The bytes of one well-formed UTF-8 sequence of more than one byte at p_ (RFC 3629: no
    // overlong forms, no surrogates, nothing above U+10FFFF); 0 when there is none.
    std::size_t MultiByteLength() const {
        const auto* s = reinterpret_cast<const unsigned char*>(p_);
        const std::size_t left = static_cast<std::size_t>(end_ - p_);
        auto in = [&](std::size_t i, unsigned char low, unsigned char high) {
            return i < left && s[i] >= low && s[i] <= high;
        };
        const unsigned char c = s[0];
        if (c >= 0xC2 && c <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
        if (c >= 0xE0 && c <= 0xEF) {
            const unsigned char low = c == 0xE0 ? 0xA0 : 0x80;
            const unsigned char high = c == 0xED ? 0x9F : 0xBF;
            return in(1, low, high) && in(2, 0x80, 0xBF) ? 3 : 0;
        }
        if (c >= 0xF0 && c <= 0xF4) {
            const unsigned char low = c == 0xF0 ? 0x90 : 0x80;
            const unsigned char high = c == 0xF4 ? 0x8F : 0xBF;
            return in(1, low, high) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        }
        return 0;
    }

    // A string at p_ ('"'), unescaped, appended to `out`.
    bool String(std::string& out) {
        ++p_;  // '"'
        while (true) {
            const char* run = p_;
            while (p_ < end_) {
                const auto c = static_cast<unsigned char>(*p_);
                if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
                ++p_;
            }
            out.append(run, static_cast<std::size_t>(p_ - run));
            if (p_ == end_) return false;
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                return true;
            }
            if (c < 0x20) return false;  // control characters must be escaped
            if (c >= 0x80) {
                const std::size_t n = MultiByteLength();
                if (n == 0) return false;
                out.append(p_, n);
                p_ += n;
                continue;
            }
            // A backslash.
            ++p_;
            if (p_ == end_) return false;
            const char escaped = *p_++;
            switch (escaped) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    int first = Hex4();
                    if (first < 0) return false;
                    uint32_t cp = static_cast<uint32_t>(first);
                    if (first >= 0xD800 && first <= 0xDBFF) {
                        // A high surrogate must be followed by an escaped low one.
                        if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
                        p_ += 2;
                        int second = Hex4();
                        if (second < 0xDC00 || second > 0xDFFF) return false;
                        cp = 0x10000 + ((static_cast<uint32_t>(first) - 0xD800) << 10) +
                             (static_cast<uint32_t>(second) - 0xDC00);
                    } else if (first >= 0xDC00 && first <= 0xDFFF) {
                        return false;  // a low surrogate alone
                    }
                    AppendUtf8(out, cp);
                    break;
                }
                default:
                    return false;
            }
        }
    }

    static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

    // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    bool Number(Json& out) {
        const char* start = p_;
        bool negative = false;
        if (*p_ == '-') {
            negative = true;
            ++p_;
        }
        if (p_ == end_ || !IsDigit(*p_)) return false;
        if (*p_ == '0') {
            ++p_;
        } else {
            while (p_ < end_ && IsDigit(*p_)) ++p_;
        }
        bool integer = true;
        if (p_ < end_ && *p_ == '.') {
            integer = false;
            ++p_;
            if (p_ == end_ || !IsDigit(*p_)) return false;
            while (p_ < end_ && IsDigit(*p_)) ++p_;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            integer = false;
            ++p_;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (p_ == end_ || !IsDigit(*p_)) return false;
            while (p_ < end_ && IsDigit(*p_)) ++p_;
        }
        if (integer) {
            // Digits only (and the sign): accumulate, falling back to a float on overflow as
            // the library does.
            const char* digits = start + (negative ? 1 : 0);
            uint64_t magnitude = 0;
            bool overflow = false;
            for (const char* d = digits; d < p_; ++d) {
                const auto digit = static_cast<uint64_t>(*d - '0');
                if (magnitude > (UINT64_MAX - digit) / 10) {
                    overflow = true;
                    break;
                }
                magnitude = magnitude * 10 + digit;
            }
            if (!overflow) {
                if (!negative) {
                    out = static_cast<Json::number_unsigned_t>(magnitude);
                    return true;
                }
                constexpr uint64_t kMostNegative = uint64_t{1} << 63;  // |INT64_MIN|
                if (magnitude <= kMostNegative) {
                    out = magnitude == kMostNegative
                              ? INT64_MIN
                              : -static_cast<Json::number_integer_t>(magnitude);
                    return true;
                }
            }
        }
        // The library reads floats with strtod (in the "C" locale this program keeps).
        const std::string token(start, p_);
        errno = 0;
        const double value = std::strtod(token.c_str(), nullptr);
        if (!std::isfinite(value)) return false;
        out = value;
        return true;
    }

    const char* p_;
    const char* end_;
};

}  // namespace

bool ParseJson(std::string_view text, Json& out) { return Parser(text).Document(out); }

}  // namespace kizuna::http
