#pragma once
// Request metrics for GET /metrics in the Prometheus text format: requests by route, method and
// status class, a latency histogram per route, and requests in flight. Recording is a handful
// of relaxed atomic adds: no lock on the request path.
// Thread-safety: every method is safe from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/storage.hpp"

namespace kizuna::http {

class Metrics {
  public:
    struct Label {
        std::string method;
        std::string route;  // the pattern, "/v1/members/{id}"
    };
    // One slot per label, plus one for requests that matched no route (unmatched_slot()).
    explicit Metrics(std::vector<Label> labels);

    std::size_t unmatched_slot() const { return labels_.size() - 1; }

    // A request was read and is waiting for or in its handler.
    void RequestStarted() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
    // Its response is ready; `latency` runs from when it was read.
    void RequestFinished(std::size_t slot, int status, std::chrono::steady_clock::duration latency);

    std::string Render() const;
    // The storage's counters in the same format (group commit: units per commit, checkpoints).
    static std::string RenderStorage(const storage::StorageStats& stats);

    // Upper bounds of the latency buckets, in seconds (+Inf is implicit).
    static constexpr std::array<double, 13> kBuckets = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0};

  private:
    struct Slot {
        std::array<std::atomic<uint64_t>, 5> by_class{};                   // 1xx..5xx
        std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf only
        std::atomic<uint64_t> sum_micros{0};
        std::atomic<uint64_t> count{0};
    };

    std::vector<Label> labels_;
    std::vector<Slot> slots_;
    std::atomic<int64_t> in_flight_{0};
};

}  // namespace kizuna::http
