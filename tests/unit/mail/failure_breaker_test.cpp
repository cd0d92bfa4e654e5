#include "mail/failure_breaker.hpp"

#include <gtest/gtest.h>

namespace kizuna::mail {
namespace {

TEST(FailureBreaker, TripsAfterTheLimitInARowAndASuccessResets) {
    FailureBreaker breaker(3);
    breaker.RecordFailure();
    breaker.RecordFailure();
    EXPECT_FALSE(breaker.tripped());
    breaker.RecordSuccess();
    breaker.RecordFailure();
    breaker.RecordFailure();
    EXPECT_FALSE(breaker.tripped());
    breaker.RecordFailure();
    EXPECT_TRUE(breaker.tripped());
    EXPECT_EQ(breaker.consecutive_failures(), 3);
}

}  // namespace
}  // namespace kizuna::mail
