#include "mail/mime_message.hpp"

#include <array>
#include <chrono>
#include <cstdio>

#include "core/card_record.hpp"
#include "core/text.hpp"

namespace kizuna::mail {
namespace {

using core::InvalidField;
using core::Result;
using core::Status;

constexpr std::string_view kCrlf = "\r\n";
// An encoded-word is at most 75 characters (RFC 2047); 36 bytes of UTF-8 make 48 of base64 and
// a 60-character word, so "Subject: " and a first word stay within 78 columns (RFC 5322 2.1.1).
constexpr std::size_t kMaxBytesPerEncodedWord = 36;
// The alternative parts are base64, whose alphabet has no "_" and "=" only at the end, so this
// boundary can never occur inside a part and need not be random.
constexpr std::string_view kBoundary = "=_kizuna_alternative_=";

bool IsAtext(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || u <= 0x20 || u == 0x7F) return false;
    return std::string_view("()<>[]:;@\\,.\"").find(c) == std::string_view::npos;
}

// A display name that can go on the wire as is: ASCII words of atext separated by single spaces.
bool IsPlainPhrase(std::string_view text) {
    if (text.empty() || text.front() == ' ' || text.back() == ' ') return false;
    char previous = 'x';
    for (char c : text) {
        if (c == ' ' ? previous == ' ' : !IsAtext(c)) return false;
        previous = c;
    }
    return true;
}

// Length of the UTF-8 sequence starting with `lead` (input is already valid UTF-8).
std::size_t SequenceLength(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}

Status CheckHeaderText(std::string_view text, std::string_view field, std::size_t max_chars) {
    return core::CheckText(text, field, 0, max_chars, /*allow_newlines=*/false);
}

// "local@domain" with printable ASCII only, no spaces, angle brackets, quotes or a second "@".
Status CheckAddress(std::string_view address, std::string_view field) {
    const std::size_t at = address.find('@');
    if (address.size() > 254 || at == std::string_view::npos || at == 0 ||
        at + 1 == address.size() || address.find('@', at + 1) != std::string_view::npos) {
        return InvalidField(field, "must be an address local@domain");
    }
    for (char c : address) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' ||
            c == ',' || c == ';' || c == '\\') {
            return InvalidField(field, "must be an address local@domain in printable ASCII");
        }
    }
    return Status::Ok();
}

Status CheckUrl(std::string_view url, std::string_view field) {
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
        return InvalidField(field, "must be an http:// or https:// URL");
    }
    if (url.size() > 900) return InvalidField(field, "must be at most 900 characters");
    for (char c : url) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F || c == '<' || c == '>' || c == '"') {
            return InvalidField(field, "must be a URL without spaces, quotes or angle brackets");
        }
    }
    return Status::Ok();
}

Status CheckMailbox(const Mailbox& mailbox, std::string_view field) {
    KZ_RETURN_IF_ERROR(CheckHeaderText(mailbox.display_name, std::string(field) + ".name", 200));
    return CheckAddress(mailbox.address, std::string(field) + ".address");
}

std::string FormatMailbox(const Mailbox& mailbox) {
    if (mailbox.display_name.empty()) return "<" + mailbox.address + ">";
    return EncodeHeaderText(mailbox.display_name) + " <" + mailbox.address + ">";
}

// Text with every line break as CRLF, the canonical form of text/* parts (RFC 2046 4.1.1).
std::string CanonicalLineBreaks(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out += kCrlf;
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (text[i] == '\n') {
            out += kCrlf;
        } else {
            out += text[i];
        }
    }
    return out;
}

// Base64 in lines of 76 characters, each ended by CRLF (RFC 2045 6.8).
void AppendBase64Body(std::string& out, std::string_view bytes) {
    const std::string encoded = Base64(bytes);
    for (std::size_t i = 0; i < encoded.size(); i += 76) {
        out.append(encoded, i, 76);
        out += kCrlf;
    }
}

