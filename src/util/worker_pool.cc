#include "util/worker_pool.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace discoblocks {
namespace {

void CallCatching(const std::string& pool, const std::function<void()>& callback) {
  if (!callback) return;
  try {
    callback();
  } catch (const std::exception& e) {
    spdlog::error("{}: a task failed: {}", pool, e.what());
  } catch (...) {
    spdlog::error("{}: a task failed with an unknown exception", pool);
  }
}

}  // namespace

WorkerPool::WorkerPool(Options options) : options_(std::move(options)) {
  last_progress_ = Clock::now();
  const unsigned count = std::max(1U, options_.workers);
  workers_.reserve(count);
  for (unsigned i = 0; i < count; ++i) workers_.emplace_back([this] { Work(); });
  deadline_thread_ = std::thread([this] { ExpireOverdue(); });
}

WorkerPool::~WorkerPool() { Stop(); }

WorkerPool::SubmitStatus WorkerPool::Submit(std::function<void()> run,
                                            std::function<void()> expired,
                                            Clock::time_point start_by) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) return SubmitStatus::kStopped;
    if (queue_.size() >= std::max<std::size_t>(1, options_.queue_capacity)) {
      ++rejected_;
      return SubmitStatus::kQueueFull;
    }
    // An idle pool has made no progress because it had nothing to do; the
    // stuck check counts from when work arrives.
    if (queue_.empty() && running_ == 0) last_progress_ = Clock::now();
    queue_.push_back({std::move(run), std::move(expired), start_by});
  }
  work_available_.notify_one();
  // The deadline thread sleeps until the earliest start_by it knows of; a task
  // with a nearer one must wake it. Tasks mostly arrive in deadline order, so
  // this is rare.
  deadline_changed_.notify_one();
  return SubmitStatus::kQueued;
}

void WorkerPool::Work() {
  for (;;) {
    Task task;
    bool expire = false;
    {
      std::unique_lock lock(mutex_);
      work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to refuse
      task = std::move(queue_.front());
      queue_.pop_front();
      expire = stopping_ || Clock::now() > task.start_by;
      if (!expire) ++running_;
    }
    Finish(task, expire);
  }
}

void WorkerPool::Finish(Task& task, bool expired) {
  CallCatching(options_.name, expired ? task.expired : task.run);
  // Destroyed outside the lock: the callbacks may own things with heavy destructors.
  task = Task{};
  const std::lock_guard lock(mutex_);
  if (expired) {
    ++expired_;
  } else {
    --running_;
    ++completed_;
  }
  last_progress_ = Clock::now();
}

void WorkerPool::ExpireOverdue() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto earliest = Clock::time_point::max();
    for (const Task& task : queue_) earliest = std::min(earliest, task.start_by);
    const auto now = Clock::now();
    if (earliest > now) {
      if (earliest == Clock::time_point::max()) {
        deadline_changed_.wait(lock);
      } else {
        deadline_changed_.wait_until(lock, earliest);
      }
      continue;
    }
    std::vector<Task> overdue;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->start_by <= now) {
        overdue.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    for (Task& task : overdue) Finish(task, /*expired=*/true);
    lock.lock();
  }
}

void WorkerPool::Stop() {
  const std::lock_guard stop_lock(stop_mutex_);
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_available_.notify_all();
  deadline_changed_.notify_all();
  // Workers refuse what is queued, finish what runs, and return.
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  if (deadline_thread_.joinable()) deadline_thread_.join();
}

WorkerPool::Stats WorkerPool::stats() const {
  const std::lock_guard lock(mutex_);
  Stats stats;
  stats.workers = std::max(1U, options_.workers);
  stats.queue_capacity = std::max<std::size_t>(1, options_.queue_capacity);
  stats.queued = queue_.size();
  stats.running = running_;
  stats.completed = completed_;
  stats.expired = expired_;
  stats.rejected = rejected_;
  stats.last_progress = last_progress_;
  return stats;
}

std::optional<std::string> WorkerPool::Stuck(Clock::duration threshold) const {
  const Stats now = stats();
  if (now.queued == 0 && now.running == 0) return std::nullopt;
  const auto idle = Clock::now() - now.last_progress;
  if (idle < threshold) return std::nullopt;
  return fmt::format("{}: no task finished for {} ms; {} of {} workers busy, {} queued",
                     options_.name,
                     std::chrono::duration_cast<std::chrono::milliseconds>(idle).count(),
                     now.running, now.workers, now.queued);
}

}  // namespace discoblocks
