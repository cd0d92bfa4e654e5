#include "cli/shutdown_watch.hpp"

#include <pthread.h>
#include <signal.h>

namespace kizuna::cli {
namespace {

sigset_t ShutdownSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

ShutdownWatch::ShutdownWatch() {
    const sigset_t set = ShutdownSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    watcher_ = std::thread([this] { Watch(); });
}

ShutdownWatch::~ShutdownWatch() {
    // Wake the watcher if no signal came: a SIGTERM aimed at that thread alone, which only it
    // can take (every thread blocks it), so the process is not affected.
    if (!requested_.load()) pthread_kill(watcher_.native_handle(), SIGTERM);
    watcher_.join();
}

void ShutdownWatch::Watch() {
    const sigset_t set = ShutdownSignals();
    int number = 0;
    while (sigwait(&set, &number) != 0) {
    }
    {
        std::lock_guard lock(mutex_);
        signal_number_ = number;
        requested_.store(true);
    }
    arrived_.notify_all();
}

int ShutdownWatch::Wait() {
    std::unique_lock lock(mutex_);
    arrived_.wait(lock, [this] { return requested_.load(); });
    return signal_number_;
}

}  // namespace kizuna::cli
