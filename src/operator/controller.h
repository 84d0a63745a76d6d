// A controller in the shape of controller-runtime's: informer handlers turn
// changes into keys ("namespace/name") on a rate-limited work queue, and a few
// workers run a level-triggered reconciler on each key. The reconciler looks
// at how things are now (from the informers' caches) and makes them as the
// key's object asks; it is not told what changed, so a missed or merged event
// costs nothing, and the same key queued ten times is reconciled once.
//
// After a reconcile:
//   error, or the reconciler threw  -> logged, retried after the queue's
//                                      backoff for the key (AddRateLimited)
//   requeue_after                   -> backoff cleared, again after that delay
//   requeue                         -> again after the backoff, no error
//   otherwise                       -> backoff cleared (Forget)
// A key is reconciled by one worker at a time (the queue's guarantee);
// different keys run in parallel, up to Options::workers.
//
// Metrics (optional), with controller-runtime's names and the label
// `controller`: controller_runtime_reconcile_total{result=success|error|
// requeue|requeue_after}, controller_runtime_reconcile_errors_total,
// controller_runtime_reconcile_panics_total (the reconciler threw),
// controller_runtime_reconcile_time_seconds,
// controller_runtime_active_workers, controller_runtime_max_concurrent_reconciles;
// and the work queue's (util/work_queue.h) under name=<controller>.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/informer.h"
#include "util/clock.h"
#include "util/rate_limiter.h"
#include "util/result.h"
#include "util/work_queue.h"

namespace discoblocks::metrics {
class CounterFamily;
class GaugeFamily;
class HistogramFamily;
class Registry;
}  // namespace discoblocks::metrics

namespace discoblocks::op {

struct ReconcileOutcome {
  // Reconcile the key again after this long although it succeeded, e.g. to
  // look again at something no informer watches. Zero or less: not at all.
  std::optional<std::chrono::milliseconds> requeue_after;
  // Reconcile the key again after the queue's backoff, without an error (e.g.
  // waiting for something to settle).
  bool requeue = false;
};

// Reconciles one key. Called by one worker at a time per key; an error (or an
// exception) retries it with backoff.
using Reconciler = std::function<Result<ReconcileOutcome>(const std::string& key)>;

// The keys an object's change concerns (e.g. for a pod, the DiskConfigs whose
// selector matches it).
using MapToKeys = std::function<std::vector<std::string>(const nlohmann::json& object)>;

class Controller {
 public:
  struct Options {
    std::string name = "controller";  // metrics label, queue name, log lines
    unsigned workers = 1;             // concurrent reconciles; at least 1
    // The queue's clock and rate limiter (null: the steady clock and
    // controller-runtime's default limiter; see util/work_queue.h).
    std::shared_ptr<const Clock> clock;
    std::shared_ptr<RateLimiter> rate_limiter;
    metrics::Registry* metrics = nullptr;  // null: no metrics; else outlives the controller
    // The caches the reconciler reads: no reconcile starts before every one
    // of them has synced, so that it never acts on a partial view.
    std::vector<const kube::Informer*> caches;
  };

  Controller(Options options, Reconciler reconciler);
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;
  ~Controller();  // Stop()

  // Starts the workers. Keys enqueued before Start wait for it.
  void Start();
  // Shuts the queue down (keys still queued are dropped and no new reconcile
  // starts), then waits for the reconciles running to return. Idempotent; a
  // stopped controller does not start again: make a new one (e.g. after the
  // lease is won back), which lists its caches' objects again.
  void Stop();

  void Enqueue(const std::string& key);
  void EnqueueAfter(const std::string& key, Clock::Duration delay);

  // Informer handlers that enqueue the key of each object added, updated or
  // deleted (kube::ObjectKey).
  [[nodiscard]] kube::Informer::Handlers EnqueueObject() const;
  // Informer handlers that enqueue the keys `map` gives for each object; on
  // an update, for the object before and after the change, so that a pod
  // whose labels changed reaches both the DiskConfig it left and the one it
  // joined. What `map` throws is the informer's to log.
  [[nodiscard]] kube::Informer::Handlers EnqueueMapped(MapToKeys map) const;

  // Both keep enqueueing safely after the controller is gone: they hold the
  // queue, which ignores keys once shut down.

  [[nodiscard]] WorkQueue& queue() { return *queue_; }

 private:
  struct Metrics;

  void Work();
  bool WaitForCaches() const;
  void ReconcileOne(const std::string& key);
  Result<ReconcileOutcome> CallReconciler(const std::string& key);
  void CountResult(const char* result);
  void SetActiveWorkers(int change);

  const Options options_;
  const Reconciler reconciler_;
  const std::shared_ptr<WorkQueue> queue_;
  std::unique_ptr<Metrics> metrics_;

  std::mutex lifecycle_mutex_;  // Start and Stop
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_workers_{0};
  std::vector<std::thread> workers_;
};

}  // namespace discoblocks::op
