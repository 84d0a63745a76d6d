// The Manager: what `serve` composes, in the shape of controller-runtime's
// Manager. It owns
//   - the shared informers, one per resource type, each with the transform
//     and indexes the operator's readers need (cache_transforms.h,
//     cache_indexes.h), started by Start;
//   - the webhooks, served on every replica (Route);
//   - the controllers, which run only while this replica leads when leader
//     election is on, and always otherwise;
//   - the event recorder, and readiness (every informer synced).
//
// Controllers are registered as factories, not instances: a stopped
// Controller does not start again, so each leadership term makes new ones.
// Losing the lease stops them at once: on_stopped_leading returns only after
// every Controller::Stop has returned, so that no reconcile of this replica
// runs past the moment another may start leading.
//
// Informer handlers cannot be removed, so a controller's handlers are added
// once, at AddController, and forward to whichever instance runs now (none
// while not leading). A new instance first enqueues every object its watches
// hold, since it missed the changes made while no instance ran.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "admission/review.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "kube/leader_election.h"
#include "kube/resource.h"
#include "operator/controller.h"
#include "server/http_server.h"
#include "util/metrics.h"
#include "util/result.h"

namespace discoblocks::op {

// What the manager needs of a leader elector: kube::LeaderElector through
// LeaseElector, or a fake in tests.
class Elector {
 public:
  virtual ~Elector() = default;
  virtual void Start() = 0;
  // Returns after on_stopped_leading (when leading) has returned.
  virtual void Stop() = 0;
  [[nodiscard]] virtual bool IsLeader() const = 0;
};

struct LeaderCallbacks {
  std::function<void()> on_started_leading;  // must return promptly
  std::function<void()> on_stopped_leading;  // returns once the controllers stopped
};

using ElectorFactory = std::function<Result<std::unique_ptr<Elector>>(LeaderCallbacks callbacks)>;

// An elector on a coordination.k8s.io/v1 Lease (kube::LeaderElector); the
// callbacks of `config` are replaced by the manager's.
ElectorFactory LeaseElector(std::shared_ptr<const kube::Client> client,
                            kube::LeaderElectionConfig config);

// The informer options the operator uses for a resource type: transform and
// indexes. Every resource type gets managedFields stripped at least.
kube::Informer::Options CacheOptionsFor(const kube::ResourceType& type);

// A controller's source of keys: changes in `informer` enqueue the keys
// `map` gives (null: the object's own key).
struct Watch {
  kube::Informer* informer = nullptr;
  MapToKeys map;
};

struct ControllerRegistration {
  std::string name;  // metrics label, log lines
  unsigned workers = 1;
  std::vector<Watch> watches;
  // Keys enqueued at the start of each term, for controllers driven by a
  // clock rather than by changes (the autoscaler's "cycle").
  std::vector<std::string> initial_keys;
  // Caches the reconciler reads besides those of `watches`: no reconcile
  // starts before they have synced.
  std::vector<const kube::Informer*> caches;
  // Called at the start of each term for a fresh reconciler.
  std::function<Reconciler()> make_reconciler;
  // Optional, for tests: the queue's clock and rate limiter.
  std::shared_ptr<const Clock> clock;
  std::shared_ptr<RateLimiter> rate_limiter;
};

struct ManagerOptions {
  std::shared_ptr<const kube::Client> client;
  metrics::Registry* metrics = nullptr;  // outlives the manager; may be null
  // Null: no leader election, controllers run from Start to Stop.
  ElectorFactory elector;
  // This replica, for Events (reporting instance); at most 128 bytes.
  std::string identity;
  // false: no event recorder (recorder() is null).
  bool record_events = true;
};

class Manager {
 public:
  static Result<std::unique_ptr<Manager>> Create(ManagerOptions options);
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;
  ~Manager();  // Stop()

  // The shared informer of `type`, made on first use with CacheOptionsFor
  // (all namespaces). Before Start only.
  kube::Informer& Informer(const kube::ResourceType& type);

  // Serves `webhook` at its path (admission/review.h) on every replica.
  // Before Start only; the webhook outlives the manager.
  void AddWebhook(const admission::AdmissionWebhook& webhook);
  // Registers a controller (see above). Before Start only; its watches'
  // informers are the manager's.
  void AddController(ControllerRegistration registration);

  // Starts the informers and the elector (or the controllers). Returns at
  // once: controllers wait for their caches, readiness reports the sync.
  Status Start();
  // Stops the controllers (the elector first, which releases the lease), then
  // the informers and the event recorder. Idempotent.
  void Stop();

  // The webhook at the request's path; 404 naming every path, 405 but POST.
  [[nodiscard]] server::HttpResponse Route(const server::HttpRequest& request) const;

  // True once every informer has synced.
  [[nodiscard]] bool CachesSynced() const;
  bool WaitForCacheSync(std::chrono::milliseconds timeout) const;
  // The informers by resource name ("pods"), for readiness reports.
  [[nodiscard]] const std::vector<std::pair<std::string, const kube::Informer*>>& caches() const {
    return caches_;
  }
  // Whether the controllers run now (always true without leader election
  // once started).
  [[nodiscard]] bool Leading() const;
  // Null when events are not recorded.
  [[nodiscard]] kube::EventRecorder* recorder() const { return recorder_.get(); }
  [[nodiscard]] const std::shared_ptr<const kube::Client>& client() const {
    return options_.client;
  }
  [[nodiscard]] metrics::Registry* metrics() const { return options_.metrics; }

 private:
  struct Registered;

  explicit Manager(ManagerOptions options);
  void StartControllers();  // a new term
  void StopControllers();   // returns once every reconcile has returned

  ManagerOptions options_;
  std::unique_ptr<kube::EventRecorder> recorder_;
  std::map<std::string, std::unique_ptr<kube::Informer>> informers_;   // by ApiPrefix/resource
  std::vector<std::pair<std::string, const kube::Informer*>> caches_;  // by resource, in order made
  std::map<std::string, const admission::AdmissionWebhook*, std::less<>> webhooks_;
  std::vector<std::shared_ptr<Registered>> controllers_;
  std::unique_ptr<Elector> elector_;

  // Start and Stop. Not held by the elector's callbacks: Stop waits for them.
  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;
  mutable std::mutex leading_mutex_;
  bool leading_ = false;  // guarded by leading_mutex_
};

}  // namespace discoblocks::op
