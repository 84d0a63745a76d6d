// Counts calls per key (reconciles of a controller, say) from any thread, and
// lets a test wait, bounded, until a key has been called often enough.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

namespace discoblocks::testing {

class CallCounts {
 public:
  void Record(const std::string& key) {
    {
      const std::lock_guard lock(mutex_);
      ++calls_[key];
    }
    changed_.notify_all();
  }
  // False when `key` has fewer than `count` calls after `timeout`.
  bool WaitFor(const std::string& key, int count,
               std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return calls_[key] >= count; });
  }
  int Count(const std::string& key) {
    const std::lock_guard lock(mutex_);
    return calls_[key];
  }
  std::map<std::string, int> All() {
    const std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, int> calls_;
};

}  // namespace discoblocks::testing
