// The autoscaler: every poll interval (less up to 10%), on the leader only, one
// monitoring cycle:
//   1. the Discoblocks claims (the claim cache) and the running pods that use
//      them (the pod cache) give the nodes to ask;
//   2. their kubelets report each volume's usage (UsageSource);
//   3. each claim of each DiskConfig gets a decision (autoscale_decision.h);
//   4. the decisions are carried out:
//      grow          one merge patch of the claim: the new request and the
//                    state annotations, conditional on the resourceVersion
//                    decided on, so that a change of leader between deciding
//                    and patching can never resize twice;
//      new-disk      a claim with the next index, created before the state
//                    is written on its predecessor (created twice is
//                    AlreadyExists, never a second disk);
//      at-ceiling,   an Event (AtCeiling, ExpansionStuck) the first time,
//      stuck         with the annotation that says it was reported;
//      otherwise     the state annotations, when they change.
// The claim's Events also go to the pods using it.
//
// Metrics:
//   discoblocks_autoscaler_actions_total{action,result}  grow, new-disk,
//       at-ceiling, expansion-stuck; success or error
//   discoblocks_autoscaler_decisions{action}    the last cycle's, by action
//   discoblocks_autoscaler_volumes_watched      claims with usage last cycle
//   discoblocks_autoscaler_cycle_duration_seconds
//   discoblocks_autoscaler_unreachable_nodes    kubelets that failed last cycle
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/autoscale_actions.h"
#include "operator/autoscale_decision.h"
#include "operator/manager.h"
#include "operator/pod_webhook_sources.h"
#include "operator/resize_policy.h"
#include "operator/usage_board.h"
#include "util/result.h"

namespace discoblocks::op {

// What the kubelets said in one cycle.
struct UsageReport {
  std::map<std::string, VolumeUsage> volumes;  // by claim key "namespace/name"
  std::vector<std::string> failed_nodes;       // could not be read this cycle
};

// Reads the usage of the volumes on `nodes` (cached Node objects, with their
// InternalIP and kubelet port). Must return within a bounded time whatever
// the kubelets do.
using UsageSource = std::function<UsageReport(const std::vector<nlohmann::json>& nodes)>;

// The driver's limits for claims of a StorageClass (by name); an error leaves
// the claims of that class alone this cycle.
using ResizePolicySource = std::function<Result<ResizePolicy>(const std::string& storage_class)>;

struct AutoscalerOptions {
  std::chrono::milliseconds poll_interval{std::chrono::seconds(30)};
  double jitter = 0.1;  // each wait is poll_interval * (1 - up to this, at most 0.5)
  std::chrono::seconds expansion_stuck_after{std::chrono::minutes(10)};
  UsageSource usage;                          // required
  ResizePolicySource resize_policy;           // null: no limits
  AddDisk add_disk;                           // null: new-disk decisions are only logged
  const PvcOperations* operations = nullptr;  // may be null
  // Given each cycle's usage, for the DiskConfigs' status; may be null.
  std::shared_ptr<UsageBoard> usage_board;
  // The time decisions are made at (tests move it); null: the system clock.
  std::function<std::chrono::system_clock::time_point()> now;
};

// The claim names the cycle's key is reconciled for: one key, "cycle".
inline constexpr const char* kAutoscaleCycleKey = "cycle";

// The registration, reading the manager's DiskConfig, claim, pod and node
// caches.
ControllerRegistration Autoscaler(Manager& manager, AutoscalerOptions options);

}  // namespace discoblocks::op
