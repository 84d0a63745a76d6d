// Read-modify-write with optimistic concurrency, as client-go's
// retry.RetryOnConflict: an update carries the resourceVersion it read, so a
// concurrent writer makes it fail with 409 Conflict; the whole read, change
// and write is then done again from a fresh read, a bounded number of times.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/backoff.h"
#include "kube/client.h"

namespace discoblocks::kube {

// Conflicts are short-lived (another writer's update just landed): a few
// quick attempts with a small, jittered wait between them.
struct ConflictRetry {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{1000};
};

// Calls `attempt` (which reads, changes and writes) until it returns anything
// but a kConflict error, at most policy.max_attempts times; returns its last
// result. `attempt` returns a KubeResult<T> or KubeStatus.
template <typename Attempt>
auto RetryOnConflict(const Attempt& attempt, ConflictRetry policy = {}) -> decltype(attempt()) {
  Backoff backoff(policy.initial_backoff, policy.max_backoff);
  for (int tries = 1;; ++tries) {
    auto result = attempt();
    if (result.ok() || result.error().kind != ErrorKind::kConflict ||
        tries >= policy.max_attempts) {
      return result;
    }
    std::this_thread::sleep_for(backoff.Next());
  }
}

// Gets the object, lets `change` edit it, and replaces it (Update, or
// UpdateStatus when `status`), all again on a conflict. A `change` that
// leaves the object as it was writes nothing and returns the object read.
// `change` may run several times, each on a fresh copy.
KubeResult<nlohmann::json> UpdateWithRetry(const Client& client, const ResourceType& type,
                                           std::string_view ns, std::string_view name,
                                           const std::function<void(nlohmann::json&)>& change,
                                           bool status = false, ConflictRetry policy = {});

}  // namespace discoblocks::kube
