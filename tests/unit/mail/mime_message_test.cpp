#include "mail/mime_message.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <sstream>

#include "core/text.hpp"

namespace kizuna::mail {
namespace {

const core::Timestamp kT0 = core::FromUnixSeconds(1'796'641'371);  // 2026-12-07T11:02:51Z

MailMessage GoodMessage() {
    MailMessage m;
    m.from = {"絆ポイント事務局", "offers@kizuna.example"};
    m.to = {"山田 太郎", "taro@example.jp"};
    m.subject = "秋の読書フェア：文庫本ポイント2倍";
    m.text = "山田様\n文庫本が全品ポイント2倍。\n";
    m.html = "<p>山田様</p>";
    m.unsubscribe_url = "https://kizuna.example/u/abc";
    m.message_id = "0123abcd@kizuna.example";
    m.date = kT0;
    return m;
}

std::string DecodeBase64(std::string_view text) {
    std::string out;
    uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            continue;  // padding and line breaks
        buffer = buffer << 6 | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(buffer >> bits & 0xFF);
        }
    }
    return out;
}

// Decodes a header value made of "=?UTF-8?B?...?=" words folded with CRLF SP; each word must
// itself be whole UTF-8 and at most 75 characters.
std::string DecodeEncodedWords(const std::string& value) {
    if (value.find("=?") == std::string::npos) return value;
    std::string out;
    std::size_t pos = 0;
    while ((pos = value.find("=?UTF-8?B?", pos)) != std::string::npos) {
        const std::size_t end = value.find("?=", pos + 10);
        EXPECT_NE(end, std::string::npos);
        EXPECT_LE(end + 2 - pos, 75u) << value;
        const std::string word = DecodeBase64(value.substr(pos + 10, end - pos - 10));
        EXPECT_TRUE(core::IsValidUtf8(word)) << "a word splits a UTF-8 sequence: " << value;
        out += word;
        pos = end + 2;
    }
    return out;
}

// Header name -> unfolded value (CRLF SP kept out), and the body after the blank line.
struct Parsed {
    std::map<std::string, std::string> headers;
    std::string body;
};

Parsed Parse(const std::string& raw) {
    Parsed p;
    const std::size_t blank = raw.find("\r\n\r\n");
    EXPECT_NE(blank, std::string::npos);
    p.body = raw.substr(blank + 4);
    std::string name;
    std::size_t pos = 0;
    while (pos < blank + 2) {
        const std::size_t eol = raw.find("\r\n", pos);
        const std::string line = raw.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.starts_with(" ")) {
            p.headers[name] += line;  // folded: the words stay separated by the space
            continue;
        }
        const std::size_t colon = line.find(": ");
        name = line.substr(0, colon);
        p.headers[name] = line.substr(colon + 2);
    }
    return p;
}

TEST(MimeMessage, JapaneseSubjectAndNamesDecodeBack) {
    const auto raw = RenderMime(GoodMessage());
    ASSERT_TRUE(raw.has_value()) << raw.error().message;
    const Parsed p = Parse(*raw);
    EXPECT_EQ(DecodeEncodedWords(p.headers.at("Subject")), "秋の読書フェア：文庫本ポイント2倍");
    const std::string from = p.headers.at("From");
    ASSERT_TRUE(from.ends_with(" <offers@kizuna.example>")) << from;
    EXPECT_EQ(DecodeEncodedWords(from.substr(0, from.find(" <"))), "絆ポイント事務局");
    EXPECT_EQ(p.headers.at("Date"), "Mon, 07 Dec 2026 11:02:51 +0000");
    EXPECT_EQ(p.headers.at("Message-ID"), "<0123abcd@kizuna.example>");
    EXPECT_EQ(p.headers.at("MIME-Version"), "1.0");
    EXPECT_EQ(p.headers.at("List-Unsubscribe"), "<https://kizuna.example/u/abc>");
    EXPECT_EQ(p.headers.at("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    EXPECT_TRUE(p.headers.at("Content-Type").starts_with("multipart/alternative; boundary="));
}

TEST(MimeMessage, BothPartsCarryTheTextInUtf8WithCrlf) {
    const std::string raw = *RenderMime(GoodMessage());
    const Parsed p = Parse(raw);
    const std::string boundary = "--=_kizuna_alternative_=";
    const std::size_t plain = p.body.find("Content-Type: text/plain; charset=UTF-8\r\n");
    const std::size_t html = p.body.find("Content-Type: text/html; charset=UTF-8\r\n");
    ASSERT_NE(plain, std::string::npos);
    ASSERT_NE(html, std::string::npos);
    const std::size_t plain_body = p.body.find("\r\n\r\n", plain) + 4;
    const std::string plain_text =
        DecodeBase64(p.body.substr(plain_body, p.body.find(boundary, plain_body) - plain_body));
    EXPECT_EQ(plain_text, "山田様\r\n文庫本が全品ポイント2倍。\r\n");
    const std::size_t html_body = p.body.find("\r\n\r\n", html) + 4;
    EXPECT_EQ(DecodeBase64(p.body.substr(html_body, p.body.find(boundary, html_body) - html_body)),
              "<p>山田様</p>");
    EXPECT_TRUE(p.body.ends_with(boundary + "--\r\n"));
    // Only CRLF line breaks.
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n') {
            ASSERT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
        }
    }
}

