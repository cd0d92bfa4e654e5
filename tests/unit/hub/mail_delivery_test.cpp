#include "hub/mail_delivery.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "hub/mail_spool.hpp"

namespace kizuna::hub {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Time moves only when the rate limiter sleeps on it or the test advances it.
class FakeTickClock final : public mail::TickClock {
  public:
    TimePoint Now() const override { return now_; }
    void SleepFor(nanoseconds d) override {
        if (d > nanoseconds::zero()) now_ += d;
    }
    void Advance(nanoseconds d) { now_ += d; }

  private:
    TimePoint now_{};
};

// Answers each Send with the next scripted outcome (kSent once the script is used up) and keeps
// every message it was given.
class ScriptedSender final : public mail::MailSender {
  public:
    mail::SendOutcome Send(const mail::MailMessage& message) override {
        sent_.push_back(message);
        if (script_.empty()) return {};
        mail::SendOutcome next = script_.front();
        script_.pop_front();
        return next;
    }
    void Then(mail::SendResult result, int code, std::string reason) {
        script_.push_back({result, code, std::move(reason)});
    }
    const std::vector<mail::MailMessage>& sent() const { return sent_; }

  private:
    std::deque<mail::SendOutcome> script_;
    std::vector<mail::MailMessage> sent_;
};

class MailDeliveryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "kizuna-mail-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        root_ = templ;
        spool_ = std::make_unique<MailSpool>(root_ / "mail-outbox");
        options_.from = {"Kizuna", "hub@example.jp"};
        options_.per_second = 1000;
        options_.breaker_limit = 3;
        options_.breaker_pause = seconds(60);
        options_.retry_base = seconds(5);
        options_.retry_cap = seconds(30);
    }
    void TearDown() override { fs::remove_all(root_); }

    // Queues a mail to `to` at unix time `at`; returns the spool file's name.
    std::string Queue(const std::string& to, int64_t at) {
        const auto before = Names(spool_->directory());
        EXPECT_TRUE(
            spool_->Queue({to, "件名 " + to, "Hello " + to + "\n"}, core::FromUnixSeconds(at))
                .ok());
        for (const std::string& name : Names(spool_->directory())) {
            if (std::find(before.begin(), before.end(), name) == before.end()) return name;
        }
        ADD_FAILURE() << "nothing queued";
        return "";
    }

    // The regular files in `dir`, sorted.
    static std::vector<std::string> Names(const fs::path& dir) {
        std::vector<std::string> names;
        if (!fs::exists(dir)) return names;
        for (const auto& entry : fs::directory_iterator(dir)) {
            if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    MailDelivery::PassCounts Pass(MailDelivery& delivery) {
        auto counts = delivery.RunPass([] { return false; });
        if (!counts) {
            ADD_FAILURE() << counts.error().message;
            return {};
        }
        return *counts;
    }

    fs::path outbox() const { return spool_->directory(); }

    fs::path root_;
    std::unique_ptr<MailSpool> spool_;
    MailDeliveryOptions options_;
    FakeTickClock clock_;
    ScriptedSender sender_;
};

TEST_F(MailDeliveryTest, EmptyOrMissingSpoolIsNotAnError) {
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    EXPECT_EQ(Pass(delivery).sent, 0);
    EXPECT_FALSE(delivery.NextDue().has_value());
}

TEST_F(MailDeliveryTest, SendsInNameOrderAndMovesEachToSent) {
    const std::string second = Queue("b@example.jp", 1'700'000'100);
    const std::string first = Queue("a@example.jp", 1'700'000'000);
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    const auto counts = Pass(delivery);
    EXPECT_EQ(counts.sent, 2);
    ASSERT_EQ(sender_.sent().size(), 2u);
    const mail::MailMessage& m = sender_.sent()[0];
    EXPECT_EQ(m.to.address, "a@example.jp");
    EXPECT_EQ(m.from.address, "hub@example.jp");
    EXPECT_EQ(m.subject, "件名 a@example.jp");
    EXPECT_EQ(m.text, "Hello a@example.jp\n");
    EXPECT_EQ(m.date, core::FromUnixSeconds(1'700'000'000));
    // The Message-ID is the file's, so a retry carries the same one.
    EXPECT_EQ(m.message_id, first.substr(0, first.size() - 5) + "@example.jp");
    EXPECT_EQ(sender_.sent()[1].to.address, "b@example.jp");
    EXPECT_EQ(Names(outbox()), std::vector<std::string>{});
    EXPECT_EQ(Names(outbox() / "sent"), (std::vector<std::string>{first, second}));
    // Nothing is sent twice.
    EXPECT_EQ(Pass(delivery).sent, 0);
    EXPECT_EQ(sender_.sent().size(), 2u);
}

TEST_F(MailDeliveryTest, PermanentFailureMovesToFailedWithTheServersReason) {
    const std::string bad = Queue("nobody@example.jp", 1'700'000'000);
    const std::string good = Queue("a@example.jp", 1'700'000'001);
    sender_.Then(mail::SendResult::kPermanentFailure, 550, "550 5.1.1 no such user");
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    const auto counts = Pass(delivery);
    EXPECT_EQ(counts.failed, 1);
    EXPECT_EQ(counts.sent, 1);
    EXPECT_EQ(Names(outbox() / "failed"), (std::vector<std::string>{bad, bad + ".reason"}));
    std::ifstream reason(outbox() / "failed" / (bad + ".reason"));
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reason), {}), "550 5.1.1 no such user\n");
    EXPECT_EQ(Names(outbox() / "sent"), std::vector<std::string>{good});
    // Never retried.
    clock_.Advance(seconds(3600));
    Pass(delivery);
    EXPECT_EQ(sender_.sent().size(), 2u);
}

TEST_F(MailDeliveryTest, TemporaryFailureStaysAndIsRetriedAfterADoublingWait) {
    const std::string name = Queue("a@example.jp", 1'700'000'000);
    sender_.Then(mail::SendResult::kTemporaryFailure, 451, "451 4.3.0 try later");
    sender_.Then(mail::SendResult::kTemporaryFailure, 0, "connection refused");
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    EXPECT_EQ(Pass(delivery).deferred, 1);
    EXPECT_EQ(Names(outbox()), std::vector<std::string>{name});
    ASSERT_TRUE(delivery.NextDue().has_value());
    EXPECT_EQ(*delivery.NextDue(), seconds(5));
    // Not before it is due.
    clock_.Advance(seconds(4));
    Pass(delivery);
    EXPECT_EQ(sender_.sent().size(), 1u);
    clock_.Advance(seconds(1));
    EXPECT_EQ(Pass(delivery).deferred, 1);
    EXPECT_EQ(sender_.sent().size(), 2u);
    EXPECT_EQ(*delivery.NextDue(), seconds(10));  // doubled
    clock_.Advance(seconds(10));
    EXPECT_EQ(Pass(delivery).sent, 1);
    ASSERT_EQ(sender_.sent().size(), 3u);
    EXPECT_EQ(sender_.sent()[0].message_id, sender_.sent()[2].message_id);
    EXPECT_EQ(Names(outbox() / "sent"), std::vector<std::string>{name});
    EXPECT_FALSE(delivery.NextDue().has_value());
}

TEST_F(MailDeliveryTest, RetryWaitStopsDoublingAtTheCap) {
    Queue("a@example.jp", 1'700'000'000);
    for (int i = 0; i < 6; ++i) sender_.Then(mail::SendResult::kTemporaryFailure, 421, "421");
    options_.breaker_limit = 100;
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    const std::vector<seconds> waits = {seconds(5),  seconds(10), seconds(20),
                                        seconds(30), seconds(30), seconds(30)};
    for (seconds wait : waits) {
        EXPECT_EQ(Pass(delivery).deferred, 1);
        EXPECT_EQ(*delivery.NextDue(), wait);
        clock_.Advance(wait);
    }
}

TEST_F(MailDeliveryTest, ARestartSendsWhatALostRunLeftAtOnce) {
    const std::string name = Queue("a@example.jp", 1'700'000'000);
    sender_.Then(mail::SendResult::kTemporaryFailure, 451, "451 4.3.0 try later");
    {
        MailDelivery before(outbox(), sender_, options_, clock_);
        EXPECT_EQ(Pass(before).deferred, 1);
    }
    MailDelivery after(outbox(), sender_, options_, clock_);
    EXPECT_EQ(Pass(after).sent, 1);
    EXPECT_EQ(Names(outbox() / "sent"), std::vector<std::string>{name});
}

TEST_F(MailDeliveryTest, ConsecutiveFailuresPauseAllSendingThenOneTryAfterThePause) {
    for (int i = 0; i < 5; ++i) Queue("user" + std::to_string(i) + "@example.jp", 1'700'000'000);
    for (int i = 0; i < 4; ++i) sender_.Then(mail::SendResult::kTemporaryFailure, 0, "timeout");
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    EXPECT_EQ(Pass(delivery).deferred, 3);  // the breaker's limit, then the pass stops
    EXPECT_EQ(sender_.sent().size(), 3u);
    clock_.Advance(seconds(30));  // the messages' retries are due, the pause is not over
    Pass(delivery);
    EXPECT_EQ(sender_.sent().size(), 3u);
    EXPECT_EQ(*delivery.NextDue(), seconds(30));
    clock_.Advance(seconds(30));
    // Still failing: one try, and the pause starts again.
    EXPECT_EQ(Pass(delivery).deferred, 1);
    EXPECT_EQ(sender_.sent().size(), 4u);
    clock_.Advance(seconds(60));
    EXPECT_EQ(Pass(delivery).sent, 5);
    EXPECT_EQ(Names(outbox() / "sent").size(), 5u);
}

TEST_F(MailDeliveryTest, RefusedLoginKeepsTheMailForARetry) {
    const std::string name = Queue("a@example.jp", 1'700'000'000);
    sender_.Then(mail::SendResult::kPermanentFailure, 535, "535 5.7.8 bad credentials");
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    EXPECT_EQ(Pass(delivery).deferred, 1);
    EXPECT_EQ(Names(outbox()), std::vector<std::string>{name});
    EXPECT_FALSE(fs::exists(outbox() / "failed"));
}

TEST_F(MailDeliveryTest, AFileThatIsNotASpooledMailGoesToFailedUnsent) {
    fs::create_directories(outbox());
    std::ofstream(outbox() / "000000000001-0000000001-x.json") << "From: old eml\r\n";
    std::ofstream(outbox() / "000000000002-0000000001-y.json.tmp.12.ab") << "{";  // a write
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    EXPECT_EQ(Pass(delivery).failed, 1);
    EXPECT_TRUE(sender_.sent().empty());
    EXPECT_EQ(Names(outbox() / "failed"),
              (std::vector<std::string>{"000000000001-0000000001-x.json",
                                        "000000000001-0000000001-x.json.reason"}));
    EXPECT_EQ(Names(outbox()),
              std::vector<std::string>{"000000000002-0000000001-y.json.tmp.12.ab"});
}

TEST_F(MailDeliveryTest, TheRateLimiterSpacesTheMessages) {
    for (int i = 0; i < 6; ++i) Queue("user" + std::to_string(i) + "@example.jp", 1'700'000'000);
    options_.per_second = 2;  // a burst of 2, then one every 500 ms
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    const auto start = clock_.Now();
    EXPECT_EQ(Pass(delivery).sent, 6);
    EXPECT_EQ(clock_.Now() - start, milliseconds(2000));
}

TEST_F(MailDeliveryTest, StoppingEndsThePassBetweenMessages) {
    for (int i = 0; i < 3; ++i) Queue("user" + std::to_string(i) + "@example.jp", 1'700'000'000);
    MailDelivery delivery(outbox(), sender_, options_, clock_);
    auto counts = delivery.RunPass([this] { return sender_.sent().size() >= 1; });
    ASSERT_TRUE(counts.has_value());
    EXPECT_EQ(counts->sent, 1);
    EXPECT_EQ(Names(outbox()).size(), 2u);
}

}  // namespace
}  // namespace kizuna::hub
