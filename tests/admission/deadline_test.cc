// How long an admission request may wait for a worker, from the API server's
// timeout in the query.
#include "admission/deadline.h"

#include <gtest/gtest.h>

namespace discoblocks::admission {
namespace {

using namespace std::chrono_literals;

TEST(QueueWaitTest, TheApiServersTimeoutLessOneDriverCall) {
  EXPECT_EQ(QueueWait("/validate?timeout=10s", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?a=b&timeout=30s&c=d", 2s), 28s);
  EXPECT_EQ(QueueWait("/validate?timeout=1500ms", 100ms), 1400ms);
}

TEST(QueueWaitTest, AtLeastAQuarterOfTheTimeout) {
  EXPECT_EQ(QueueWait("/validate?timeout=2s", 2s), 500ms);
  EXPECT_EQ(QueueWait("/validate?timeout=4s", 10s), 1s);
}

TEST(QueueWaitTest, TheDefaultWhenTheTimeoutIsMissingOrImplausible) {
  EXPECT_EQ(QueueWait("/validate", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?timeout=", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?timeout=banana", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?timeout=0s", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?timeout=99999999999999999999h", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?timeout=1h", 2s), 8s);
  EXPECT_EQ(QueueWait("/validate?notimeout=5s", 2s), 8s);
}

}  // namespace
}  // namespace discoblocks::admission
