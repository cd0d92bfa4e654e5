#pragma once
// SyncLoop: runs Node::Sync every `interval` on a thread of its own, from construction until
// destruction (which waits for a sync in progress to end). A failed sync (hub down) is logged
// once per outage and tried again at the next tick.
// Thread-safety: construct and destroy from one thread.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "pos/node.hpp"

namespace kizuna::pos {

class SyncLoop {
  public:
    SyncLoop(Node& node, std::chrono::milliseconds interval);
    ~SyncLoop();
    SyncLoop(const SyncLoop&) = delete;
    SyncLoop& operator=(const SyncLoop&) = delete;

  private:
    void Loop();

    Node& node_;
    std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace kizuna::pos
