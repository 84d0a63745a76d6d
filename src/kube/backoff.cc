#include "kube/backoff.h"

#include <algorithm>

namespace discoblocks::kube {
namespace {

std::chrono::milliseconds Draw(std::mt19937_64& random, std::chrono::milliseconds low,
                               std::chrono::milliseconds high) {
  if (high <= low) return low;
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(low.count(), high.count());
  return std::chrono::milliseconds(pick(random));
}

}  // namespace

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      step_(initial_),
      random_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::Next() {
  const auto wait = Draw(random_, step_ / 2, step_);
  step_ = std::min(step_ * 2, max_);
  return wait;
}

void Backoff::Reset() { step_ = initial_; }

std::chrono::milliseconds RandomBetween(std::chrono::milliseconds low,
                                        std::chrono::milliseconds high) {
  thread_local std::mt19937_64 random(std::random_device{}());
  return Draw(random, low, high);
}

}  // namespace discoblocks::kube
