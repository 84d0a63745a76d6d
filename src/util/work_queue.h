// A queue of string keys for level-triggered workers, with the semantics of
// client-go's rate-limited work queue:
//
//   - Add deduplicates: a key already waiting to be handed out is not queued
//     twice, however often it is added.
//   - A key is handed to one worker at a time. Added again while a worker holds
//     it (between Get and Done), it is handed out again after Done, never to a
//     second worker meanwhile.
//   - Get blocks until a key is ready or the queue shuts down; keys come out in
//     the order they became ready.
//   - AddAfter makes a key ready after a delay (a key already waiting for a
//     later time moves to the earlier one); AddRateLimited after the rate
//     limiter's delay for it (by default controller-runtime's: the larger of a
//     per-key exponential backoff, 5 ms doubling to 1000 s, and an overall
//     token bucket of 10 per second with a burst of 100). Forget clears a key's
//     backoff, NumRequeues says how many times it has backed off.
//
// Shutting down differs from client-go on one point, on purpose: once shut
// down, Get hands out nothing more (client-go drains what is queued), because
// a controller stops when it loses its lease and must not start new work
// then. Keys added after shutdown are ignored. ShutDownWithDrain also waits
// until every key handed out has been Done (so it must not be called by a
// worker that holds a key).
//
// Delays are measured on an injectable Clock: with a ManualClock a test
// advances time and sees keys become ready, without waiting (a Get blocked on a
// delayed key reads a manual clock again every millisecond).
//
// Metrics (optional), with controller-runtime's names and the label `name`:
// workqueue_depth, workqueue_adds_total, workqueue_queue_duration_seconds,
// workqueue_work_duration_seconds, workqueue_retries_total,
// workqueue_unfinished_work_seconds, workqueue_longest_running_processor_seconds.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "util/clock.h"
#include "util/rate_limiter.h"

namespace discoblocks {

namespace metrics {
class Registry;
}

class WorkQueue {
 public:
  struct Options {
    std::string name = "queue";                 // the metrics' `name` label, log lines
    std::shared_ptr<const Clock> clock;         // null: the steady clock
    std::shared_ptr<RateLimiter> rate_limiter;  // null: DefaultControllerRateLimiter(clock)
    // Null: no metrics. Must outlive the queue's use of it (the queue's
    // scrape-time gauges read 0 once the queue is gone).
    metrics::Registry* metrics = nullptr;
  };

  explicit WorkQueue(Options options);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  ~WorkQueue();  // ShutDown

  void Add(const std::string& key);
  void AddAfter(const std::string& key, Clock::Duration delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  [[nodiscard]] int NumRequeues(const std::string& key) const;

  // The next ready key, which the caller then holds until it calls Done; or
  // nullopt once the queue is shut down.
  std::optional<std::string> Get();
  void Done(const std::string& key);

  void ShutDown();
  void ShutDownWithDrain();
  [[nodiscard]] bool ShuttingDown() const;

  // Keys ready to be handed out (not those held by workers, nor those whose
  // delay has not passed).
  [[nodiscard]] std::size_t Len() const;
  // Keys added with a delay that has not passed yet.
  [[nodiscard]] std::size_t Waiting() const;

 private:
  struct State;
  // Shared with the metrics registry's scrape-time collector, which must not
  // reach a queue that is gone.
  std::shared_ptr<State> state_;
};

}  // namespace discoblocks
