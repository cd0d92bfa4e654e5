#pragma once
// Advances offer dispatch runs (dispatch_service.hpp): selects their recipients a page of
// members at a time and sends their email rows. Driven by the DispatchWorker thread, or by a
// test calling Step.
//
// Exactly once, per run and member: an email row is claimed — written "sending", durably —
// before its message goes to the SMTP server, and written "sent" (with its offers recorded) or
// "pending"/"failed" after the server's answer. A row is claimed only from "pending", so a
// running hub never sends a row twice. If the hub dies between the claim and the answer's
// record, nobody knows whether the server took the message: on restart RecoverInterrupted marks
// such rows "unknown" and never sends them again — delivery is at most once per run, and the run
// reports how many are unknown (at most one batch: `BatchSize`). Their offers are recorded as
// sent, so no later run repeats them either. A deferred (4xx) row goes back to "pending" with a
// later next_attempt_at; a 5xx is "failed" with the server's reply.
//
// Rows are claimed in batches of about a fifth of a second's sending (1 at low rates, at most
// 50), so a fast run costs two commits per batch rather than per message. A FailureBreaker
// pauses the run after consecutive failures (the rest of the batch goes back to "pending").
// Thread-safety: none; one runner per thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/offer_selection.hpp"
#include "core/result.hpp"
#include "hub/dispatch_service.hpp"
#include "mail/failure_breaker.hpp"
#include "mail/mail_sender.hpp"
#include "mail/rate_limiter.hpp"

namespace kizuna::hub {

class DispatchRunner {
  public:
    // `sender` may be null (a hub without SMTP: email rows wait). Everything must outlive this.
    DispatchRunner(HubContext& context, DispatchService& service, mail::MailSender* sender,
                   mail::TickClock& clock);
    ~DispatchRunner();
    DispatchRunner(const DispatchRunner&) = delete;
    DispatchRunner& operator=(const DispatchRunner&) = delete;

    // Once, before the first Step of a process: rows a previous process left "sending" become
    // "unknown". Returns how many.
    core::Result<int> RecoverInterrupted();

    // One piece of work on the oldest unfinished run that has some: a page of selection or a
    // batch of email. Returns zero when it did something (call again), else how long until
    // something is due (a retry, the end of a pause), or none when nothing waits at all.
    core::Result<std::optional<std::chrono::nanoseconds>> Step(
        const std::function<bool()>& stopping);

    int BatchSize() const;

  private:
    struct Plan;  // a run's offers, names and selection, made once per process
    core::Result<Plan*> PlanFor(const storage::DispatchRun& run);
    core::Status SelectPage(storage::DispatchRun run, Plan& plan);
    // Whether it sent (or settled) any row.
    core::Result<bool> SendBatch(storage::DispatchRun run, Plan& plan,
                                 const std::function<bool()>& stopping);
    core::Status Finish(storage::DispatchRun run, const std::string& status,
                        const std::string& error);

    HubContext& context_;
    DispatchService& service_;
    mail::MailSender* sender_;
    mail::RateLimiter limiter_;
    mail::FailureBreaker breaker_;
    std::map<std::string, std::unique_ptr<Plan>> plans_;
};

}  // namespace kizuna::hub
