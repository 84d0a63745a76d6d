// The rate limiters behind AddRateLimited: the delays they compute, per key and
// overall, on a clock the test moves.
#include "util/rate_limiter.h"

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, BackoffDoublesPerKeyUpToItsMaximum) {
  ExponentialBackoffLimiter limiter(5ms, 1000s);
  EXPECT_EQ(limiter.When("a"), 5ms);
  EXPECT_EQ(limiter.When("a"), 10ms);
  EXPECT_EQ(limiter.When("a"), 20ms);
  EXPECT_EQ(limiter.When("b"), 5ms);  // keys back off on their own
  EXPECT_EQ(limiter.NumRequeues("a"), 3);
  EXPECT_EQ(limiter.NumRequeues("b"), 1);
  EXPECT_EQ(limiter.NumRequeues("never"), 0);

  // 5 ms * 2^17 = 655 s; 2^18 passes 1000 s.
  for (int i = 3; i < 17; ++i) (void)limiter.When("a");
  EXPECT_EQ(limiter.When("a"), 655360ms);
  EXPECT_EQ(limiter.When("a"), 1000s);
  // Far past any exponent a double or an integer could hold: still the maximum.
  for (int i = 0; i < 5000; ++i) (void)limiter.When("a");
  EXPECT_EQ(limiter.When("a"), 1000s);
}

TEST(RateLimiterTest, ForgetStartsTheBackoffAgain) {
  ExponentialBackoffLimiter limiter(5ms, 1000s);
  (void)limiter.When("a");
  (void)limiter.When("a");
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a"), 5ms);
}

TEST(RateLimiterTest, TokenBucketLetsABurstThroughThenSpacesCalls) {
  auto clock = std::make_shared<ManualClock>();
  TokenBucketLimiter limiter(10, 100, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.When("k" + std::to_string(i)), 0ms) << i;
  EXPECT_EQ(limiter.When("x"), 100ms);
  EXPECT_EQ(limiter.When("y"), 200ms);
  // A second later ten tokens have come back, two of them already promised.
  clock->Advance(1s);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(limiter.When("z"), 0ms) << i;
  EXPECT_EQ(limiter.When("z"), 100ms);
  // Never more than the burst, however long it rested.
  clock->Advance(1h);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.When("k"), 0ms) << i;
  EXPECT_EQ(limiter.When("k"), 100ms);
  EXPECT_EQ(limiter.NumRequeues("k"), 0);
}

TEST(RateLimiterTest, DefaultIsTheLargerOfBackoffAndBucket) {
  auto clock = std::make_shared<ManualClock>();
  auto limiter = DefaultControllerRateLimiter(clock);
  EXPECT_EQ(limiter->When("a"), 5ms);
  EXPECT_EQ(limiter->When("a"), 10ms);
  for (int i = 0; i < 98; ++i) (void)limiter->When("k" + std::to_string(i));
  // The bucket is empty: a new key waits for a token, not 5 ms.
  EXPECT_EQ(limiter->When("fresh"), 100ms);
  EXPECT_EQ(limiter->NumRequeues("a"), 2);
  limiter->Forget("a");
  EXPECT_EQ(limiter->NumRequeues("a"), 0);
}

}  // namespace
}  // namespace discoblocks
