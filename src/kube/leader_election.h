// Leader election on a coordination.k8s.io/v1 Lease, in the shape of
// client-go's leaderelection package: replicas race to hold the Lease; the
// holder renews it every retry_period, the others take it over once it has
// gone unrenewed for its leaseDurationSeconds.
//
// Safety rests on two rules:
//  - A lease held by another is expired only by local observation: the time
//    this process last saw the Lease's spec change, plus its
//    leaseDurationSeconds. The times written in the Lease (renewTime, ...) are
//    for people; remote clocks are never trusted.
//  - A leader that could not renew for renew_deadline stops leading at once
//    (on_stopped_leading), and every request it makes while leading ends
//    before that deadline. renew_deadline < lease_duration, measured from the
//    moment the last successful renewal was sent, which is no later than any
//    other replica saw it, so the leader stops before any other replica may
//    start.
// Writes carry the resourceVersion they read, so two candidates cannot both
// win: the loser's update is a Conflict.
//
// After losing the lease the elector becomes a candidate again, so a replica
// whose API server came back can lead again; callbacks then run once more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/client.h"
#include "util/result.h"

namespace discoblocks::metrics {
class GaugeFamily;
class Registry;
}  // namespace discoblocks::metrics

namespace discoblocks::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  // Unique per replica (e.g. pod name and a random suffix): a replica
  // restarted with the same identity takes the lease back at once.
  std::string identity;
  // client-go's defaults. The lease duration is a whole number of seconds, as
  // the Lease stores it.
  std::chrono::seconds lease_duration{15};
  std::chrono::milliseconds renew_deadline{10'000};
  std::chrono::milliseconds retry_period{2'000};
  // On Stop, a leader clears holderIdentity, so that a successor need not
  // wait for the lease to expire.
  bool release_on_stop = true;

  // All run on the elector's thread, one at a time, in order.
  // Must return promptly (start work on other threads): renewals wait for it.
  std::function<void()> on_started_leading;
  // Must return only once the work that needs the lease has stopped: the
  // elector releases the lease after it returns.
  std::function<void()> on_stopped_leading;
  // The holder's identity each time it changes to another non-empty one
  // (this replica's included).
  std::function<void(const std::string& identity)> on_new_leader;

  // Where `leader_election_master_status{name=<lease_name>}` (1 while
  // leading, client-go's name) goes; none when null. Must outlive the elector.
  metrics::Registry* registry = nullptr;
};

// Why a configuration cannot work, or nothing.
Status ValidateLeaderElectionConfig(const LeaderElectionConfig& config);

class LeaderElector {
 public:
  static Result<std::unique_ptr<LeaderElector>> Create(std::shared_ptr<const Client> client,
                                                       LeaderElectionConfig config);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;
  ~LeaderElector();  // stops

  // Starts campaigning on a thread of its own. Once only.
  void Start();
  // Stops leading (on_stopped_leading), releases the lease if configured,
  // and joins the thread. Returns within about renew_deadline plus the time
  // the callbacks take, whatever the API server does. Not from a callback
  // (it would wait for itself).
  void Stop();

  // True while this replica holds an unexpired lease (false from the moment
  // its renew deadline passes, even before on_stopped_leading has run). For
  // readiness probes and metrics.
  [[nodiscard]] bool IsLeader() const;
  // The holder last observed; empty when none (or none seen yet).
  [[nodiscard]] std::string Leader() const;

 private:
  // kFailed: no answer, or a write that lost a race; kHeldByOther: another
  // replica's unexpired lease (or any other holder, seen while leading).
  enum class Attempt { kHeld, kHeldByOther, kFailed };
  using Clock = std::chrono::steady_clock;

  LeaderElector(std::shared_ptr<const Client> client, LeaderElectionConfig config);
  void Run();
  // Renews until the lease is lost or Stop; `valid_until` is the first renew
  // deadline.
  void Lead(Clock::time_point valid_until);
  // One Get and, when the lease is ours to take or keep, one write; every
  // request ends by `deadline`.
  Attempt TryAcquireOrRenew(Clock::time_point deadline);
  // Takes a lease that exists (held by no one, by us, or expired).
  Attempt Take(const nlohmann::json& lease, const std::shared_ptr<const Client>& client);
  void Observe(const nlohmann::json& spec);
  void StopLeading();
  void Release();
  // Waits up to `duration` or until Stop; false when stopping.
  bool Sleep(std::chrono::milliseconds duration);
  [[nodiscard]] bool Stopping() const;
  void SetLeading(bool leading, Clock::time_point valid_until = {});

  std::shared_ptr<const Client> client_;
  LeaderElectionConfig config_;
  metrics::GaugeFamily* status_gauge_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool leading_ = false;
  Clock::time_point valid_until_;  // while leading: the renew deadline
  std::string leader_;             // last observed holder

  // Used by the elector's thread only.
  std::optional<nlohmann::json> observed_spec_;
  Clock::time_point observed_at_;
  std::string reported_leader_;

  std::thread thread_;
};

}  // namespace discoblocks::kube
