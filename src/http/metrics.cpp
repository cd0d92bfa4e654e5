#include "http/metrics.hpp"

#include <fmt/format.h>

#include <iterator>

namespace kizuna::http {

Metrics::Metrics(std::vector<Label> labels) : labels_(std::move(labels)) {
    labels_.push_back(Label{"", "unmatched"});
    slots_ = std::vector<Slot>(labels_.size());
}

void Metrics::RequestFinished(std::size_t slot, int status,
                              std::chrono::steady_clock::duration latency) {
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (slot >= slots_.size()) slot = unmatched_slot();
    Slot& s = slots_[slot];
    int status_class = status / 100;
    if (status_class < 1 || status_class > 5) status_class = 5;
    s.by_class[status_class - 1].fetch_add(1, std::memory_order_relaxed);

    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
    if (micros < 0) micros = 0;
    double seconds = static_cast<double>(micros) / 1e6;
    std::size_t bucket = 0;
    while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
    s.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    s.sum_micros.fetch_add(static_cast<uint64_t>(micros), std::memory_order_relaxed);
    s.count.fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render() const {
    fmt::memory_buffer out;
    auto labels = [this](std::size_t i) {
        return fmt::format("method=\"{}\",route=\"{}\"", labels_[i].method, labels_[i].route);
    };

    fmt::format_to(std::back_inserter(out),
                   "# HELP kizuna_http_requests_total HTTP requests answered, by route and "
                   "status class.\n# TYPE kizuna_http_requests_total counter\n");
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        for (int c = 0; c < 5; ++c) {
            uint64_t n = slots_[i].by_class[c].load(std::memory_order_relaxed);
            if (n == 0) continue;
            fmt::format_to(std::back_inserter(out),
                           "kizuna_http_requests_total{{{},status=\"{}xx\"}} {}\n", labels(i),
                           c + 1, n);
        }
    }

    fmt::format_to(std::back_inserter(out),
                   "# HELP kizuna_http_request_duration_seconds Time from a request read to "
                   "its response ready.\n# TYPE kizuna_http_request_duration_seconds "
                   "histogram\n");
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        uint64_t count = slots_[i].count.load(std::memory_order_relaxed);
        if (count == 0) continue;
        uint64_t cumulative = 0;
        for (std::size_t b = 0; b < kBuckets.size(); ++b) {
            cumulative += slots_[i].buckets[b].load(std::memory_order_relaxed);
            fmt::format_to(std::back_inserter(out),
                           "kizuna_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                           labels(i), kBuckets[b], cumulative);
        }
        cumulative += slots_[i].buckets[kBuckets.size()].load(std::memory_order_relaxed);
        fmt::format_to(std::back_inserter(out),
                       "kizuna_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                       labels(i), cumulative);
        fmt::format_to(
            std::back_inserter(out), "kizuna_http_request_duration_seconds_sum{{{}}} {:.6f}\n",
            labels(i),
            static_cast<double>(slots_[i].sum_micros.load(std::memory_order_relaxed)) / 1e6);
        fmt::format_to(std::back_inserter(out),
                       "kizuna_http_request_duration_seconds_count{{{}}} {}\n", labels(i),
                       cumulative);
    }

    fmt::format_to(std::back_inserter(out),
                   "# HELP kizuna_http_requests_in_flight Requests read and not yet answered.\n"
                   "# TYPE kizuna_http_requests_in_flight gauge\n"
                   "kizuna_http_requests_in_flight {}\n",
                   in_flight_.load(std::memory_order_relaxed));
    return fmt::to_string(out);
}

std::string Metrics::RenderStorage(const storage::StorageStats& stats) {
    fmt::memory_buffer out;
    // One metric in the text exposition format; `value` is a number or its text.
    auto metric = [&out](std::string_view type, std::string_view name, std::string_view help,
                         const auto& value) {
        fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name,
                       help, type, value);
    };
    auto counter = [&metric](std::string_view name, std::string_view help, uint64_t value) {
        metric("counter", name, help, value);
    };
    counter("kizuna_storage_write_units_total", "Units of work run by the group-commit writer.",
            stats.write_units);
    counter("kizuna_storage_failed_write_units_total",
            "Units of work rolled back alone (their own error).", stats.failed_write_units);
    counter("kizuna_storage_commits_total",
            "Write transactions committed (one fsync each); units / commits is the batch size.",
            stats.commits);
    counter("kizuna_storage_failed_commits_total", "Write transactions lost whole.",
            stats.failed_commits);
    counter("kizuna_storage_checkpoints_total", "Write-ahead log checkpoints completed.",
            stats.checkpoints);
    counter("kizuna_storage_log_restarts_total",
            "Times the write-ahead log started again from its beginning after a checkpoint.",
            stats.log_restarts);
    counter("kizuna_storage_rerun_batches_total",
            "Batches run again, one savepoint per unit, because a unit failed after writing.",
            stats.rerun_batches);
    counter("kizuna_storage_log_syncs_total",
            "Syncs of the write-ahead log beside the writer; each covers every commit before it.",
            stats.log_syncs);
    metric("counter", "kizuna_storage_log_sync_seconds_total",
           "Time spent in those syncs; divided by the syncs, the disk's sync latency.",
           fmt::format("{:.6f}", static_cast<double>(stats.log_sync_micros) / 1e6));
    counter("kizuna_storage_commits_ahead_total",
            "Commits made while the previous commit's log sync was still running.",
            stats.commits_ahead);
    metric("gauge", "kizuna_storage_largest_batch", "Most units in one transaction so far.",
           stats.largest_batch);
    return fmt::to_string(out);
}

}  // namespace kizuna::http
