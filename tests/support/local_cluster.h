// The full local cluster (scripts/cluster.sh: the control plane, the scheduler,
// the controller-manager, kwok's simulated nodes and the simulated CSI drivers
// behind the real sidecars), for the tests in which pods must run and volumes
// bind. tools/cluster's localcluster program does the process work; this is
// the test binary's handle on it. Each binary starts its own, once, in a fresh
// data directory, and stops it at the end (and the cluster stops by itself if
// the binary dies: --owner-pid).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace discoblocks::testing {

// What ControlPlane and LocalCluster share: scripts/cluster.sh and kubectl.
// Runs a cluster script; its last line of output, or throws with all of it.
std::string RunClusterScript(const std::string& script, const std::vector<std::string>& args);
// kubectl of the cluster's build (found once per process).
CommandResult RunKubectl(const std::filesystem::path& kubeconfig,
                         const std::vector<std::string>& args);
// Applies the DiskConfig CRD from the chart and waits until it is served.
void InstallDiskConfigCrd(const std::filesystem::path& kubeconfig);

class LocalCluster {
 public:
  static constexpr int kNodes = 3;  // sim-node-1..3, one per zone of eu-west-1

  // Starts it (once per process); throws with the script's output on failure.
  static LocalCluster& Get();
  // Stops it if it was started; for the test environment's TearDown.
  static void Shutdown();

  [[nodiscard]] std::filesystem::path kubeconfig() const { return dir_.path() / "kubeconfig"; }
  [[nodiscard]] const std::filesystem::path& data_dir() const { return dir_.path(); }

  CommandResult Kubectl(const std::vector<std::string>& args) const;
  // kubectl ARGS -o json, parsed; throws when kubectl fails.
  nlohmann::json KubectlJson(std::vector<std::string> args) const;
  // kubectl apply of `object`; the result, to check or to read the message of.
  CommandResult Apply(const nlohmann::json& object,
                      const std::vector<std::string>& extra_args = {}) const;

  // Stops, or starts again on the same port, only the API server.
  void StopApiServer() const;
  void StartApiServer() const;

 private:
  LocalCluster();
  ~LocalCluster();
  TempDir dir_;
};

}  // namespace discoblocks::testing
