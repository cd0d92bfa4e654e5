#pragma once
// What sends one email, so callers (the mail spool, offer dispatch) do not depend on SMTP.

#include <string>

#include "mail/mail_message.hpp"

namespace kizuna::mail {

enum class SendResult {
    kSent,
    kTemporaryFailure,  // try again later: 4xx answer, connection or timeout trouble
    kPermanentFailure,  // do not retry this recipient: 5xx answer or a message that cannot render
};

struct SendOutcome {
    SendResult result = SendResult::kSent;
    int smtp_code = 0;   // the server's last reply code, 0 when none was received
    std::string reason;  // the server's reply text or the local error, empty when sent

    bool sent() const { return result == SendResult::kSent; }
};

class MailSender {
  public:
    virtual ~MailSender() = default;
    // Sends one message to message.to. Never throws for delivery problems.
    virtual SendOutcome Send(const MailMessage& message) = 0;
};

}  // namespace kizuna::mail
