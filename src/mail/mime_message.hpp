#pragma once
// Renders a MailMessage as an RFC 5322 / MIME message ready for SMTP DATA: CRLF line endings,
// no line over 998 octets (bodies are base64 in 76-column lines), non-ASCII header text as
// RFC 2047 "B" encoded-words in UTF-8, multipart/alternative with text/plain and text/html.
// Pure functions: no I/O; randomness only through the core::Random given to NewMessageId.

#include <string>
#include <string_view>

#include "core/random.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "mail/mail_message.hpp"

namespace kizuna::mail {

// The message with all headers and the body. Errors (kInvalidArgument naming the field) when
// any header input holds CR, LF or another control character (so no header can be injected),
// an address is not a plain "local@domain", the URL is not http(s), the text body is empty, the
// message id or date is unset, or a body is not valid UTF-8.
core::Result<std::string> RenderMime(const MailMessage& message);

// RFC 2047 encoded-words ("=?UTF-8?B?...?=", each at most 75 characters, never splitting a
// UTF-8 sequence) joined by CRLF SP folding; ASCII text without specials comes back as is.
// `text` must be valid UTF-8 without control characters (RenderMime checks this first).
std::string EncodeHeaderText(std::string_view text);

// "Mon, 07 Dec 2026 11:02:51 +0000" (RFC 5322 section 3.3, always UTC).
std::string FormatMailDate(core::Timestamp t);

// "<32 hex digits>@<domain of from_address>", without angle brackets.
std::string NewMessageId(core::Random& random, std::string_view from_address);

// Base64 of `bytes` (RFC 4648, with padding, no line breaks).
std::string Base64(std::string_view bytes);

}  // namespace kizuna::mail