void AppendPart(std::string& out, std::string_view subtype, std::string_view body) {
    out += "Content-Type: text/";
    out += subtype;
    out += "; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    AppendBase64Body(out, CanonicalLineBreaks(body));
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += kCrlf;
}

}  // namespace

std::string Base64(std::string_view bytes) {
    // The same encoding as core's base64url but with the standard alphabet and padding.
    std::string out = core::Base64UrlEncode(bytes);
    for (char& c : out) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    out.append((4 - out.size() % 4) % 4, '=');
    return out;
}

std::string EncodeHeaderText(std::string_view text) {
    if (text.empty() || IsPlainPhrase(text)) return std::string(text);
    std::string out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = start;
        while (end < text.size()) {
            const std::size_t next = end + SequenceLength(static_cast<unsigned char>(text[end]));
            if (next - start > kMaxBytesPerEncodedWord) break;
            end = next;
        }
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?";
        out += Base64(text.substr(start, end - start));
        out += "?=";
        start = end;
    }
    return out;
}

std::string FormatMailDate(core::Timestamp t) {
    using namespace std::chrono;
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                         "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const sys_days day = floor<days>(t);
    const year_month_day ymd(day);
    const hh_mm_ss hms(t - day);
    const weekday wd(day);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%s, %02u %s %04d %02d:%02d:%02d +0000",
                  kDays[wd.c_encoding()], static_cast<unsigned>(ymd.day()),
                  kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buffer;
}

std::string NewMessageId(core::Random& random, std::string_view from_address) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 32; ++i) id += kHex[random.Uniform(16)];
    const std::size_t at = from_address.rfind('@');
    id += '@';
    id += at == std::string_view::npos ? std::string_view("kizuna.invalid")
                                       : from_address.substr(at + 1);
    return id;
}

Result<std::string> RenderMime(const MailMessage& message) {
    KZ_RETURN_IF_ERROR(CheckMailbox(message.from, "from"));
    KZ_RETURN_IF_ERROR(CheckMailbox(message.to, "to"));
    KZ_RETURN_IF_ERROR(CheckHeaderText(message.subject, "subject", 500));
    KZ_RETURN_IF_ERROR(core::CheckText(message.text, "text", 1, 1'000'000, true));
    KZ_RETURN_IF_ERROR(core::CheckText(message.html, "html", 0, 1'000'000, true));
    if (!message.unsubscribe_url.empty()) {
        KZ_RETURN_IF_ERROR(CheckUrl(message.unsubscribe_url, "unsubscribe_url"));
    }
    if (message.message_id.empty()) return InvalidField("message_id", "must be set");
    KZ_RETURN_IF_ERROR(CheckAddress(message.message_id, "message_id"));
    if (message.date == core::Timestamp{} || !core::IsTimeInRange(message.date)) {
        return InvalidField("date", "must be set");
    }

    std::string out;
    out.reserve(1024 + (message.text.size() + message.html.size()) * 4 / 3);
    AppendHeader(out, "From", FormatMailbox(message.from));
    AppendHeader(out, "To", FormatMailbox(message.to));
    AppendHeader(out, "Subject", EncodeHeaderText(message.subject));
    AppendHeader(out, "Date", FormatMailDate(message.date));
    AppendHeader(out, "Message-ID", "<" + message.message_id + ">");
    if (!message.unsubscribe_url.empty()) {
        AppendHeader(out, "List-Unsubscribe", "<" + message.unsubscribe_url + ">");
        AppendHeader(out, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
    }
    AppendHeader(out, "MIME-Version", "1.0");
    if (message.html.empty()) {
        AppendPart(out, "plain", message.text);
        return out;
    }
    out += "Content-Type: multipart/alternative; boundary=\"";
    out += kBoundary;
    out += "\"\r\n\r\n";
    out += "--";
    out += kBoundary;
    out += kCrlf;
    AppendPart(out, "plain", message.text);
    out += "--";
    out += kBoundary;
    out += kCrlf;
    AppendPart(out, "html", message.html);
    out += "--";
    out += kBoundary;
    out += "--\r\n";
    return out;
}

}  // namespace kizuna::mail
