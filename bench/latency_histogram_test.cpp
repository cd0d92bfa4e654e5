#include "latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace kizuna::bench {
namespace {

TEST(LatencyHistogram, EmptyReportsZero) {
    LatencyHistogram h;
    EXPECT_EQ(h.Count(), 0u);
    EXPECT_EQ(h.PercentileMicros(0.99), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExact) {
    LatencyHistogram h;
    for (uint64_t v = 1; v <= 60; ++v) h.Record(v);
    EXPECT_EQ(h.PercentileMicros(0.5), 30u);
    EXPECT_EQ(h.PercentileMicros(1.0), 60u);
    EXPECT_EQ(h.MaxMicros(), 60u);
}

TEST(LatencyHistogram, PercentilesWithinThreePercentOfExact) {
    std::mt19937_64 random(42);
    std::lognormal_distribution<double> dist(7.5, 1.2);  // median ~1.8 ms, long tail
    std::vector<uint64_t> values;
    LatencyHistogram h;
    for (int i = 0; i < 200000; ++i) {
        const auto v = static_cast<uint64_t>(dist(random));
        values.push_back(v);
        h.Record(v);
    }
    std::sort(values.begin(), values.end());
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
        const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
        const double exact = static_cast<double>(values[rank - 1]);
        const double reported = static_cast<double>(h.PercentileMicros(q));
        EXPECT_GE(reported, exact) << "q=" << q;  // upper bound of the bucket: never optimistic
        EXPECT_LE(reported, exact * 1.035) << "q=" << q;
    }
}

TEST(LatencyHistogram, MergeAddsCountsAndKeepsMax) {
    LatencyHistogram a, b;
    a.Record(100);
    b.Record(5000);
    b.Record(7);
    a.Merge(b);
    EXPECT_EQ(a.Count(), 3u);
    EXPECT_EQ(a.MaxMicros(), 5000u);
    EXPECT_EQ(a.PercentileMicros(1.0), 5000u);
    EXPECT_NEAR(a.MeanMicros(), (100.0 + 5000.0 + 7.0) / 3.0, 1e-9);
}

TEST(LatencyHistogram, HugeValuesLandInTheLastBucket) {
    LatencyHistogram h;
    h.Record(uint64_t{1} << 40);
    EXPECT_EQ(h.Count(), 1u);
    EXPECT_EQ(h.PercentileMicros(0.5), uint64_t{1} << 40);  // clamped to the max seen
}

}  // namespace
}  // namespace kizuna::bench
