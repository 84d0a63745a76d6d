#include "support/control_plane.h"

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "kube/config.h"
#include "support/local_cluster.h"

namespace discoblocks::testing {
namespace {

std::mutex instance_mutex;
ControlPlane* instance = nullptr;

std::string Script() { return (SourceDir() / "scripts" / "controlplane.sh").string(); }

std::atomic<int> namespace_counter{0};

}  // namespace

ControlPlane::ControlPlane() {
  // --owner-pid: if this test process dies without cleaning up, the control
  // plane stops by itself.
  RunClusterScript(Script(), {"start", "--data-dir", dir_.path().string(), "--owner-pid",
                              std::to_string(::getpid())});
  InstallDiskConfigCrd(kubeconfig());
}

ControlPlane::~ControlPlane() {
  try {
    RunClusterScript(Script(), {"stop", "--data-dir", dir_.path().string()});
  } catch (const std::exception& error) {
    fmt::print(stderr, "{}\n", error.what());
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
  RunClusterScript(Script(), {"stop-apiserver", "--data-dir", dir_.path().string()});
}

void ControlPlane::StartApiServer() const {
  RunClusterScript(Script(), {"start-apiserver", "--data-dir", dir_.path().string()});
}

CommandResult ControlPlane::Kubectl(const std::vector<std::string>& args) const {
  return RunKubectl(kubeconfig(), args);
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

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

nlohmann::json ReadOrNull(const kube::ResourceType& type, const std::string& ns,
                          const std::string& name) {
  auto object = ControlPlane::Get().AdminClient()->Get(type, ns, name);
  return object ? *object : nlohmann::json();
}

}  // namespace discoblocks::testing
