#include "hub/mail_delivery.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/backoff.hpp"
#include "hub/mail_spool.hpp"
#include "hub/private_file.hpp"

namespace kizuna::hub {
namespace {

namespace fs = std::filesystem;

core::Status EnsureDirectory(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return core::MakeError(core::ErrorCode::kUnavailable,
                               "cannot create " + dir.string() + ": " + std::strerror(errno));
    }
    return core::Status::Ok();
}

void SyncDirectory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Moves spool/NAME to spool/SUBDIR/NAME and makes the move durable.
core::Status MoveTo(const fs::path& spool, const std::string& name, const char* subdir) {
    const fs::path dir = spool / subdir;
    KZ_RETURN_IF_ERROR(EnsureDirectory(dir));
    if (::rename((spool / name).c_str(), (dir / name).c_str()) != 0) {
        return core::MakeError(
            core::ErrorCode::kUnavailable,
            "cannot move " + name + " to " + dir.string() + ": " + std::strerror(errno));
    }
    SyncDirectory(dir);
    SyncDirectory(spool);
    return core::Status::Ok();
}

std::optional<std::string> ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return content.str();
}

// SMTP authentication refused (RFC 4954: 530, 534, 535, 538): the hub's credentials, not the
// message, are wrong; every message would fail the same way, so none is given up.
bool IsAuthenticationRefusal(int smtp_code) {
    return smtp_code == 530 || smtp_code == 534 || smtp_code == 535 || smtp_code == 538;
}

}  // namespace

MailDelivery::MailDelivery(fs::path spool, mail::MailSender& sender,
                           const MailDeliveryOptions& options, mail::TickClock& clock)
    : spool_(std::move(spool)),
      sender_(sender),
      options_(options),
      clock_(clock),
      limiter_(options.per_second, std::max(1.0, options.per_second), clock),
      breaker_(options.breaker_limit) {}

core::Result<MailDelivery::PassCounts> MailDelivery::RunPass(
    const std::function<bool()>& stopping) {
    PassCounts counts;
    std::vector<std::string> names;
    std::error_code error;
    fs::directory_iterator it(spool_, error);
    if (error) {
        if (error == std::errc::no_such_file_or_directory) return counts;  // nothing queued yet
        return core::MakeError(core::ErrorCode::kUnavailable,
                               "cannot list " + spool_.string() + ": " + error.message());
    }
    for (; it != fs::directory_iterator(); it.increment(error)) {
        const std::string name = it->path().filename().string();
        if (it->is_regular_file(error) && name.ends_with(MailSpool::kSuffix)) {
            names.push_back(name);
        }
    }
    std::sort(names.begin(), names.end());
    // Forget the retries of files that are gone (moved by an operator).
    const std::set<std::string> present(names.begin(), names.end());
    std::erase_if(retries_, [&](const auto& entry) { return !present.contains(entry.first); });

    const std::string domain = options_.from.address.substr(options_.from.address.find('@') + 1);
    for (const std::string& name : names) {
        if (stopping()) break;
        const auto now = clock_.Now();
        if (paused_until_ && now < *paused_until_) break;
        paused_until_.reset();
        auto retry = retries_.find(name);
        if (retry != retries_.end() && now < retry->second.due) continue;

        const std::optional<std::string> content = ReadFile(spool_ / name);
        if (!content) {
            spdlog::warn("mail: cannot read {}; it stays in the spool", (spool_ / name).string());
            continue;
        }
        mail::SendOutcome outcome;
        auto spooled = MailSpool::Parse(*content);
        if (!spooled) {
            outcome.result = mail::SendResult::kPermanentFailure;
            outcome.reason = spooled.error().message;
        } else {
            mail::MailMessage message;
            message.from = options_.from;
            message.to.address = spooled->mail.to;
            message.subject = spooled->mail.subject;
            message.text = spooled->mail.body;
            message.date = spooled->created_at;
            // Stable across retries, so a receiver can tell a resend from a new message.
            message.message_id =
                name.substr(0, name.size() - MailSpool::kSuffix.size()) + "@" + domain;
            limiter_.Acquire();
            outcome = sender_.Send(message);
        }
        if (outcome.result == mail::SendResult::kPermanentFailure &&
            IsAuthenticationRefusal(outcome.smtp_code)) {
            outcome.result = mail::SendResult::kTemporaryFailure;
        }

        switch (outcome.result) {
            case mail::SendResult::kSent: {
                breaker_.RecordSuccess();
                retries_.erase(name);
                ++counts.sent;
                if (auto moved = MoveTo(spool_, name, "sent"); !moved.ok()) {
                    spdlog::error("mail: {} was sent but {}; it will be sent again", name,
                                  moved.error().message);
                }
                break;
            }
            case mail::SendResult::kPermanentFailure: {
                breaker_.RecordFailure();
                retries_.erase(name);
                ++counts.failed;
                spdlog::warn("mail: {} to failed/: {}", name, outcome.reason);
                const fs::path reason = spool_ / "failed" / (name + ".reason");
                auto written = EnsureDirectory(spool_ / "failed");
                if (written.ok()) {
                    std::error_code ignored;
                    fs::remove(reason, ignored);  // left by a crash before the move
                    written = WritePrivateFile(reason, outcome.reason + "\n");
                }
                if (written.ok()) written = MoveTo(spool_, name, "failed");
                if (!written.ok()) {
                    spdlog::error("mail: cannot give up {}: {}", name, written.error().message);
                }
                break;
            }
            case mail::SendResult::kTemporaryFailure: {
                breaker_.RecordFailure();
                ++counts.deferred;
                Retry& r = retries_[name];
                ++r.attempts;
                // core::BackoffDelay, not core::RetryDelay: RetryDelay jitters the wait so that
                // webhook receivers that failed together do not all come back at once, and
                // counts in whole seconds. The spool goes to one relay and is sent one message at
                // a time through the rate limiter, so there is no crowd to spread; the exact
                // wait is what the operator set (--mail-retry-base) and what NextDue reports.
                const auto wait =
                    core::BackoffDelay(options_.retry_base, options_.retry_cap, r.attempts);
                r.due = clock_.Now() + wait;
                spdlog::warn("mail: {} not delivered (attempt {}), retry in {} s: {}", name,
                             r.attempts, wait.count() / 1000.0, outcome.reason);
                break;
            }
        }
        if (breaker_.tripped()) {
            paused_until_ = clock_.Now() + options_.breaker_pause;
            spdlog::warn("mail: {} failures in a row; sending paused for {} s",
                         breaker_.consecutive_failures(), options_.breaker_pause.count() / 1000.0);
            break;
        }
    }
    return counts;
}

std::optional<std::chrono::nanoseconds> MailDelivery::NextDue() const {
    // Nothing is sent before a pause ends, whatever is due.
    std::optional<mail::TickClock::TimePoint> next = paused_until_;
    for (const auto& [name, retry] : retries_) {
        if (!next || (!paused_until_ && retry.due < *next)) next = retry.due;
    }
    if (!next) return std::nullopt;
    return std::max(std::chrono::nanoseconds::zero(), *next - clock_.Now());
}

}  // namespace kizuna::hub
