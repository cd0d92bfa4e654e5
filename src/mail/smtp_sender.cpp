#include "mail/smtp_sender.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "mail/curl_init.hpp"
#include "mail/mime_message.hpp"

namespace kizuna::mail {

struct SmtpSender::Impl {
    SmtpConfig config;
    const core::Clock& clock;
    core::Random& random;
    CURL* curl = nullptr;
    // The message being uploaded and how much of it libcurl has read.
    std::string payload;
    std::size_t offset = 0;
    // The server's last 4xx/5xx reply line, from libcurl's protocol trace.
    std::string last_reply;
    char error_buffer[CURL_ERROR_SIZE] = {};

    Impl(SmtpConfig c, const core::Clock& k, core::Random& r)
        : config(std::move(c)), clock(k), random(r) {}
    ~Impl() {
        if (curl != nullptr) curl_easy_cleanup(curl);
    }
};

namespace {

std::size_t ReadPayload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* impl = static_cast<SmtpSender::Impl*>(user);
    const std::size_t n = std::min(size * count, impl->payload.size() - impl->offset);
    std::memcpy(buffer, impl->payload.data() + impl->offset, n);
    impl->offset += n;
    return n;
}

// Keeps the server's last refusal ("451 4.3.0 try later"), so a failure carries its reason;
// after a refusal libcurl ends the session, so the very last reply is "221 Bye".
int TraceReplies(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
    if (type != CURLINFO_HEADER_IN) return 0;
    auto* impl = static_cast<SmtpSender::Impl*>(user);
    std::string_view line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    const std::size_t last_break = line.rfind('\n');
    if (last_break != std::string_view::npos) line.remove_prefix(last_break + 1);
    if (!line.empty() && (line.front() == '4' || line.front() == '5')) {
        impl->last_reply.assign(line);
    }
    return 0;
}

// Sets an option that cannot fail for a well-formed handle; a failure is a programming error.
template <typename T>
void Set(CURL* curl, CURLoption option, T value) {
    if (curl_easy_setopt(curl, option, value) != CURLE_OK) {
        throw std::logic_error("libcurl refused an SMTP option");
    }
}

}  // namespace

SmtpSender::SmtpSender(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SmtpSender::~SmtpSender() = default;

core::Result<std::unique_ptr<SmtpSender>> SmtpSender::Create(SmtpConfig config,
                                                             const core::Clock& clock,
                                                             core::Random& random) {
    const bool implicit_tls = config.url.starts_with("smtps://");
    if (!implicit_tls && !config.url.starts_with("smtp://")) {
        return core::InvalidField("smtp", "must be an smtp://HOST:PORT or smtps://HOST:PORT URL");
    }
    if (config.url.find_first_of("\r\n ") != std::string::npos) {
        return core::InvalidField("smtp", "must be a URL without spaces or line breaks");
    }
    InitCurl();
    auto impl = std::make_unique<Impl>(std::move(config), clock, random);
    impl->curl = curl_easy_init();
    if (impl->curl == nullptr) throw std::runtime_error("libcurl could not create a handle");
    CURL* curl = impl->curl;
    const SmtpConfig& c = impl->config;
    Set(curl, CURLOPT_URL, c.url.c_str());
    Set(curl, CURLOPT_NOSIGNAL, 1L);
    Set(curl, CURLOPT_UPLOAD, 1L);
    Set(curl, CURLOPT_READFUNCTION, &ReadPayload);
    Set(curl, CURLOPT_READDATA, impl.get());
    Set(curl, CURLOPT_VERBOSE, 1L);  // feeds TraceReplies; nothing is printed
    Set(curl, CURLOPT_DEBUGFUNCTION, &TraceReplies);
    Set(curl, CURLOPT_DEBUGDATA, impl.get());
    Set(curl, CURLOPT_ERRORBUFFER, impl->error_buffer);
    Set(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(c.connect_timeout.count()));
    Set(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(c.timeout.count()));
    // A password never crosses the network in the clear: with a user, smtp:// needs STARTTLS.
    if (!implicit_tls && (c.starttls || !c.user.empty())) {
        Set(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    }
    if (!c.user.empty()) {
        Set(curl, CURLOPT_USERNAME, c.user.c_str());
        Set(curl, CURLOPT_PASSWORD, c.password.c_str());
    }
    if (!c.ca_file.empty()) Set(curl, CURLOPT_CAINFO, c.ca_file.c_str());
    return std::unique_ptr<SmtpSender>(new SmtpSender(std::move(impl)));
}

SendOutcome SmtpSender::Send(const MailMessage& message) {
    Impl& impl = *impl_;
    MailMessage filled = message;
    if (filled.message_id.empty()) {
        filled.message_id = NewMessageId(impl.random, filled.from.address);
    }
    if (filled.date == core::Timestamp{}) filled.date = impl.clock.Now();
    core::Result<std::string> rendered = RenderMime(filled);
    if (!rendered) {
        return SendOutcome{SendResult::kPermanentFailure, 0, rendered.error().message};
    }
    impl.payload = std::move(rendered).value();
    impl.offset = 0;
    impl.last_reply.clear();
    impl.error_buffer[0] = '\0';

    const std::string mail_from = "<" + filled.from.address + ">";
    const std::string rcpt = "<" + filled.to.address + ">";
    curl_slist* recipients = curl_slist_append(nullptr, rcpt.c_str());
    if (recipients == nullptr) throw std::bad_alloc();
    Set(impl.curl, CURLOPT_MAIL_FROM, mail_from.c_str());
    Set(impl.curl, CURLOPT_MAIL_RCPT, recipients);
    Set(impl.curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(impl.payload.size()));
    const CURLcode rc = curl_easy_perform(impl.curl);
    Set(impl.curl, CURLOPT_MAIL_RCPT, static_cast<curl_slist*>(nullptr));
    curl_slist_free_all(recipients);

    long code = 0;
    curl_easy_getinfo(impl.curl, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK && code >= 200 && code < 300) {
        return SendOutcome{SendResult::kSent, static_cast<int>(code), {}};
    }
    std::string reason;
    if (code >= 400 && !impl.last_reply.empty()) {
        reason = impl.last_reply;
    } else {
        reason = impl.error_buffer[0] != '\0' ? impl.error_buffer : curl_easy_strerror(rc);
    }
    const SendResult result =
        code >= 500 && code < 600 ? SendResult::kPermanentFailure : SendResult::kTemporaryFailure;
    return SendOutcome{result, static_cast<int>(code), std::move(reason)};
}

}  // namespace kizuna::mail
