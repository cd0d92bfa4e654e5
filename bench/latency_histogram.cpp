#include "latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace kizuna::bench {

int LatencyHistogram::BucketOf(uint64_t micros) {
    if (micros < static_cast<uint64_t>(kLinear)) return static_cast<int>(micros);
    // For micros in [2^e, 2^(e+1)) with e >= kSubBits + 1, the top kSubBits bits after the
    // leading one choose the sub-bucket.
    const int e = std::bit_width(micros) - 1;
    const int octave = e - (kSubBits + 1);
    if (octave >= kOctaves) return kBuckets - 1;
    const int sub = static_cast<int>((micros >> (e - kSubBits)) & (kSub - 1));
    return kLinear + octave * kSub + sub;
}

uint64_t LatencyHistogram::UpperBoundOf(int bucket) {
    if (bucket < kLinear) return static_cast<uint64_t>(bucket);
    const int octave = (bucket - kLinear) / kSub;
    const int sub = (bucket - kLinear) % kSub;
    const int e = octave + kSubBits + 1;
    const uint64_t width = uint64_t{1} << (e - kSubBits);
    return (uint64_t{1} << e) + static_cast<uint64_t>(sub + 1) * width - 1;
}

void LatencyHistogram::Record(uint64_t micros) {
    ++buckets_[static_cast<size_t>(BucketOf(micros))];
    ++count_;
    sum_ += micros;
    max_ = std::max(max_, micros);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
}

double LatencyHistogram::MeanMicros() const {
    return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t LatencyHistogram::PercentileMicros(double q) const {
    if (count_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    // Rank of the sample we want, 1-based: ceil(q * count), at least 1.
    const auto rank =
        std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += buckets_[static_cast<size_t>(b)];
        // The last bucket is open-ended: its samples are reported as the largest seen.
        if (seen >= rank) return b == kBuckets - 1 ? max_ : std::min(UpperBoundOf(b), max_);
    }
    return max_;
}

}  // namespace kizuna::bench
