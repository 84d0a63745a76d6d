// Usage from the kubelets, live: the simulated kubelets of the local cluster
// (sim-kubelet-stats) behind TLS from the cluster's CA, checking tokens with a
// TokenReview and `get nodes/stats` with a SubjectAccessReview, as a kubelet
// does. Only loopback: the simulated nodes' InternalIP is 127.0.0.1.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "e2e/pods_e2e.h"
#include "kube/kubelet_stats.h"

namespace discoblocks::e2e {
namespace {

using kube::KubeletStatsClient;
using kube::KubeletTarget;
using kube::NodeUsage;
using kube::ScrapeErrorKind;

constexpr std::uint64_t kMi = std::uint64_t{1} << 20;

// What the operator's ClusterRole grants for usage: nodes/stats, and reading
// the nodes to find their kubelets.
const json kUsageRules = json::array({
    {{"apiGroups", {""}}, {"resources", {"nodes/stats"}}, {"verbs", {"get"}}},
    {{"apiGroups", {""}}, {"resources", {"nodes"}}, {"verbs", {"get", "list", "watch"}}},
});

std::vector<KubeletTarget> Targets() {
  std::vector<KubeletTarget> targets;
  const json nodes = PodsE2e::Cluster().KubectlJson({"get", "nodes"});
  for (const json& node : nodes.value("items", json::array())) {
    auto target = kube::KubeletTargetOf(node);
    if (!target.ok()) {
      ADD_FAILURE() << target.error().message;
      continue;
    }
    // Tests talk to this machine only.
    if (target->address != "127.0.0.1") {
      ADD_FAILURE() << "node " << target->node << " has InternalIP " << target->address;
      continue;
    }
    targets.push_back(*target);
  }
  return targets;
}

std::unique_ptr<KubeletStatsClient> Client(const std::filesystem::path& token_file) {
  KubeletStatsClient::Options options;
  options.ca_file = PodsE2e::Cluster().data_dir() / "pki" / "ca.crt";
  options.token_file = token_file;
  options.timeout = std::chrono::seconds(10);
  auto client = KubeletStatsClient::Create(options);
  if (!client.ok()) {
    ADD_FAILURE() << client.error().message;
    return nullptr;
  }
  return std::move(client).value();
}

std::filesystem::path WriteToken(const std::string& name, const std::string& token) {
  const auto path = PodsE2e::Cluster().data_dir() / (name + ".token");
  std::ofstream(path, std::ios::trunc) << token;
  return path;
}

std::string Describe(const std::vector<NodeUsage>& results) {
  std::string text;
  for (const NodeUsage& result : results) {
    if (!result.summary.ok()) {
      text += fmt::format("\n  {}: {}", result.target.node, result.summary.error().message);
      continue;
    }
    text += fmt::format("\n  {}: {} volumes", result.target.node, result.summary->volumes.size());
    for (const auto& volume : result.summary->volumes) {
      text += fmt::format(" {}/{} used={}", volume.pvc_namespace, volume.pvc_name,
                          volume.used_bytes.value_or(0));
    }
  }
  return text;
}

TEST(AutoscaleUsageTest, ScrapesThePvcsUsageWithOnlyNodesStats) {
  LocalCluster& cluster = PodsE2e::Cluster();
  const std::string ns = PodsE2e::NewNamespace("usage");
  ASSERT_EQ(cluster
                .Kubectl({"apply", "-f",
                          (testing::FixturesDir() / "storageclasses" / "ebs-gp3.yaml").string()})
                .exit_code,
            0);
  PodsE2e::Apply({{"apiVersion", "v1"},
                  {"kind", "PersistentVolumeClaim"},
                  {"metadata",
                   {{"name", "data"},
                    {"namespace", ns},
                    {"annotations", {{"sim.discoblocks.dev/used-bytes", "800Mi"}}}}},
                  {"spec",
                   {{"accessModes", {"ReadWriteOnce"}},
                    {"storageClassName", "ebs-gp3"},
                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
  PodsE2e::Apply(
      {{"apiVersion", "v1"},
       {"kind", "Pod"},
       {"metadata", {{"name", "db"}, {"namespace", ns}}},
       {"spec",
        {{"containers",
          {{{"name", "db"},
            {"image", "registry.k8s.io/pause:3.10"},
            {"volumeMounts", {{{"name", "data"}, {"mountPath", "/data"}}}}}}},
         {"volumes", {{{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "data"}}}}}}}}});
  ASSERT_TRUE(WaitFor(
      "pod db running with its PVC bound", std::chrono::seconds(120),
      [&] {
        const json pods = PodsE2e::Items("pods", ns);
        const json pvcs = PodsE2e::Items("pvc", ns);
        return pods.size() == 1 && pods[0]["status"].value("phase", "") == "Running" &&
               pvcs.size() == 1 && pvcs[0]["status"].value("phase", "") == "Bound";
      },
      [&] {
        return cluster.Kubectl({"get", "pods,pvc", "-n", ns, "-o", "wide"}).out;
      }));

  const auto reader =
      WriteToken("usage-reader", PodsE2e::AccountToken(ns, "usage-reader", kUsageRules));
  auto client = Client(reader);
  ASSERT_NE(client, nullptr);
  const std::vector<KubeletTarget> targets = Targets();
  ASSERT_EQ(targets.size(), static_cast<std::size_t>(LocalCluster::kNodes));

  // The simulation answers from its informers' caches: wait for them to have
  // the pod.
  std::vector<NodeUsage> results;
  const kube::VolumeUsage* found = nullptr;
  const bool seen = WaitFor(
      "the kubelet of the pod's node to report " + ns + "/data", std::chrono::seconds(60),
      [&] {
        results = client->Scrape(targets);
        found = nullptr;
        for (const NodeUsage& result : results) {
          if (!result.summary.ok()) return false;
          for (const auto& volume : result.summary->volumes) {
            if (volume.pvc_namespace == ns && volume.pvc_name == "data") found = &volume;
          }
        }
        return found != nullptr;
      },
      [&] { return Describe(results); });
  ASSERT_TRUE(seen);
  EXPECT_EQ(found->used_bytes, 800 * kMi);
  EXPECT_EQ(found->capacity_bytes, 1024 * kMi);
  EXPECT_EQ(found->available_bytes, 224 * kMi);
  EXPECT_EQ(found->pod_namespace, ns);
  EXPECT_EQ(found->pod_name, "db");
  EXPECT_FALSE(found->pod_uid.empty());
  EXPECT_EQ(found->volume_name, "data");
  EXPECT_TRUE(found->inodes.has_value());
  EXPECT_FALSE(found->time.empty());

  // A token of an account without nodes/stats: every kubelet says 403.
  const auto stranger = WriteToken("stranger", PodsE2e::AccountToken(ns, "stranger", nullptr));
  auto denied = Client(stranger);
  ASSERT_NE(denied, nullptr);
  for (const NodeUsage& result : denied->Scrape(targets)) {
    ASSERT_FALSE(result.summary.ok()) << result.target.node;
    EXPECT_EQ(result.summary.error().kind, ScrapeErrorKind::kForbidden)
        << result.summary.error().message;
    EXPECT_NE(result.summary.error().message.find("nodes/stats"), std::string::npos)
        << result.summary.error().message;
  }
  // A token the API server never issued: 401.
  auto unknown = Client(WriteToken("unknown", "not-a-token"));
  ASSERT_NE(unknown, nullptr);
  for (const NodeUsage& result : unknown->Scrape(targets)) {
    ASSERT_FALSE(result.summary.ok()) << result.target.node;
    EXPECT_EQ(result.summary.error().kind, ScrapeErrorKind::kUnauthorized)
        << result.summary.error().message;
  }

  PodsE2e::DeleteAccount(ns, "usage-reader");
  PodsE2e::DeleteAccount(ns, "stranger");
  cluster.Kubectl({"delete", "namespace", ns, "--wait=false"});
}

}  // namespace
}  // namespace discoblocks::e2e
