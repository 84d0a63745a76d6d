// RetryOnConflict's loop, without a server: what is retried, how often, and
// what comes back. The read-modify-write against a real API server, with
// concurrent writers, is in apply_test.cc.
#include "kube/conflict_retry.h"

#include <gtest/gtest.h>

namespace discoblocks::kube {
namespace {

ConflictRetry Quick(int attempts) {
  ConflictRetry policy;
  policy.max_attempts = attempts;
  policy.initial_backoff = std::chrono::milliseconds(1);
  policy.max_backoff = std::chrono::milliseconds(2);
  return policy;
}

TEST(ConflictRetryTest, ConflictsAreRetriedUntilTheAttemptSucceeds) {
  int calls = 0;
  auto result = RetryOnConflict(
      [&]() -> KubeResult<int> {
        if (++calls < 3) return MakeApiError(ErrorKind::kConflict, "stale");
        return 42;
      },
      Quick(5));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, 42);
  EXPECT_EQ(calls, 3);
}

TEST(ConflictRetryTest, GivesUpAfterMaxAttemptsWithTheLastConflict) {
  int calls = 0;
  auto result = RetryOnConflict(
      [&]() -> KubeStatus {
        ++calls;
        return MakeApiError(ErrorKind::kConflict, "stale " + std::to_string(calls));
      },
      Quick(4));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(result.error().message, "stale 4");
  EXPECT_EQ(calls, 4);
}

TEST(ConflictRetryTest, OtherErrorsAreNotRetried) {
  for (const ErrorKind kind : {ErrorKind::kNotFound, ErrorKind::kInvalid, ErrorKind::kAlreadyExists,
                               ErrorKind::kServerError}) {
    int calls = 0;
    auto result = RetryOnConflict(
        [&]() -> KubeStatus {
          ++calls;
          return MakeApiError(kind, "no");
        },
        Quick(5));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().kind, kind);
    EXPECT_EQ(calls, 1) << ErrorKindName(kind);
  }
}

}  // namespace
}  // namespace discoblocks::kube
