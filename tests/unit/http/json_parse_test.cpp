// ParseJson against the JSON library's own parser: every input must be accepted or refused
// alike, and accepted ones must give the same DOM, types included (JsonReader tells integers
// from floats and unsigned from signed).
#include "http/json_parse.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace kizuna::http {
namespace {

// The same tree: types, values, member order.
bool Same(const Json& a, const Json& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case Json::value_t::object: {
            const auto& x = a.get_ref<const Json::object_t&>();
            const auto& y = b.get_ref<const Json::object_t&>();
            if (x.size() != y.size()) return false;
            for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
                if (i->first != j->first || !Same(i->second, j->second)) return false;
            }
            return true;
        }
        case Json::value_t::array: {
            if (a.size() != b.size()) return false;
            for (std::size_t i = 0; i < a.size(); ++i) {
                if (!Same(a[i], b[i])) return false;
            }
            return true;
        }
        case Json::value_t::number_float: {
            const double x = a.get<double>(), y = b.get<double>();
            return std::memcmp(&x, &y, sizeof x) == 0;
        }
        default:
            return a == b;
    }
}

// Empty when both parsers agree, else what differs.
std::string Disagreement(const std::string& text) {
    Json mine;
    const bool accepted = ParseJson(text, mine);
    const Json library = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    const bool library_accepted = !library.is_discarded();
    if (accepted != library_accepted) {
        return std::string(accepted ? "accepted" : "refused") + " what the library " +
               (library_accepted ? "accepts" : "refuses");
    }
    if (accepted && !Same(mine, library)) return "a different value: " + mine.dump();
    return "";
}

TEST(ParseJson, AgreesWithTheLibraryOnChosenCases) {
    const std::vector<std::string> cases = {
        R"({"purchase_id":"p-1","member_id":"1000000001","occurred_at":"2026-12-07T10:00:00Z",)"
        R"("currency":"JPY","lines":[{"name":"Green tea 500ml","sku":"GT-500",)"
        R"("category":"drinks","quantity":2,"unit_price":150}]})",
        "{}",
        "[]",
        " { } ",
        "\t[\r\n]\n",
        "",
        " ",
        "{",
        "}",
        "[",
        "]",
        "[1,]",
        "[,1]",
        "{,}",
        R"({"a":1,})",
        R"({"a" 1})",
        R"({"a":})",
        R"({a:1})",
        R"({'a':1})",
        R"({"a":1}x)",
        R"({"a":1}{})",
        "null",
        "true",
        "false",
        "nul",
        "tru",
        "falsey",
        "True",
        "NULL",
        "0",
        "-0",
        "00",
        "01",
        "-01",
        "1.",
        ".5",
        "1.5",
        "-1.5e3",
        "1e",
        "1e+",
        "1E-2",
        "1e400",
        "-1e400",
        "1e-400",
        "2.5E+10",
        "+1",
        "- 1",
        "--1",
        "0x10",
        "1_000",
        "Infinity",
        "NaN",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "123456789012345678901234567890",
        "-123456789012345678901234567890",
        "0.1",
        "0.30000000000000004",
        "4.9406564584124654e-324",
        "1.7976931348623157e308",
        R"("")",
        R"("a\"b\\c\/d\be\ff\ng\rh\ti")",
        R"("\u0041\u00e9\u3042\uD83D\uDE00")",
        R"("\u0000")",
        R"("\uD800")",
        R"("\uDC00")",
        R"("\uD800\u0041")",
        R"("\uD800\uDBFF")",
        R"("\u12")",
        R"("\u12G4")",
        R"("\x41")",
        R"("\a")",
        R"("\)",
        "\"tab\there\"",
        "\"new\nline\"",
        "\"nul\0x\"",
        "\"\x7f\"",
        "\"caf\xc3\xa9\"",
        "\"\xe6\xb8\x8b\xe8\xb0\xb7\"",
        "\"\xf0\x9f\x98\x80\"",
        "\"\xc0\xaf\"",
        "\"\xc3\"",
        "\"\xe0\x80\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xf5\x80\x80\x80\"",
        "\"\x80\"",
        "\"\xff\"",
        "\xef\xbb\xbf{}",
        "\xef\xbb{}",
        "\xef{}",
        " \xef\xbb\xbf{}",
        "/* c */ {}",
        "{} // c",
        R"({"a":1,"a":2})",
        R"({"a":1,"b":2,"a":3})",
        R"({"":0})",
        R"({"k":[1,[2,[3]]],"m":{}})",
        R"([1,-1,1.0,"1",true,null,{},[]])",
        std::string("{\"a\":1}\0", 8),
        "[1 2]",
        R"({"a":1 "b":2})",
        "[\"a\"\"b\"]",
        "\x01",
        "{\"a\":\x01}"};
    for (const std::string& text : cases) {
        EXPECT_EQ(Disagreement(text), "") << "input: " << text;
    }
}

