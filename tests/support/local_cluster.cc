#include "support/local_cluster.h"

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

namespace discoblocks::testing {
namespace {

std::mutex instance_mutex;
LocalCluster* instance = nullptr;

std::string Script() { return (SourceDir() / "scripts" / "cluster.sh").string(); }

std::string LastLine(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

}  // namespace

std::string RunClusterScript(const std::string& script, const std::vector<std::string>& args) {
  const CommandResult result = RunProgram(script, args);
  if (result.exit_code != 0) {
    throw std::runtime_error(fmt::format("{} {} failed ({}):\n{}{}", script, args.at(0),
                                         result.exit_code, result.out, result.err));
  }
  return LastLine(result.out);
}

CommandResult RunKubectl(const std::filesystem::path& kubeconfig,
                         const std::vector<std::string>& args) {
  // The control plane's build has kubectl; asked once, since the script hashes
  // the cluster's sources to find its directory.
  static const std::string kubectl =
      (std::filesystem::path(
           RunClusterScript((SourceDir() / "scripts" / "controlplane.sh").string(), {"build"})) /
       "kubectl")
          .string();
  std::vector<std::string> full{"--kubeconfig", kubeconfig.string()};
  full.insert(full.end(), args.begin(), args.end());
  return RunProgram(kubectl, full);
}

void InstallDiskConfigCrd(const std::filesystem::path& kubeconfig) {
  // As a real cluster would have it: the CRD from the chart.
  const std::string crd = (SourceDir() / "deploy" / "helm" / "discoblocks" / "crds" /
                           "discoblocks.ondat.io_diskconfigs.yaml")
                              .string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"apply", "-f", crd},
           {"wait", "--for=condition=Established", "--timeout=60s",
            "customresourcedefinition/diskconfigs.discoblocks.ondat.io"}}) {
    const CommandResult result = RunKubectl(kubeconfig, args);
    if (result.exit_code != 0) {
      throw std::runtime_error(
          fmt::format("kubectl {} failed: {}{}", args[0], result.out, result.err));
    }
  }
}

LocalCluster::LocalCluster() {
  // --owner-pid: if this test process dies without cleaning up, the cluster
  // stops by itself.
  RunClusterScript(Script(), {"start", "--data-dir", dir_.path().string(), "--nodes",
                              std::to_string(kNodes), "--owner-pid", std::to_string(::getpid())});
  InstallDiskConfigCrd(kubeconfig());
}

LocalCluster::~LocalCluster() {
  try {
    RunClusterScript(Script(), {"stop", "--data-dir", dir_.path().string()});
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}\n", error.what());
  }
}

LocalCluster& LocalCluster::Get() {
  const std::lock_guard lock(instance_mutex);
  if (instance == nullptr) instance = new LocalCluster();
  return *instance;
}

void LocalCluster::Shutdown() {
  const std::lock_guard lock(instance_mutex);
  delete instance;
  instance = nullptr;
}

CommandResult LocalCluster::Kubectl(const std::vector<std::string>& args) const {
  return RunKubectl(kubeconfig(), args);
}

nlohmann::json LocalCluster::KubectlJson(std::vector<std::string> args) const {
  args.insert(args.end(), {"-o", "json"});
  const CommandResult result = Kubectl(args);
  if (result.exit_code != 0) {
    throw std::runtime_error(fmt::format("kubectl {} failed: {}", args.at(0), result.err));
  }
  return nlohmann::json::parse(result.out);
}

CommandResult LocalCluster::Apply(const nlohmann::json& object,
                                  const std::vector<std::string>& extra_args) const {
  static std::atomic<int> counter{0};
  const auto file = dir_.path() / fmt::format("applied-{}.json", counter++);
  WriteTextFile(file, object.dump());
  std::vector<std::string> args{"apply", "-f", file.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  return Kubectl(args);
}

void LocalCluster::StopApiServer() const {
  RunClusterScript(Script(), {"stop-apiserver", "--data-dir", dir_.path().string()});
}

void LocalCluster::StartApiServer() const {
  RunClusterScript(Script(), {"start-apiserver", "--data-dir", dir_.path().string()});
}

}  // namespace discoblocks::testing
