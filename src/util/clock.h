// The time that rate limiters and work queues measure against, behind an
// interface so that tests can set it: delays become values a test computes and
// checks, not waits it sits through.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

namespace discoblocks {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint Now() const = 0;
  // The longest a waiter sleeps, in real time, before it reads this clock
  // again: the steady clock's waiters wake at their deadline, but a manual
  // clock moves whenever a test says, so its waiters look every millisecond.
  [[nodiscard]] virtual std::chrono::milliseconds RecheckEvery() const {
    return std::chrono::milliseconds::max();
  }

  // The process's steady clock (one instance, shared).
  static std::shared_ptr<const Clock> Steady();
};

// A clock that moves only when told to, for tests. Thread-safe.
class ManualClock final : public Clock {
 public:
  // Starts well after the steady clock's epoch, so that `Now() - delay` stays
  // meaningful for any delay a test uses.
  ManualClock() : now_(TimePoint() + std::chrono::hours(24)) {}

  [[nodiscard]] TimePoint Now() const override {
    const std::lock_guard lock(mutex_);
    return now_;
  }
  [[nodiscard]] std::chrono::milliseconds RecheckEvery() const override {
    return std::chrono::milliseconds(1);
  }
  void Advance(Duration by) {
    const std::lock_guard lock(mutex_);
    now_ += by;
  }

 private:
  mutable std::mutex mutex_;
  TimePoint now_;
};

}  // namespace discoblocks
