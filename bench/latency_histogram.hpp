#pragma once
// A latency histogram with fixed log-linear buckets (the HdrHistogram idea): values below 64 us
// are exact to the microsecond; above, each power of two is split into 32 linear sub-buckets, so
// every reported percentile is within ~3% of the true value. Memory is fixed (a few KB) and
// recording is one increment, cheap enough to record every request of a load test.
// Thread-safety: none; keep one per thread and Merge() them at the end.

#include <array>
#include <cstdint>

namespace kizuna::bench {

class LatencyHistogram {
  public:
    // Records one latency in microseconds. Values beyond ~1 hour land in the last bucket.
    void Record(uint64_t micros);
    void Merge(const LatencyHistogram& other);

    uint64_t Count() const { return count_; }
    uint64_t MaxMicros() const { return max_; }
    double MeanMicros() const;
    // The smallest recorded-bucket value v such that at least q (0..1) of the samples are <= v,
    // reported as the bucket's upper bound (conservative). 0 when empty.
    uint64_t PercentileMicros(double q) const;

  private:
    static constexpr int kSubBits = 5;  // 32 sub-buckets per power of two
    static constexpr int kSub = 1 << kSubBits;
    static constexpr int kLinear = 2 * kSub;  // 0..63 us: one bucket per microsecond
    static constexpr int kOctaves = 27;       // up to 2^32 us (~71 minutes)
    static constexpr int kBuckets = kLinear + kOctaves * kSub;

    static int BucketOf(uint64_t micros);
    static uint64_t UpperBoundOf(int bucket);

    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
};

}  // namespace kizuna::bench
