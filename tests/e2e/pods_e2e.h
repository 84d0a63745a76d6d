// What the pod tests share: the full local cluster (LocalCluster), the chart's
// CRD, the fixture StorageClasses, `discoblocks serve` with --leader-elect
// (one replica, a second one started by the failover test), and the two
// webhook configurations pointed at the replica that serves: pods (mutating,
// sideEffects NoneOnDryRun, failurePolicy Fail, never kube-system or a
// namespace labelled discoblocks.ondat.io/pod-webhook=disabled, as the chart
// registers it) and DiskConfigs (validating).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/local_cluster.h"
#include "support/serve_process.h"

namespace discoblocks::e2e {

using nlohmann::json;
using testing::LocalCluster;
using testing::ServeProcess;

class PodsE2e {
 public:
  static LocalCluster& Cluster() { return LocalCluster::Get(); }

  // Starts a replica of serve (--leader-elect, one Lease for all) and keeps it;
  // `env` adds to its environment ("NAME=value", e.g. a failpoint).
  static ServeProcess& StartReplica(const std::vector<std::string>& env = {});
  static std::vector<std::unique_ptr<ServeProcess>>& Replicas();
  // The replica both webhook configurations point at.
  static ServeProcess& Serving();
  // Points both webhook configurations at `replica` (what a Service's
  // endpoints would do when a replica goes).
  static void ServeWebhooksFrom(ServeProcess& replica);
  // Replaces the driver of `provisioner` in serve's drivers directory (a copy
  // of the bundled ones) with `module`, and waits until the serving replica
  // runs it.
  static void ReplaceDriver(const std::string& provisioner, const std::filesystem::path& module);
  // The replica holding the Lease, waiting up to `timeout` for one to.
  static ServeProcess* WaitForLeader(std::chrono::seconds timeout);

  // A new namespace with `labels`, once its default ServiceAccount exists
  // (pods are refused before).
  static std::string NewNamespace(const std::string& prefix,
                                  const std::map<std::string, std::string>& labels = {});

  // Objects, with pods of two containers (both must get the mounts).
  static json DiskConfig(const std::string& ns, const std::string& name, const json& spec_patch);
  static json PodTemplate(const std::map<std::string, std::string>& labels);
  static json Deployment(const std::string& ns, const std::string& name, int replicas,
                         const std::map<std::string, std::string>& labels);
  static json DaemonSet(const std::string& ns, const std::string& name,
                        const std::map<std::string, std::string>& labels);
  static json Pod(const std::string& ns, const std::string& name,
                  const std::map<std::string, std::string>& labels);

  // kubectl apply of `object`; throws with kubectl's message on failure.
  static void Apply(const json& object);

  // A ServiceAccount in `ns` and a token of it (TokenRequest, through
  // `kubectl create token`). With `cluster_rules`, a ClusterRole of those
  // rules bound to it (named after the account, deleted with DeleteAccount).
  static std::string AccountToken(const std::string& ns, const std::string& name,
                                  const json& cluster_rules);
  static void DeleteAccount(const std::string& ns, const std::string& name);

  // kubectl get KIND -n NS [-l SELECTOR] -o json's items.
  static json Items(const std::string& kind, const std::string& ns,
                    const std::string& selector = "");
  // kubectl get pods,pvc,diskconfigs -o wide and the namespace's events, for
  // a failure message.
  static std::string Describe(const std::string& ns);
};

// Polls `done` every half second until it holds or `timeout` passes; on
// timeout adds a failure with `what` and `seen()` (what was found), and
// returns false.
bool WaitFor(const std::string& what, std::chrono::seconds timeout,
             const std::function<bool()>& done, const std::function<std::string()>& seen);

// The pod's volume for disk 0 of `config`, and whether every container mounts
// it at `mount_path`.
const json* DiskVolume(const json& pod, const std::string& config);
bool MountedInEveryContainer(const json& pod, const std::string& config,
                             const std::string& mount_path);
// Every pod Running, every PVC Bound.
bool AllRunning(const json& pods);
bool AllBound(const json& pvcs);
// A sample of a Prometheus text exposition (0 when absent).
double MetricValue(const std::string& metrics, const std::string& series);

}  // namespace discoblocks::e2e
