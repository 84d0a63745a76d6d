#include "support/control_plane.h"

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "kube/config.h"

namespace discoblocks::testing {
namespace {

std::mutex instance_mutex;
ControlPlane* instance = nullptr;

std::string Script() { return (SourceDir() / "scripts" / "controlplane.sh").string(); }

std::string LastLine(const std::string& text) {
  std::string trimmed = text;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

void RunScript(const std::vector<std::string>& args) {
  const CommandResult result = RunProgram(Script(), args);
  if (result.exit_code != 0) {
    throw std::runtime_error(fmt::format("controlplane.sh {} failed ({}):\n{}{}", args.at(0),
                                         result.exit_code, result.out, result.err));
  }
}

std::atomic<int> namespace_counter{0};

}  // namespace

ControlPlane::ControlPlane() {
  // --owner-pid: if this test process dies without cleaning up, the control
  // plane stops by itself.
  RunScript(
      {"start", "--data-dir", dir_.path().string(), "--owner-pid", std::to_string(::getpid())});
  // Every test cluster has the DiskConfig CRD from the chart, as a real one would.
  const std::string crd = (SourceDir() / "deploy" / "helm" / "discoblocks" / "crds" /
                           "discoblocks.ondat.io_diskconfigs.yaml")
                              .string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"apply", "-f", crd},
           {"wait", "--for=condition=Established", "--timeout=60s",
            "customresourcedefinition/diskconfigs.discoblocks.ondat.io"}}) {
    const CommandResult result = Kubectl(args);
    if (result.exit_code != 0) {
      throw std::runtime_error(
          fmt::format("kubectl {} failed: {}{}", args[0], result.out, result.err));
    }
  }
}

ControlPlane::~ControlPlane() {
  const CommandResult result = RunProgram(Script(), {"stop", "--data-dir", dir_.path().string()});
  if (result.exit_code != 0) {
    fmt::print(stderr, "controlplane.sh stop failed: {}{}\n", result.out, result.err);
  }
}

ControlPlane& ControlPlane::Get() {
  const std::lock_guard lock(instance_mutex);
  if (instance == nullptr) instance = new ControlPlane();
  return *instance;
}

void ControlPlane::Shutdown() {
  const std::lock_guard lock(instance_mutex);
  delete instance;
  instance = nullptr;
}

std::filesystem::path ControlPlane::kubeconfig() const { return dir_.path() / "kubeconfig"; }
std::filesystem::path ControlPlane::token_kubeconfig() const {
  return dir_.path() / "kubeconfig-token";
}

std::shared_ptr<kube::Client> ControlPlane::AdminClient() const {
  auto config = kube::LoadKubeconfig(kubeconfig());
  if (!config) throw std::runtime_error(config.error().message);
  auto client = kube::Client::Create(*config);
  if (!client) throw std::runtime_error(client.error().message);
  return std::move(client).value();
}

void ControlPlane::StopApiServer() const {
  RunScript({"stop-apiserver", "--data-dir", dir_.path().string()});
}

void ControlPlane::StartApiServer() const {
  RunScript({"start-apiserver", "--data-dir", dir_.path().string()});
}

CommandResult ControlPlane::Kubectl(const std::vector<std::string>& args) const {
  const CommandResult bin = RunProgram(Script(), {"build"});
  std::vector<std::string> full{"--kubeconfig", kubeconfig().string()};
  full.insert(full.end(), args.begin(), args.end());
  return RunProgram((std::filesystem::path(LastLine(bin.out)) / "kubectl").string(), full);
}

TestNamespace::TestNamespace(const std::string& prefix)
    : name_(fmt::format("{}-{}-{}", prefix, ::getpid(), namespace_counter++)) {
  auto created = ControlPlane::Get().AdminClient()->Create(
      kube::resources::kNamespaces, "",
      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name_}}}});
  if (!created) throw std::runtime_error(created.error().message);
}

TestNamespace::~TestNamespace() {
  // Without a controller-manager, namespaces stay Terminating; their objects
  // are gone from the tests' point of view either way.
  (void)ControlPlane::Get().AdminClient()->Delete(kube::resources::kNamespaces, "", name_);
}

}  // namespace discoblocks::testing
