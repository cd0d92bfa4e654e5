#pragma once
// One outgoing email as the rest of Kizuna describes it: who from, who to, subject, a plain-text
// and an HTML body, and the unsubscribe URL. Rendering to MIME is mime_message.hpp; sending is a
// MailSender (mail_sender.hpp). Plain values; thread-safety of a std::string.

#include <string>

#include "core/time.hpp"

namespace kizuna::mail {

struct Mailbox {
    std::string display_name;  // optional; any UTF-8 without control characters
    std::string address;       // "local@domain", ASCII
};

struct MailMessage {
    Mailbox from;
    Mailbox to;
    std::string subject;  // UTF-8, one line; Japanese is RFC 2047 encoded on the wire
    std::string text;     // text/plain part, UTF-8 (required)
    std::string html;     // text/html part, UTF-8; empty means a single text/plain body
    // http(s) URL for List-Unsubscribe; with it, List-Unsubscribe-Post announces RFC 8058
    // one-click unsubscribe. Empty for transactional mail (password reset, confirmation).
    std::string unsubscribe_url;
    // Set by the caller to keep a stable id across retries; empty lets the sender make one.
    std::string message_id;  // without angle brackets: "random@domain"
    core::Timestamp date{};  // the epoch means "now" for the sender
};

}  // namespace kizuna::mail
