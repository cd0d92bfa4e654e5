#include "hub/mail_spool.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/card_record.hpp"
#include "crypto/crypto.hpp"
#include "hub/private_file.hpp"

namespace kizuna::hub {
namespace {

// "Mon, 07 Dec 2026 10:15:03 +0000" (RFC 5322 3.3), always UTC.
std::string MailDate(core::Timestamp t) {
    const std::time_t seconds = static_cast<std::time_t>(core::ToUnixSeconds(t));
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return text;
}

// A header value that may hold any UTF-8: an RFC 2047 encoded word.
std::string EncodedWord(std::string_view text) {
    std::string base64 = core::Base64UrlEncode(text);
    // Base64url to the standard alphabet, padded.
    for (char& c : base64) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    while (base64.size() % 4 != 0) base64 += '=';
    return "=?UTF-8?B?" + base64 + "?=";
}

}  // namespace

core::Status MailSpool::Queue(const OutgoingMail& mail, core::Timestamp now) {
    if (::mkdir(directory_.c_str(), 0700) != 0 && errno != EEXIST) {
        return core::MakeError(
            core::ErrorCode::kUnavailable,
            "cannot create the mail spool " + directory_.string() + ": " + std::strerror(errno));
    }
    std::string message;
    message += "From: Kizuna <no-reply@kizuna.invalid>\r\n";
    message += "To: <" + mail.to + ">\r\n";
    message += "Subject: " + EncodedWord(mail.subject) + "\r\n";
    message += "Date: " + MailDate(now) + "\r\n";
    message += "MIME-Version: 1.0\r\n";
    message += "Content-Type: text/plain; charset=UTF-8\r\n";
    message += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    for (char c : mail.body) {
        if (c == '\n') message += '\r';
        message += c;
    }
    // Names sort in the order the messages were queued: the time, then this process's count.
    char order[48];
    std::snprintf(order, sizeof order, "%012lld-%010llu-",
                  static_cast<long long>(core::ToUnixSeconds(now)),
                  static_cast<unsigned long long>(queued_.fetch_add(1) + 1));
    const std::string name = order + crypto::NewSecretToken(9) + ".eml";
    return WritePrivateFile(directory_ / name, message);
}

}  // namespace kizuna::hub
