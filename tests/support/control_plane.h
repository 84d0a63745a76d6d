// A real local control plane (etcd + kube-apiserver, built from source by
// scripts/controlplane.sh) for the tests that talk to Kubernetes. Each test
// binary starts its own, in a fresh data directory on free ports, and stops it
// when it ends, so two runs never collide and nothing is left running.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "kube/client.h"
#include "support/test_support.h"

namespace discoblocks::testing {

class ControlPlane {
 public:
  // Starts it (once per process); throws with the script's output on failure.
  static ControlPlane& Get();
  // Stops it if it was started. Called by the test environment at the end.
  static void Shutdown();

  [[nodiscard]] std::filesystem::path kubeconfig() const;        // admin, client certificate
  [[nodiscard]] std::filesystem::path token_kubeconfig() const;  // admin, bearer token
  [[nodiscard]] const std::filesystem::path& data_dir() const { return dir_.path(); }

  std::shared_ptr<kube::Client> AdminClient() const;

  // Stops and restarts only the API server (etcd keeps the data), to test what
  // clients do while it is away.
  void StopApiServer() const;
  void StartApiServer() const;

  // Runs kubectl against this control plane.
  CommandResult Kubectl(const std::vector<std::string>& args) const;

 private:
  ControlPlane();
  ~ControlPlane();
  TempDir dir_;
};

// Polls `condition` (every 20 ms) until it holds or `limit` passes; whether
// it held.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds limit = std::chrono::seconds(60));

// The object as the API server has it now (read as admin), or null when it is
// gone or cannot be read.
nlohmann::json ReadOrNull(const kube::ResourceType& type, const std::string& ns,
                          const std::string& name);

// A namespace of its own for one test, deleted afterwards.
class TestNamespace {
 public:
  explicit TestNamespace(const std::string& prefix);
  ~TestNamespace();
  TestNamespace(const TestNamespace&) = delete;
  TestNamespace& operator=(const TestNamespace&) = delete;
  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  std::string name_;
};

}  // namespace discoblocks::testing
