// A fixed set of threads for CPU-bound work (driver calls), kept apart from the
// threads that do network I/O, with a bounded queue and a deadline per task.
//
// Every task submitted ends in exactly one of its two callbacks:
//   - `run`, on a worker, when a worker took it before its `start_by`;
//   - `expired`, when its `start_by` passed while it was still queued, or when
//     the pool stopped before it started. This runs on a worker or on the pool's
//     own deadline thread, so a task is refused on time even when every worker is
//     busy.
// A full queue refuses at Submit, which runs neither callback. Exceptions thrown
// by either callback are caught and logged; they never end a thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace discoblocks {

class WorkerPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::string name = "workers";  // in log lines
    unsigned workers = 1;          // at least 1
    std::size_t queue_capacity = 64;
  };

  enum class SubmitStatus { kQueued, kQueueFull, kStopped };

  struct Stats {
    unsigned workers = 0;
    std::size_t queue_capacity = 0;
    std::size_t queued = 0;
    std::size_t running = 0;
    std::uint64_t completed = 0;  // `run` returned (or threw)
    std::uint64_t expired = 0;    // `expired` called
    std::uint64_t rejected = 0;   // Submit found the queue full
    // When a task last finished or expired (the pool's start if none has).
    Clock::time_point last_progress;
  };

  explicit WorkerPool(Options options);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  ~WorkerPool();  // Stop()

  SubmitStatus Submit(std::function<void()> run, std::function<void()> expired,
                      Clock::time_point start_by);

  // Refuses new tasks, expires the queued ones, waits for the running ones, and
  // joins the threads. Idempotent.
  void Stop();

  [[nodiscard]] Stats stats() const;

  // Set when there is work (queued or running) but nothing has finished or
  // expired for `threshold`: every worker is held by something that does not
  // return. Says what it saw, for a liveness probe.
  [[nodiscard]] std::optional<std::string> Stuck(Clock::duration threshold) const;

 private:
  struct Task {
    std::function<void()> run;
    std::function<void()> expired;
    Clock::time_point start_by;
  };

  void Work();
  void ExpireOverdue();
  void Finish(Task& task, bool expired);

  const Options options_;
  std::mutex stop_mutex_;     // one Stop at a time
  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable work_available_;
  std::condition_variable deadline_changed_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::size_t running_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t expired_ = 0;
  std::uint64_t rejected_ = 0;
  Clock::time_point last_progress_;
  std::vector<std::thread> workers_;
  std::thread deadline_thread_;
};

}  // namespace discoblocks