// Random documents from pieces that are valid or nearly so, then mutated byte by byte.
class Generator {
  public:
    explicit Generator(uint32_t seed) : random_(seed) {}

    std::string Document() {
        std::string text;
        Value(text, 0);
        const int mutations = Pick(4);
        for (int i = 0; i < mutations && !text.empty(); ++i) Mutate(text);
        return text;
    }

  private:
    int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }

    void Value(std::string& out, int depth) {
        switch (Pick(depth < 4 ? 7 : 5)) {
            case 0:
                out += Pick(2) ? "true" : (Pick(2) ? "false" : "null");
                break;
            case 1:
            case 2:
                Number(out);
                break;
            case 3:
            case 4:
                String(out);
                break;
            case 5: {
                out += '{';
                const int n = Pick(4);
                for (int i = 0; i < n; ++i) {
                    if (i) out += ',';
                    Space(out);
                    if (Pick(3) == 0) {
                        out += "\"k\"";  // repeated keys
                    } else {
                        String(out);
                    }
                    Space(out);
                    out += ':';
                    Value(out, depth + 1);
                }
                Space(out);
                out += '}';
                break;
            }
            default: {
                out += '[';
                const int n = Pick(4);
                for (int i = 0; i < n; ++i) {
                    if (i) out += ',';
                    Space(out);
                    Value(out, depth + 1);
                    Space(out);
                }
                out += ']';
                break;
            }
        }
    }

    void Space(std::string& out) {
        static const char* kSpaces[] = {"", "", " ", "\t", "\n", "\r\n", "  "};
        out += kSpaces[Pick(7)];
    }

    void Number(std::string& out) {
        static const char* kPieces[] = {"0",
                                        "1",
                                        "9",
                                        "12",
                                        "-",
                                        "-0",
                                        ".",
                                        ".5",
                                        "e",
                                        "E",
                                        "+",
                                        "-",
                                        "00",
                                        "e-3",
                                        "E+2",
                                        "7",
                                        "1844674407370955161",
                                        "922337203685477580",
                                        "5",
                                        "6",
                                        "8",
                                        "e308",
                                        "e-330"};
        const int n = 1 + Pick(4);
        for (int i = 0; i < n; ++i) out += kPieces[Pick(23)];
    }

    void String(std::string& out) {
        static const char* kPieces[] = {"a",
                                        "Z",
                                        " ",
                                        "\\\"",
                                        "\\\\",
                                        "\\/",
                                        "\\b",
                                        "\\n",
                                        "\\u0041",
                                        "\\u00",
                                        "\\uD83D",
                                        "\\uDE00",
                                        "\\uDBFF\\uDFFF",
                                        "\\x",
                                        "\t",
                                        "\xc3\xa9",
                                        "\xe3\x81\x82",
                                        "\xf0\x9f\x98\x80",
                                        "\xc3",
                                        "\xe3\x81",
                                        "\xed\xa0\x80",
                                        "\x7f",
                                        "\x80",
                                        "\xff",
                                        "\\u0000",
                                        "\\"};
        out += '"';
        const int n = Pick(5);
        for (int i = 0; i < n; ++i) out += kPieces[Pick(26)];
        if (Pick(20)) out += '"';
    }

    void Mutate(std::string& text) {
        const std::size_t at = static_cast<std::size_t>(Pick(static_cast<int>(text.size())));
        static const char kBytes[] = {'"', '\\', '{', '}', '[', ']',    ',',    ':',    '0',
                                      '-', 'e',  '.', ' ', 'u', '\x80', '\xc3', '\x00', 'x'};
        switch (Pick(4)) {
            case 0:
                text[at] = kBytes[Pick(sizeof kBytes)];
                break;
            case 1:
                text.insert(at, 1, kBytes[Pick(sizeof kBytes)]);
                break;
            case 2:
                text.erase(at, 1);
                break;
            default:
                text.resize(at);  // cut short
                break;
        }
    }

    std::mt19937 random_;
};

TEST(ParseJson, AgreesWithTheLibraryOnGeneratedDocuments) {
    Generator generator(20261207);
    int accepted = 0;
    for (int i = 0; i < 200000; ++i) {
        const std::string text = generator.Document();
        const std::string problem = Disagreement(text);
        ASSERT_EQ(problem, "") << "input: " << text;
        Json ignored;
        accepted += ParseJson(text, ignored) ? 1 : 0;
    }
    // Both kinds are well represented.
    EXPECT_GT(accepted, 20000);
    EXPECT_LT(accepted, 180000);
}

}  // namespace
}  // namespace kizuna::http
