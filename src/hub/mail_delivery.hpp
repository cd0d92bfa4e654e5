#pragma once
// Delivers the mail spool (mail_spool.hpp) through a mail::MailSender: files in name order, each
// rendered by src/mail and sent. Where a file goes:
//   sent      -> spool/sent/NAME, once the server accepted it (250 at the end of DATA)
//   permanent -> spool/failed/NAME and spool/failed/NAME.reason (the server's reply), e.g. 550
//   temporary -> stays for a retry after an exponential backoff (4xx, timeout, no connection,
//                and an SMTP authentication refusal, which is the hub's configuration and not
//                the message's fault)
// The files are the queue, so a restart resumes; a file is moved only after the server accepted
// it, so a crash between the two sends it again: delivery is at least once. Consecutive failures
// trip a FailureBreaker that pauses every send; a RateLimiter spaces the messages.
// Thread-safety: none; one pass at a time (MailDeliveryWorker's thread).

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "mail/failure_breaker.hpp"
#include "mail/mail_sender.hpp"
#include "mail/rate_limiter.hpp"
#include "mail/smtp_sender.hpp"

namespace kizuna::hub {

struct MailDeliveryOptions {
    bool deliver = false;  // start the delivery worker (kizuna hub serve --smtp)
    mail::SmtpConfig smtp;
    mail::Mailbox from;      // --mail-from; its domain also names the Message-IDs
    double per_second = 20;  // messages per second at most
    int breaker_limit = 5;   // consecutive failures that pause all sending ...
    std::chrono::milliseconds breaker_pause{60'000};  // ... for this long
    std::chrono::milliseconds retry_base{5'000};      // first wait after a temporary failure,
    std::chrono::milliseconds retry_cap{600'000};     // doubling per attempt up to this
    std::chrono::milliseconds poll_interval{1'000};   // how often the worker looks for new files
};

class MailDelivery {
  public:
    // `sender` and `clock` must outlive this.
    MailDelivery(std::filesystem::path spool, mail::MailSender& sender,
                 const MailDeliveryOptions& options, mail::TickClock& clock);

    struct PassCounts {
        int sent = 0;
        int failed = 0;    // moved to failed/
        int deferred = 0;  // left for a retry (this pass's temporary failures)
    };
    // One pass over the spool: every due message in name order, until the spool is done, the
    // breaker trips or `stopping()` says so (checked before each message). Errors: kUnavailable
    // (the spool cannot be listed); a file that cannot be moved is logged and sent again later.
    core::Result<PassCounts> RunPass(const std::function<bool()>& stopping);

    // How long until a deferred message or the end of a pause is due; nullopt when none waits.
    std::optional<std::chrono::nanoseconds> NextDue() const;

  private:
    struct Retry {
        int attempts = 0;
        mail::TickClock::TimePoint due{};
    };
    std::filesystem::path spool_;
    mail::MailSender& sender_;
    MailDeliveryOptions options_;
    mail::TickClock& clock_;
    mail::RateLimiter limiter_;
    mail::FailureBreaker breaker_;
    std::optional<mail::TickClock::TimePoint> paused_until_;
    std::map<std::string, Retry> retries_;  // by file name
};

}  // namespace kizuna::hub
