#pragma once
// Sends mail over SMTP with libcurl, reusing one connection for many messages.
//   smtp://host:port   plain; STARTTLS required when `starttls` or a user is set
//   smtps://host:port  implicit TLS
// Thread-safety: none; one SmtpSender per sending thread (it owns one CURL easy handle).

#include <chrono>
#include <memory>
#include <string>

#include "core/random.hpp"
#include "core/result.hpp"
#include "core/time.hpp"
#include "mail/mail_sender.hpp"

namespace kizuna::mail {

struct SmtpConfig {
    std::string url;        // smtp://HOST:PORT or smtps://HOST:PORT
    std::string user;       // optional AUTH user (--smtp-user)
    std::string password;   // from KIZUNA_SMTP_PASSWORD, never from the command line
    bool starttls = false;  // require STARTTLS on smtp://
    std::string ca_file;    // optional CA bundle for a server certificate not in the system store
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{60'000};  // one whole message
};

class SmtpSender final : public MailSender {
  public:
    // Errors: kInvalidArgument ("smtp") for a URL that is not smtp:// or smtps://.
    // `clock` and `random` fill a message's unset date and Message-ID; both must outlive this.
    static core::Result<std::unique_ptr<SmtpSender>> Create(SmtpConfig config,
                                                            const core::Clock& clock,
                                                            core::Random& random);
    ~SmtpSender() override;
    SmtpSender(const SmtpSender&) = delete;
    SmtpSender& operator=(const SmtpSender&) = delete;

    // kSent on a 2xx end of DATA. A 4xx reply, a timeout or a connection failure is
    // kTemporaryFailure; a 5xx reply or a message RenderMime refuses is kPermanentFailure. The
    // reason holds the server's reply line (e.g. "550 5.1.1 no such user") or the local error.
    SendOutcome Send(const MailMessage& message) override;

    struct Impl;  // the CURL handle and the message in flight (smtp_sender.cpp)

  private:
    explicit SmtpSender(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace kizuna::mail
