#include "e2e/autoscale_e2e.h"

#include <atomic>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace discoblocks::e2e {
namespace {

void Check(const testing::CommandResult& result, const std::string& what) {
  if (result.exit_code != 0) {
    throw std::runtime_error(fmt::format("{} failed: {}{}", what, result.out, result.err));
  }
}

class AutoscaleEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { LocalCluster::Get(); }
  void TearDown() override { LocalCluster::Shutdown(); }
};

}  // namespace

std::string AutoscaleE2e::NewNamespace(const std::string& prefix) {
  static std::atomic<int> counter{0};
  const std::string name = fmt::format("{}-{}", prefix, counter++);
  Apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  // The controller-manager's ServiceAccount controller makes "default"; the
  // API server refuses pods that name a missing one.
  const bool ready = WaitFor(
      "ServiceAccount " + name + "/default", std::chrono::seconds(60),
      [&] {
        return Cluster().Kubectl({"get", "serviceaccount", "default", "-n", name}).exit_code == 0;
      },
      [&] {
        return Cluster().Kubectl({"get", "serviceaccounts", "-n", name}).err;
      });
  if (!ready) throw std::runtime_error("namespace " + name + " has no default ServiceAccount");
  return name;
}

void AutoscaleE2e::Apply(const json& object) {
  Check(Cluster().Apply(object), fmt::format("applying {} {}", object.value("kind", "?"),
                                             object["metadata"].value("name", "?")));
}

std::string AutoscaleE2e::AccountToken(const std::string& ns, const std::string& name,
                                       const json& cluster_rules) {
  Apply({{"apiVersion", "v1"},
         {"kind", "ServiceAccount"},
         {"metadata", {{"name", name}, {"namespace", ns}}}});
  if (!cluster_rules.is_null()) {
    const std::string role = fmt::format("e2e-{}-{}", ns, name);
    Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", "ClusterRole"},
           {"metadata", {{"name", role}}},
           {"rules", cluster_rules}});
    Apply({{"apiVersion", "rbac.authorization.k8s.io/v1"},
           {"kind", "ClusterRoleBinding"},
           {"metadata", {{"name", role}}},
           {"roleRef",
            {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", role}}},
           {"subjects", {{{"kind", "ServiceAccount"}, {"name", name}, {"namespace", ns}}}}});
  }
  const auto token = Cluster().Kubectl({"create", "token", name, "-n", ns, "--duration", "1h"});
  Check(token, "kubectl create token " + name);
  std::string value = token.out;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

void AutoscaleE2e::DeleteAccount(const std::string& ns, const std::string& name) {
  const std::string role = fmt::format("e2e-{}-{}", ns, name);
  Cluster().Kubectl({"delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found"});
  Cluster().Kubectl({"delete", "serviceaccount", name, "-n", ns, "--ignore-not-found"});
}

json AutoscaleE2e::Items(const std::string& kind, const std::string& ns) {
  return Cluster().KubectlJson({"get", kind, "-n", ns}).value("items", json::array());
}

bool WaitFor(const std::string& what, std::chrono::seconds timeout,
             const std::function<bool()>& done, const std::function<std::string()>& seen) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "timed out after " << timeout.count() << " s waiting for " << what
                    << "; found: " << seen();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace discoblocks::e2e

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new discoblocks::e2e::AutoscaleEnvironment);
  return RUN_ALL_TESTS();
}
