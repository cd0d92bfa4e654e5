#pragma once
// The one thread that delivers the mail spool: a MailDelivery pass, then a wait until the poll
// interval ends or a deferred message is due, until stopped. Started by the Hub when
// HubOptions::mail.deliver is set (kizuna hub serve --smtp). The destructor stops it between two
// messages (a message in flight finishes or times out: SmtpConfig::timeout) and joins it.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "hub/mail_delivery.hpp"

namespace kizuna::hub {

class MailDeliveryWorker {
  public:
    MailDeliveryWorker(std::filesystem::path spool, std::unique_ptr<mail::MailSender> sender,
                       const MailDeliveryOptions& options);
    ~MailDeliveryWorker();
    MailDeliveryWorker(const MailDeliveryWorker&) = delete;
    MailDeliveryWorker& operator=(const MailDeliveryWorker&) = delete;

  private:
    void Loop();
    bool stopping();

    std::unique_ptr<mail::MailSender> sender_;
    mail::SteadyTickClock clock_;
    MailDelivery delivery_;
    std::chrono::milliseconds poll_interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace kizuna::hub
