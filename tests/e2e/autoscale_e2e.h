// What the autoscaling tests share: the full local cluster (LocalCluster, with
// its simulated kubelets serving /stats/summary on loopback) and small helpers
// on it. The binary, autoscale_e2e_tests, starts the cluster once and stops it
// at the end (autoscale_e2e.cc).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/local_cluster.h"

namespace discoblocks::e2e {

using nlohmann::json;
using testing::LocalCluster;

class AutoscaleE2e {
 public:
  static LocalCluster& Cluster() { return LocalCluster::Get(); }

  // A new namespace, once its default ServiceAccount exists (pods are
  // refused before).
  static std::string NewNamespace(const std::string& prefix);

  // kubectl apply of `object`; throws with kubectl's message on failure.
  static void Apply(const json& object);

  // A ServiceAccount in `ns` and a token of it (TokenRequest, through
  // `kubectl create token`). With `cluster_rules`, a ClusterRole of those
  // rules bound to it (named after the account, deleted with DeleteAccount).
  static std::string AccountToken(const std::string& ns, const std::string& name,
                                  const json& cluster_rules);
  static void DeleteAccount(const std::string& ns, const std::string& name);

  // kubectl get KIND -n NS -o json's items.
  static json Items(const std::string& kind, const std::string& ns);
};

// Polls `done` every half second until it holds or `timeout` passes; on
// timeout adds a failure with `what` and `seen()` (what was found), and
// returns false.
bool WaitFor(const std::string& what, std::chrono::seconds timeout,
             const std::function<bool()>& done, const std::function<std::string()>& seen);

}  // namespace discoblocks::e2e