TEST(MimeMessage, LongTextStaysWithinLineLimits) {
    MailMessage m = GoodMessage();
    m.subject.clear();
    for (int i = 0; i < 60; ++i) m.subject += "絆ポイント";  // 300 characters, 900 bytes
    m.text = std::string(5000, 'x');                         // one very long line
    m.to.display_name = std::string(150, 'n') + "様";
    const std::string raw = *RenderMime(m);
    std::istringstream lines(raw);
    for (std::string line; std::getline(lines, line);) {
        EXPECT_LE(line.size(), 998u);
        EXPECT_LE(line.size(), 78u) << "headers fold, bodies wrap at 76: " << line;
    }
    EXPECT_EQ(DecodeEncodedWords(Parse(raw).headers.at("Subject")), m.subject);
}

TEST(MimeMessage, EncodedWordsNeverSplitAUtf8Sequence) {
    // Mixed 1-, 2-, 3- and 4-byte characters so sequence edges fall at every offset.
    std::string text;
    for (int i = 0; i < 40; ++i) text += "aé絆😀";
    const std::string encoded = EncodeHeaderText(text);
    EXPECT_EQ(DecodeEncodedWords(encoded), text);
}

TEST(MimeMessage, PlainAsciiNamesAndSubjectsStayReadable) {
    MailMessage m = GoodMessage();
    m.subject = "Autumn book fair";
    m.from.display_name = "Kizuna Offers";
    m.to.display_name = "";
    const Parsed p = Parse(*RenderMime(m));
    EXPECT_EQ(p.headers.at("Subject"), "Autumn book fair");
    EXPECT_EQ(p.headers.at("From"), "Kizuna Offers <offers@kizuna.example>");
    EXPECT_EQ(p.headers.at("To"), "<taro@example.jp>");
    // Specials in an ASCII name are encoded rather than passed through.
    m.from.display_name = "Kizuna, \"Offers\"";
    const std::string from = Parse(*RenderMime(m)).headers.at("From");
    EXPECT_TRUE(from.starts_with("=?UTF-8?B?")) << from;
    EXPECT_EQ(DecodeEncodedWords(from.substr(0, from.find(" <"))), "Kizuna, \"Offers\"");
}

TEST(MimeMessage, TextOnlyMessageIsASinglePart) {
    MailMessage m = GoodMessage();
    m.html.clear();
    m.unsubscribe_url.clear();  // transactional mail carries no List-Unsubscribe
    const Parsed p = Parse(*RenderMime(m));
    EXPECT_EQ(p.headers.at("Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(p.headers.count("List-Unsubscribe"), 0u);
    EXPECT_EQ(p.headers.count("List-Unsubscribe-Post"), 0u);
}

TEST(MimeMessage, HeaderInjectionIsRefused) {
    struct Case {
        std::string field;
        std::function<void(MailMessage&)> change;
    };
    const std::vector<Case> cases = {
        {"subject", [](MailMessage& m) { m.subject = "hi\r\nBcc: victim@example.jp"; }},
        {"subject", [](MailMessage& m) { m.subject = "hi\nBcc: victim@example.jp"; }},
        {"subject", [](MailMessage& m) { m.subject = "hi\rBcc: x"; }},
        {"from.name", [](MailMessage& m) { m.from.display_name = "a\r\nBcc: x@y"; }},
        {"to.name", [](MailMessage& m) { m.to.display_name = "a\nb"; }},
        {"to.address", [](MailMessage& m) { m.to.address = "a@b\r\nBcc: x@y"; }},
        {"to.address", [](MailMessage& m) { m.to.address = "a@b>, <c@d"; }},
        {"to.address", [](MailMessage& m) { m.to.address = "no-at-sign"; }},
        {"from.address", [](MailMessage& m) { m.from.address = "x@y@z"; }},
        {"unsubscribe_url", [](MailMessage& m) { m.unsubscribe_url = "https://a/\r\nX: y"; }},
        {"unsubscribe_url", [](MailMessage& m) { m.unsubscribe_url = "mailto:stop@a"; }},
        {"unsubscribe_url", [](MailMessage& m) { m.unsubscribe_url = "https://a/>x"; }},
        {"message_id", [](MailMessage& m) { m.message_id = "a@b\r\nX: y"; }},
        {"message_id", [](MailMessage& m) { m.message_id.clear(); }},
        {"date", [](MailMessage& m) { m.date = {}; }},
        {"text", [](MailMessage& m) { m.text.clear(); }},
        {"html", [](MailMessage& m) { m.html = "\xff"; }},
    };
    for (const Case& c : cases) {
        MailMessage m = GoodMessage();
        c.change(m);
        const auto raw = RenderMime(m);
        ASSERT_FALSE(raw.has_value()) << c.field;
        EXPECT_EQ(raw.error().field, c.field);
    }
}

TEST(MimeMessage, Base64MatchesRfc4648Vectors) {
    EXPECT_EQ(Base64(""), "");
    EXPECT_EQ(Base64("f"), "Zg==");
    EXPECT_EQ(Base64("fo"), "Zm8=");
    EXPECT_EQ(Base64("foo"), "Zm9v");
    EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
}

TEST(MimeMessage, DateFormatsEveryFieldOfRfc5322) {
    EXPECT_EQ(FormatMailDate(core::FromUnixSeconds(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(FormatMailDate(core::FromUnixSeconds(951'782'400)),
              "Tue, 29 Feb 2000 00:00:00 +0000");
}

class CountingRandom final : public core::Random {
  public:
    uint64_t Uniform(uint64_t upper_bound) override { return next_++ % upper_bound; }

  private:
    uint64_t next_ = 0;
};

TEST(MimeMessage, MessageIdUsesTheSendersDomain) {
    CountingRandom random;
    EXPECT_EQ(NewMessageId(random, "offers@kizuna.example"),
              "0123456789abcdef0123456789abcdef@kizuna.example");
}

}  // namespace
}  // namespace kizuna::mail
