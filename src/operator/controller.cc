#include "operator/controller.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/objects.h"
#include "util/logging.h"
#include "util/metrics.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

constexpr const char* kResults[] = {"success", "error", "requeue", "requeue_after"};

// controller-runtime's buckets for reconcile times, in seconds.
std::vector<double> ReconcileTimeBounds() {
  return {0.005, 0.01, 0.025, 0.05, 0.1,  0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5,  1.75, 2.0,  2.5, 3.0,  3.5, 4.0,  4.5, 5,
          6,     7,    8,     9,    10,   15,   20,   25,   30,  40,   50,  60};
}

WorkQueue::Options QueueOptions(const Controller::Options& options) {
  WorkQueue::Options queue;
  queue.name = options.name;
  queue.clock = options.clock;
  queue.rate_limiter = options.rate_limiter;
  queue.metrics = options.metrics;
  return queue;
}

}  // namespace

struct Controller::Metrics {
  metrics::Labels labels;
  metrics::CounterFamily& total;
  metrics::CounterFamily& errors;
  metrics::CounterFamily& panics;
  metrics::HistogramFamily& time;
  metrics::GaugeFamily& active_workers;
};

Controller::Controller(Options options, Reconciler reconciler)
    : options_([&] {
        options.workers = std::max(options.workers, 1U);
        if (!options.clock) options.clock = Clock::Steady();
        return std::move(options);
      }()),
      reconciler_(std::move(reconciler)),
      queue_(std::make_shared<WorkQueue>(QueueOptions(options_))) {
  if (options_.metrics == nullptr) return;
  metrics::Registry& registry = *options_.metrics;
  metrics_ = std::make_unique<Metrics>(Metrics{
      {{"controller", options_.name}},
      registry.Counter("controller_runtime_reconcile_total",
                       "Total number of reconciliations per controller"),
      registry.Counter("controller_runtime_reconcile_errors_total",
                       "Total number of reconciliation errors per controller"),
      registry.Counter("controller_runtime_reconcile_panics_total",
                       "Total number of reconciliation panics per controller"),
      registry.Histogram("controller_runtime_reconcile_time_seconds",
                         "Length of time per reconciliation per controller", ReconcileTimeBounds()),
      registry.Gauge("controller_runtime_active_workers",
                     "Number of currently used workers per controller")});
  // Every series from the start, as controller-runtime does, so that rates
  // over them exist before the first failure.
  for (const char* result : kResults) {
    metrics::Labels labels = metrics_->labels;
    labels["result"] = result;
    metrics_->total.Increment(labels, 0);
  }
  metrics_->errors.Increment(metrics_->labels, 0);
  metrics_->panics.Increment(metrics_->labels, 0);
  metrics_->active_workers.Set(metrics_->labels, 0);
  registry
      .Gauge("controller_runtime_max_concurrent_reconciles",
             "Maximum number of concurrent reconciles per controller")
      .Set(metrics_->labels, options_.workers);
}

Controller::~Controller() { Stop(); }

void Controller::Start() {
  const std::lock_guard lock(lifecycle_mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  workers_.reserve(options_.workers);
  for (unsigned i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Work(); });
}

void Controller::Stop() {
  const std::lock_guard lock(lifecycle_mutex_);
  stopping_ = true;
  queue_->ShutDown();
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

void Controller::Enqueue(const std::string& key) { queue_->Add(key); }

void Controller::EnqueueAfter(const std::string& key, Clock::Duration delay) {
  queue_->AddAfter(key, delay);
}

kube::Informer::Handlers Controller::EnqueueObject() const {
  auto enqueue = [queue = queue_](const json& object) { queue->Add(kube::ObjectKey(object)); };
  return {enqueue, [enqueue](const json& /*before*/, const json& after) { enqueue(after); },
          enqueue};
}

kube::Informer::Handlers Controller::EnqueueMapped(MapToKeys map) const {
  auto enqueue = [queue = queue_, map = std::move(map)](const json& object) {
    for (const std::string& key : map(object)) queue->Add(key);
  };
  return {enqueue,
          [enqueue](const json& before, const json& after) {
            enqueue(before);
            enqueue(after);
          },
          enqueue};
}

bool Controller::WaitForCaches() const {
  for (const kube::Informer* cache : options_.caches) {
    // In short waits, so that Stop is not held up by a cache that never syncs.
    while (!cache->WaitForSync(std::chrono::milliseconds(100))) {
      if (stopping_) return false;
    }
  }
  return !stopping_;
}

void Controller::Work() {
  if (!WaitForCaches()) return;
  while (const auto key = queue_->Get()) {
    ReconcileOne(*key);
    queue_->Done(*key);
  }
}

Result<ReconcileOutcome> Controller::CallReconciler(const std::string& key) {
  std::string thrown;
  try {
    return reconciler_(key);
  } catch (const std::exception& e) {
    thrown = e.what();
  } catch (...) {
    thrown = "a non-standard exception";
  }
  if (metrics_) metrics_->panics.Increment(metrics_->labels);
  return MakeError(fmt::format("the reconciler threw: {}", thrown));
}

void Controller::SetActiveWorkers(int change) {
  const int now = active_workers_ += change;
  if (metrics_) metrics_->active_workers.Set(metrics_->labels, now);
}

void Controller::CountResult(const char* result) {
  if (!metrics_) return;
  metrics::Labels labels = metrics_->labels;
  labels["result"] = result;
  metrics_->total.Increment(labels);
}

void Controller::ReconcileOne(const std::string& key) {
  SetActiveWorkers(+1);
  const Clock::TimePoint started = options_.clock->Now();
  const Result<ReconcileOutcome> outcome = CallReconciler(key);
  if (metrics_) {
    metrics_->time.Observe(metrics_->labels,
                           std::chrono::duration<double>(options_.clock->Now() - started).count());
  }
  SetActiveWorkers(-1);

  if (!outcome) {
    LogEvent(spdlog::level::warn, "reconcile failed",
             {{"controller", options_.name},
              {"key", key},
              {"error", outcome.error().message},
              {"retries", queue_->NumRequeues(key)}});
    if (metrics_) metrics_->errors.Increment(metrics_->labels);
    CountResult("error");
    queue_->AddRateLimited(key);
    return;
  }
  if (outcome->requeue_after && *outcome->requeue_after > std::chrono::milliseconds::zero()) {
    queue_->Forget(key);
    queue_->AddAfter(key, *outcome->requeue_after);
    CountResult("requeue_after");
    return;
  }
  if (outcome->requeue) {
    queue_->AddRateLimited(key);
    CountResult("requeue");
    return;
  }
  queue_->Forget(key);
  CountResult("success");
}

}  // namespace discoblocks::op
