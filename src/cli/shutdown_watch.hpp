#pragma once
// ShutdownWatch: turns SIGINT/SIGTERM into a flag and a wake-up, for `hub serve` and `demo`.
// Construct it first thing in the command, before any other thread exists: it blocks the signals
// in the calling thread (every later thread inherits the mask) and takes them on a thread of its
// own, so server threads are never interrupted and shutdown is always graceful.
// Thread-safety: requested() and Wait() may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kizuna::cli {

class ShutdownWatch {
  public:
    ShutdownWatch();
    ~ShutdownWatch();
    ShutdownWatch(const ShutdownWatch&) = delete;
    ShutdownWatch& operator=(const ShutdownWatch&) = delete;

    // True once SIGINT or SIGTERM has arrived.
    bool requested() const { return requested_.load(); }
    const std::atomic<bool>& flag() const { return requested_; }
    // Blocks until SIGINT or SIGTERM arrives; returns the signal's number.
    int Wait();

  private:
    void Watch();

    std::atomic<bool> requested_{false};
    std::mutex mutex_;
    std::condition_variable arrived_;
    int signal_number_ = 0;
    std::thread watcher_;
};

}  // namespace kizuna::cli
