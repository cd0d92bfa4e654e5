#include "cli/server_runner.hpp"

#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

namespace kizuna::cli {
namespace {

// Books point expiries every `interval` until stopped.
class ExpiryLoop {
  public:
    ExpiryLoop(hub::Hub& hub, std::chrono::seconds interval)
        : hub_(hub), interval_(interval), thread_([this] { Loop(); }) {}
    ~ExpiryLoop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }

  private:
    void Loop() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            auto expired = hub_.points().RunExpiry();
            if (!expired) {
                spdlog::warn("expiry pass failed: {}", expired.error().message);
            } else if (*expired > 0) {
                spdlog::info("expiry pass: {} lots expired", *expired);
            }
            lock.lock();
            wake_.wait_for(lock, interval_, [this] { return stopping_; });
        }
    }

    hub::Hub& hub_;
    std::chrono::seconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace

ServerRunner::ServerRunner(hub::Hub& hub, http::ServerOptions options, ShutdownWatch& shutdown,
                           std::chrono::seconds expiry_interval)
    : hub_(hub),
      options_(std::move(options)),
      shutdown_(shutdown),
      expiry_interval_(expiry_interval) {}

core::Status ServerRunner::Run(const std::function<void(http::HubServer&)>& on_started,
                               const std::function<void()>& on_stopping) {
    http::HubServer server(hub_, options_);
    KZ_RETURN_IF_ERROR(server.Start());
    on_started(server);
    {
        ExpiryLoop expiry(hub_, expiry_interval_);
        const int signal_number = shutdown_.Wait();
        spdlog::info("{} received: stopping", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
        if (on_stopping) on_stopping();
    }
    server.Stop();
    return core::Status::Ok();
}

}  // namespace kizuna::cli
