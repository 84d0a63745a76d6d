// Waits between failed attempts to reach the API server: exponential, with
// jitter, so that clients that failed together (every replica, when the API
// server restarted) do not come back all at the same moment.
#pragma once

#include <chrono>
#include <random>

namespace discoblocks::kube {

class Backoff {
 public:
  // The step starts at `initial` and doubles after each wait, up to `max`.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max);

  // The next wait, drawn uniformly from [step / 2, step]: never longer than
  // `max`, and spread over half the step whatever it is.
  std::chrono::milliseconds Next();

  // After a success: the next wait is at most `initial` again.
  void Reset();

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds step_;
  std::mt19937_64 random_;
};

// A duration drawn uniformly from [low, high], e.g. to spread timeouts.
std::chrono::milliseconds RandomBetween(std::chrono::milliseconds low,
                                        std::chrono::milliseconds high);

}  // namespace discoblocks::kube
