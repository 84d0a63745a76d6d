#include "util/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace discoblocks {

ExponentialBackoffLimiter::ExponentialBackoffLimiter(Clock::Duration base, Clock::Duration max)
    : base_(base), max_(max) {}

Clock::Duration ExponentialBackoffLimiter::When(const std::string& key) {
  int exponent = 0;
  {
    const std::lock_guard lock(mutex_);
    int& failures = failures_[key];
    exponent = failures;
    if (failures < std::numeric_limits<int>::max()) ++failures;
  }
  // In floating point, so that a large exponent gives a large number (capped
  // below) rather than an overflow.
  const double delay = std::ldexp(static_cast<double>(base_.count()), exponent);
  if (delay >= static_cast<double>(max_.count())) return max_;
  return Clock::Duration(static_cast<Clock::Duration::rep>(delay));
}

void ExponentialBackoffLimiter::Forget(const std::string& key) {
  const std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int ExponentialBackoffLimiter::NumRequeues(const std::string& key) const {
  const std::lock_guard lock(mutex_);
  const auto found = failures_.find(key);
  return found == failures_.end() ? 0 : found->second;
}

TokenBucketLimiter::TokenBucketLimiter(double per_second, int burst,
                                       std::shared_ptr<const Clock> clock)
    : per_second_(per_second > 0 ? per_second : 1),
      burst_(std::max(burst, 1)),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_->Now()) {}

Clock::Duration TokenBucketLimiter::When(const std::string& /*key*/) {
  const Clock::TimePoint now = clock_->Now();
  const std::lock_guard lock(mutex_);
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::Duration::zero();
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(-tokens_ / per_second_));
}

MaxOfLimiter::MaxOfLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
    : limiters_(std::move(limiters)) {}

Clock::Duration MaxOfLimiter::When(const std::string& key) {
  Clock::Duration longest = Clock::Duration::zero();
  for (const auto& limiter : limiters_) longest = std::max(longest, limiter->When(key));
  return longest;
}

void MaxOfLimiter::Forget(const std::string& key) {
  for (const auto& limiter : limiters_) limiter->Forget(key);
}

int MaxOfLimiter::NumRequeues(const std::string& key) const {
  int most = 0;
  for (const auto& limiter : limiters_) most = std::max(most, limiter->NumRequeues(key));
  return most;
}

std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(std::shared_ptr<const Clock> clock) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ExponentialBackoffLimiter>(std::chrono::milliseconds(5),
                                                                 std::chrono::seconds(1000)));
  limiters.push_back(std::make_unique<TokenBucketLimiter>(10, 100, std::move(clock)));
  return std::make_unique<MaxOfLimiter>(std::move(limiters));
}

}  // namespace discoblocks
