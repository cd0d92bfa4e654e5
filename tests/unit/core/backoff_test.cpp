// core::BackoffDelay: the doubling schedule shared by webhook, mail and offer-mail retries.

#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>

namespace kizuna::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(BackoffDelay, DoublesFromTheBaseAfterEachFailedAttempt) {
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), 1), seconds(5));
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), 2), seconds(10));
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), 3), seconds(20));
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), 7), seconds(320));
    EXPECT_EQ(BackoffDelay(milliseconds(1500), milliseconds(600'000), 4), milliseconds(12'000));
}

TEST(BackoffDelay, StopsAtTheCapAndNeverOverflows) {
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), 8), seconds(600));  // 640 capped
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), 1000), seconds(600));
    EXPECT_EQ(BackoffDelay(seconds(5), seconds(600), std::numeric_limits<int>::max()),
              seconds(600));
    const milliseconds huge(std::numeric_limits<milliseconds::rep>::max() / 2 + 1);
    EXPECT_EQ(BackoffDelay(huge, milliseconds::max(), 3), milliseconds::max());
    // A cap below the base is still the most it waits.
    EXPECT_EQ(BackoffDelay(seconds(30), seconds(10), 1), seconds(10));
}

}  // namespace
}  // namespace kizuna::core
