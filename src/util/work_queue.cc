#include "util/work_queue.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/metrics.h"

namespace discoblocks {
namespace {

double Seconds(Clock::Duration duration) { return std::chrono::duration<double>(duration).count(); }

// controller-runtime's buckets for queue and work durations: 10 ns to 1000 s.
std::vector<double> DurationBounds() {
  std::vector<double> bounds;
  for (int exponent = -8; exponent <= 3; ++exponent) bounds.push_back(std::pow(10.0, exponent));
  return bounds;
}

// The queue's series, all under the label name=<queue name>.
struct QueueMetrics {
  metrics::Labels labels;
  metrics::GaugeFamily* depth;
  metrics::CounterFamily* adds;
  metrics::HistogramFamily* queue_duration;
  metrics::HistogramFamily* work_duration;
  metrics::CounterFamily* retries;
  metrics::GaugeFamily* unfinished_work;
  metrics::GaugeFamily* longest_running;
};

}  // namespace

struct WorkQueue::State {
  std::shared_ptr<const Clock> clock;
  Clock::Duration recheck_every;  // see Clock::RecheckEvery
  std::shared_ptr<RateLimiter> limiter;
  std::optional<QueueMetrics> metrics;

  mutable std::mutex mutex;
  std::condition_variable ready;    // a key became ready (or may have), or shutdown
  std::condition_variable drained;  // the last key handed out was Done
  bool shutting_down = false;
  // Keys to hand out, in order. Each is also in `dirty`.
  std::deque<std::string> queue;
  // Keys that need processing: queued, or held by a worker and added again.
  // Mapped to when they were added, for workqueue_queue_duration_seconds.
  std::unordered_map<std::string, Clock::TimePoint> dirty;
  // Keys held by workers, and since when.
  std::unordered_map<std::string, Clock::TimePoint> processing;
  // Keys whose delay has not passed, by when it does; one entry per key.
  std::multimap<Clock::TimePoint, std::string> waiting;
  std::unordered_map<std::string, std::multimap<Clock::TimePoint, std::string>::iterator>
      waiting_keys;

  // With `mutex` held, as the rest.
  void AddLocked(const std::string& key, Clock::TimePoint now) {
    if (shutting_down || dirty.contains(key)) return;
    dirty.emplace(key, now);
    if (metrics) metrics->adds->Increment(metrics->labels);
    UpdateDepth();
    if (processing.contains(key)) return;  // handed out again at Done
    queue.push_back(key);
    ready.notify_one();
  }

  // Moves the keys whose delay has passed into the queue.
  void PromoteReady(Clock::TimePoint now) {
    while (!waiting.empty() && waiting.begin()->first <= now) {
      const std::string key = std::move(waiting.begin()->second);
      waiting_keys.erase(key);
      waiting.erase(waiting.begin());
      AddLocked(key, now);
    }
  }

  void UpdateDepth() const {
    if (metrics) metrics->depth->Set(metrics->labels, static_cast<double>(dirty.size()));
  }

