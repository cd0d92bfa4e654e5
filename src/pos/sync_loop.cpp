#include "pos/sync_loop.hpp"

#include <spdlog/spdlog.h>

namespace kizuna::pos {

SyncLoop::SyncLoop(Node& node, std::chrono::milliseconds interval)
    : node_(node), interval_(interval), thread_([this] { Loop(); }) {}

SyncLoop::~SyncLoop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void SyncLoop::Loop() {
    bool failing = false;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        core::Status synced = node_.Sync();
        if (!synced.ok() && !failing) {
            spdlog::warn("sync failed (will retry every {} ms): {}", interval_.count(),
                         synced.error().message);
        } else if (synced.ok() && failing) {
            spdlog::info("sync works again");
        }
        failing = !synced.ok();
        lock.lock();
        wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
}

}  // namespace kizuna::pos
