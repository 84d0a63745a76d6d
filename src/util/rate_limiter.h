// How long a key that failed waits before it is tried again, in the shape of
// client-go's workqueue rate limiters (a per-key exponential backoff, an
// overall token bucket, and the larger of several).
//
// When(key) records one more failure of `key` and returns its delay; Forget
// clears the failures of `key` (it succeeded); NumRequeues says how many
// failures are recorded. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/clock.h"

namespace discoblocks {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual Clock::Duration When(const std::string& key) = 0;
  virtual void Forget(const std::string& key) = 0;
  [[nodiscard]] virtual int NumRequeues(const std::string& key) const = 0;
};

// base * 2^(failures so far), at most `max`: 5 ms, 10 ms, 20 ms, ... for
// controller-runtime's defaults. Each key is counted on its own, so one key that
// keeps failing does not slow the others.
class ExponentialBackoffLimiter final : public RateLimiter {
 public:
  ExponentialBackoffLimiter(Clock::Duration base, Clock::Duration max);
  Clock::Duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  [[nodiscard]] int NumRequeues(const std::string& key) const override;

 private:
  const Clock::Duration base_;
  const Clock::Duration max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> failures_;
};

// A token bucket over every key together: `burst` retries at once, then
// `per_second` a second. Each When takes a token, and waits for it when the
// bucket is empty (the delays of successive calls grow by 1/per_second), as
// golang.org/x/time/rate's Reserve does. It keeps no state per key: Forget
// does nothing and NumRequeues is 0.
class TokenBucketLimiter final : public RateLimiter {
 public:
  TokenBucketLimiter(double per_second, int burst, std::shared_ptr<const Clock> clock);
  Clock::Duration When(const std::string& key) override;
  void Forget(const std::string& /*key*/) override {}
  [[nodiscard]] int NumRequeues(const std::string& /*key*/) const override { return 0; }

 private:
  const double per_second_;
  const double burst_;
  const std::shared_ptr<const Clock> clock_;
  std::mutex mutex_;
  double tokens_;  // negative: tokens already promised to waiting callers
  Clock::TimePoint last_;
};

// The longest delay of several limiters; every one of them records each call.
class MaxOfLimiter final : public RateLimiter {
 public:
  explicit MaxOfLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters);
  Clock::Duration When(const std::string& key) override;
  void Forget(const std::string& key) override;
  [[nodiscard]] int NumRequeues(const std::string& key) const override;

 private:
  const std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// controller-runtime's default: the larger of a per-key backoff from 5 ms to
// 1000 s and an overall bucket of 10 per second with a burst of 100.
std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(
    std::shared_ptr<const Clock> clock = Clock::Steady());

}  // namespace discoblocks
