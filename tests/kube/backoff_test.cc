#include "kube/backoff.h"

#include <set>

#include <gtest/gtest.h>

namespace discoblocks::kube {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, WaitsDoubleUpToTheCeilingWithJitter) {
  Backoff backoff(milliseconds(100), milliseconds(1000));
  for (const auto step : {100, 200, 400, 800, 1000, 1000, 1000}) {
    const auto wait = backoff.Next();
    EXPECT_GE(wait.count(), step / 2);
    EXPECT_LE(wait.count(), step);
  }
  backoff.Reset();
  EXPECT_LE(backoff.Next().count(), 100);
}

// Clients that fail together must not all wait the same time.
TEST(BackoffTest, WaitsAreSpread) {
  std::set<milliseconds::rep> first_waits;
  std::set<milliseconds::rep> capped_waits;
  for (int client = 0; client < 50; ++client) {
    Backoff backoff(milliseconds(1000), milliseconds(4000));
    first_waits.insert(backoff.Next().count());
    backoff.Next();
    capped_waits.insert(backoff.Next().count());
  }
  EXPECT_GT(first_waits.size(), 10U);
  EXPECT_GT(capped_waits.size(), 10U);
}

TEST(BackoffTest, RandomBetweenStaysInItsRange) {
  std::set<milliseconds::rep> seen;
  for (int i = 0; i < 200; ++i) {
    const auto value = RandomBetween(milliseconds(10), milliseconds(20)).count();
    EXPECT_GE(value, 10);
    EXPECT_LE(value, 20);
    seen.insert(value);
  }
  EXPECT_GT(seen.size(), 5U);
  EXPECT_EQ(RandomBetween(milliseconds(7), milliseconds(7)).count(), 7);
}

}  // namespace
}  // namespace discoblocks::kube