  // For the scrape-time gauges.
  void UpdateInFlight() const {
    if (!metrics) return;
    const Clock::TimePoint now = clock->Now();
    const std::lock_guard lock(mutex);
    double total = 0;
    double longest = 0;
    for (const auto& [key, since] : processing) {
      const double running = Seconds(now - since);
      total += running;
      longest = std::max(longest, running);
    }
    metrics->unfinished_work->Set(metrics->labels, total);
    metrics->longest_running->Set(metrics->labels, longest);
  }
};

WorkQueue::WorkQueue(Options options) : state_(std::make_shared<State>()) {
  state_->clock = options.clock ? std::move(options.clock) : Clock::Steady();
  // As a steady_clock duration, without overflowing it.
  const auto recheck = state_->clock->RecheckEvery();
  state_->recheck_every =
      recheck >= std::chrono::duration_cast<std::chrono::milliseconds>(Clock::Duration::max())
          ? Clock::Duration::max()
          : std::chrono::duration_cast<Clock::Duration>(recheck);
  state_->limiter = options.rate_limiter ? std::move(options.rate_limiter)
                                         : DefaultControllerRateLimiter(state_->clock);
  if (options.metrics == nullptr) return;
  metrics::Registry& registry = *options.metrics;
  state_->metrics = QueueMetrics{
      {{"name", options.name}},
      &registry.Gauge("workqueue_depth", "Current depth of workqueue"),
      &registry.Counter("workqueue_adds_total", "Total number of adds handled by workqueue"),
      &registry.Histogram("workqueue_queue_duration_seconds",
                          "How long in seconds an item stays in workqueue before being requested",
                          DurationBounds()),
      &registry.Histogram("workqueue_work_duration_seconds",
                          "How long in seconds processing an item from workqueue takes",
                          DurationBounds()),
      &registry.Counter("workqueue_retries_total", "Total number of retries handled by workqueue"),
      &registry.Gauge("workqueue_unfinished_work_seconds",
                      "How many seconds of work has been done that is in progress and hasn't "
                      "been observed by work_duration. Large values indicate stuck threads."),
      &registry.Gauge("workqueue_longest_running_processor_seconds",
                      "How many seconds has the longest running processor for workqueue been "
                      "running.")};
  state_->UpdateDepth();
  state_->metrics->adds->Increment(state_->metrics->labels, 0);
  state_->metrics->retries->Increment(state_->metrics->labels, 0);
  const QueueMetrics series = *state_->metrics;
  registry.AddCollector([weak = std::weak_ptr<const State>(state_), series] {
    if (const auto state = weak.lock()) {
      state->UpdateInFlight();
    } else {
      series.unfinished_work->Set(series.labels, 0);
      series.longest_running->Set(series.labels, 0);
    }
  });
}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::Add(const std::string& key) {
  const Clock::TimePoint now = state_->clock->Now();
  const std::lock_guard lock(state_->mutex);
  state_->AddLocked(key, now);
}

void WorkQueue::AddAfter(const std::string& key, Clock::Duration delay) {
  if (delay <= Clock::Duration::zero()) {
    Add(key);
    return;
  }
  State& state = *state_;
  const Clock::TimePoint at = state.clock->Now() + delay;
  const std::lock_guard lock(state.mutex);
  if (state.shutting_down) return;
  const auto found = state.waiting_keys.find(key);
  if (found != state.waiting_keys.end()) {
    if (found->second->first <= at) return;  // already due sooner
    state.waiting.erase(found->second);
    state.waiting_keys.erase(found);
  }
  state.waiting_keys.emplace(key, state.waiting.emplace(at, key));
  // A Get waiting for a later key must now wake up sooner.
  state.ready.notify_all();
}

void WorkQueue::AddRateLimited(const std::string& key) {
  if (ShuttingDown()) return;
  if (state_->metrics) state_->metrics->retries->Increment(state_->metrics->labels);
  AddAfter(key, state_->limiter->When(key));
}

void WorkQueue::Forget(const std::string& key) { state_->limiter->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) const {
  return state_->limiter->NumRequeues(key);
}

std::optional<std::string> WorkQueue::Get() {
  State& state = *state_;
  std::unique_lock lock(state.mutex);
  while (true) {
    if (state.shutting_down) return std::nullopt;
    const Clock::TimePoint now = state.clock->Now();
    state.PromoteReady(now);
    if (!state.queue.empty()) {
      std::string key = std::move(state.queue.front());
      state.queue.pop_front();
      const auto added = state.dirty.find(key);
      if (state.metrics && added != state.dirty.end()) {
        state.metrics->queue_duration->Observe(state.metrics->labels, Seconds(now - added->second));
      }
      if (added != state.dirty.end()) state.dirty.erase(added);
      state.processing[key] = now;
      state.UpdateDepth();
      return key;
    }
    if (state.waiting.empty()) {
      state.ready.wait(lock);
    } else {
      const Clock::Duration until_due = state.waiting.begin()->first - now;
      state.ready.wait_for(lock, std::min<Clock::Duration>(until_due, state.recheck_every));
    }
  }
}

void WorkQueue::Done(const std::string& key) {
  State& state = *state_;
  const Clock::TimePoint now = state.clock->Now();
  const std::lock_guard lock(state.mutex);
  const auto found = state.processing.find(key);
  if (found == state.processing.end()) return;
  if (state.metrics) {
    state.metrics->work_duration->Observe(state.metrics->labels, Seconds(now - found->second));
  }
  state.processing.erase(found);
  if (state.dirty.contains(key)) {
    state.queue.push_back(key);
    state.ready.notify_one();
  }
  if (state.processing.empty()) state.drained.notify_all();
}

void WorkQueue::ShutDown() {
  {
    const std::lock_guard lock(state_->mutex);
    state_->shutting_down = true;
  }
  state_->ready.notify_all();
}

void WorkQueue::ShutDownWithDrain() {
  ShutDown();
  std::unique_lock lock(state_->mutex);
  state_->drained.wait(lock, [this] { return state_->processing.empty(); });
}

bool WorkQueue::ShuttingDown() const {
  const std::lock_guard lock(state_->mutex);
  return state_->shutting_down;
}

std::size_t WorkQueue::Len() const {
  const Clock::TimePoint now = state_->clock->Now();
  const std::lock_guard lock(state_->mutex);
  state_->PromoteReady(now);
  return state_->queue.size();
}

std::size_t WorkQueue::Waiting() const {
  const Clock::TimePoint now = state_->clock->Now();
  const std::lock_guard lock(state_->mutex);
  state_->PromoteReady(now);
  return state_->waiting.size();
}

}  // namespace discoblocks
