// Sends Japanese test messages through SmtpSender, as the dispatch will: a tool for
// smtp_test.py (the real aiosmtpd server) and for measuring messages per second.
//   mail_send URL COUNT [--retries N] [--rate PER_SECOND] [--connections N] [--to-domain D]
//             [--user U] [--starttls 1] [--ca-file CERT]      (password: KIZUNA_SMTP_PASSWORD)
// With several connections, each thread has its own SmtpSender and sends every N-th message.
// Prints one line per attempt that did not deliver ("temporary 451 ..." / "permanent 550 ...")
// and at the end "sent S failed F seconds T rate R"; exits 2 when a sender cannot be created.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/crypto.hpp"
#include "mail/mime_message.hpp"
#include "mail/rate_limiter.hpp"
#include "mail/smtp_sender.hpp"

namespace {

using kizuna::mail::SendResult;

class WallClock final : public kizuna::core::Clock {
  public:
    kizuna::core::Timestamp Now() const override {
        return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    }
};

kizuna::mail::MailMessage Message(int i, const std::string& domain) {
    kizuna::mail::MailMessage m;
    m.from = {"絆ポイント事務局", "offers@kizuna.example"};
    m.to = {"山田 太郎 " + std::to_string(i), "member" + std::to_string(i) + "@" + domain};
    m.subject = "【絆】秋の読書フェア：文庫本ポイント2倍のお知らせ（" + std::to_string(i) + "）";
    m.text =
        "山田様\n\n秋の読書フェアのお知らせです。文庫本が全品ポイント2倍。\n\n"
        "送信者: 絆ポイント事務局 (offers@kizuna.example)\n"
        "配信停止: https://kizuna.example/u/" +
        std::to_string(i) + "\n";
    m.html = "<p>山田様</p><p>秋の読書フェアのお知らせです。<b>文庫本が全品ポイント2倍</b>。</p>";
    m.unsubscribe_url = "https://kizuna.example/u/" + std::to_string(i);
    return m;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: mail_send URL COUNT [--retries N] [--rate R] [--connections N] "
                     "[--to-domain D]\n");
        return 2;
    }
    kizuna::mail::SmtpConfig config;
    config.url = argv[1];
    const int count = std::atoi(argv[2]);
    int retries = 0;
    double rate = 0;
    int connections = 1;
    std::string domain = "example.jp";
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--retries")
            retries = std::atoi(argv[i + 1]);
        else if (flag == "--rate")
            rate = std::atof(argv[i + 1]);
        else if (flag == "--connections")
            connections = std::atoi(argv[i + 1]);
        else if (flag == "--to-domain")
            domain = argv[i + 1];
        else if (flag == "--user")
            config.user = argv[i + 1];
        else if (flag == "--starttls")
            config.starttls = std::string(argv[i + 1]) == "1";
        else if (flag == "--ca-file")
            config.ca_file = argv[i + 1];
        else {
            std::fprintf(stderr, "mail_send: unknown option %s\n", flag.c_str());
            return 2;
        }
    }
    if (const char* password = std::getenv("KIZUNA_SMTP_PASSWORD")) config.password = password;
    WallClock clock;
    struct Totals {
        int sent = 0;
        int failed = 0;
        std::vector<std::string> lines;
    };
    std::vector<Totals> totals(static_cast<std::size_t>(connections));
    kizuna::mail::SteadyTickClock ticks;
    const auto start = std::chrono::steady_clock::now();
    auto worker = [&](int first) {
        Totals& t = totals[static_cast<std::size_t>(first)];
        kizuna::crypto::SystemRandom random;
        auto sender = kizuna::mail::SmtpSender::Create(config, clock, random);
        if (!sender) {
            t.lines.push_back("error " + sender.error().message);
            return;
        }
        std::optional<kizuna::mail::RateLimiter> limiter;
        if (rate > 0) limiter.emplace(rate / connections, 1.0, ticks);
        for (int i = first; i < count; i += connections) {
            kizuna::mail::MailMessage message = Message(i, domain);
            // One Message-ID for all attempts of a message, as a spool keeps it across retries.
            message.message_id = kizuna::mail::NewMessageId(random, message.from.address);
            for (int attempt = 0;; ++attempt) {
                if (limiter) limiter->Acquire();
                const kizuna::mail::SendOutcome outcome = (*sender)->Send(message);
                if (outcome.sent()) {
                    ++t.sent;
                    break;
                }
                const bool temporary = outcome.result == SendResult::kTemporaryFailure;
                t.lines.push_back(std::string(temporary ? "temporary " : "permanent ") +
                                  std::to_string(outcome.smtp_code) + " " + outcome.reason);
                if (!temporary || attempt >= retries) {
                    ++t.failed;
                    break;
                }
            }
        }
    };
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) threads.emplace_back(worker, c);
    for (std::thread& thread : threads) thread.join();
    int sent = 0;
    int failed = 0;
    for (const Totals& t : totals) {
        for (const std::string& line : t.lines) std::printf("%s\n", line.c_str());
        sent += t.sent;
        failed += t.failed;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("sent %d failed %d seconds %.3f rate %.1f\n", sent, failed, seconds,
                seconds > 0 ? sent / seconds : 0.0);
    return sent + failed == count ? 0 : 2;  // else a sender could not be created (printed)
}
