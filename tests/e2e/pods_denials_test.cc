// Pods the webhook denies, and pods it leaves as they are, on the local
// cluster: what kubectl prints, and that nothing was made.
#include <set>

#include <gtest/gtest.h>

#include "e2e/pods_e2e.h"

namespace discoblocks::e2e {
namespace {

constexpr std::string_view kAllowed =
    R"(discoblocks_admission_requests_total{endpoint="/mutate--v1-pod",operation="CREATE",result="allowed"})";

class PodDenials : public ::testing::Test, protected PodsE2e {
 protected:
  static double AllowedUnchanged() {
    return MetricValue(Serving().Health("/metrics"), std::string(kAllowed));
  }
  // The pod as stored: created, with no disk of any DiskConfig.
  static void ExpectStoredWithoutDisks(const std::string& ns, const std::string& name) {
    const json pod = Cluster().KubectlJson({"get", "pod", name, "-n", ns});
    for (const json& volume : pod["spec"].value("volumes", json::array())) {
      EXPECT_FALSE(volume.value("name", "").starts_with("discoblocks-")) << volume;
    }
    for (const json& container : pod["spec"]["containers"]) {
      for (const json& mount : container.value("volumeMounts", json::array())) {
        EXPECT_FALSE(mount.value("name", "").starts_with("discoblocks-")) << mount;
      }
    }
    EXPECT_FALSE(pod["spec"].contains("affinity")) << pod["spec"].dump(2);
    EXPECT_TRUE(Items("pvc", ns).empty()) << Describe(ns);
  }
};

TEST_F(PodDenials, APodNotOfADaemonSetUnderReadWriteDaemonIsDenied) {
  const std::string ns = NewNamespace("deny-daemon");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "cache", {{"availabilityMode", "ReadWriteDaemon"}})).exit_code,
      0);
  const auto applied = Cluster().Apply(Pod(ns, "web", {{"app", "web"}}));
  EXPECT_NE(applied.exit_code, 0);
  EXPECT_NE(applied.err.find("admission webhook \"mpod.discoblocks.ondat.io\" denied the request: "
                             "DiskConfig \"cache\": availabilityMode ReadWriteDaemon gives disks "
                             "to DaemonSet pods only"),
            std::string::npos)
      << applied.err;
  EXPECT_TRUE(Items("pods", ns).empty());
  EXPECT_TRUE(Items("pvc", ns).empty());
}

// Regression: the DaemonSet's pods on nodes outside the DiskConfig's
// nodeSelector used to be admitted with an affinity no node met (Pending for
// ever) and PVCs made for their nodes that never bound. Denying them instead
// stalled the pods in the zone too (the DaemonSet controller stops a creation
// round at its first failure, in a random order of nodes, and backs off). Now
// they run without the disk, and the pods in the zone get theirs.
TEST_F(PodDenials, DaemonSetPodsOnNodesTheNodeSelectorExcludesRunWithoutTheDisk) {
  const std::string ns = NewNamespace("deny-zone");
  const json zone_a = {{"matchLabels", {{"topology.kubernetes.io/zone", "eu-west-1a"}}}};
  ASSERT_EQ(
      Cluster()
          .Apply(DiskConfig(ns, "zoned",
                            {{"availabilityMode", "ReadWriteDaemon"}, {"nodeSelector", zone_a}}))
          .exit_code,
      0);
  ASSERT_EQ(Cluster().Apply(DaemonSet(ns, "web", {{"app", "web"}})).exit_code, 0);

  std::set<std::string> in_zone;
  const json nodes =
      Cluster().KubectlJson({"get", "nodes", "-l", "topology.kubernetes.io/zone=eu-west-1a"});
  for (const json& node : nodes["items"]) {
    in_zone.insert(node["metadata"]["name"].get<std::string>());
  }
  ASSERT_FALSE(in_zone.empty());
  ASSERT_LT(in_zone.size(), static_cast<std::size_t>(LocalCluster::kNodes));
  json pods;
  json claims;
  ASSERT_TRUE(WaitFor(
      "a pod Running on every node, a disk Bound for each in the zone", std::chrono::seconds(120),
      [&] {
        pods = Items("pods", ns, "app=web");
        claims = Items("pvc", ns);
        return pods.size() == static_cast<std::size_t>(LocalCluster::kNodes) && AllRunning(pods) &&
               claims.size() == in_zone.size() && AllBound(claims);
      },
      [&] { return Describe(ns); }));
  for (const json& pod : pods) {
    bool has_disk = false;
    for (const json& volume : pod["spec"].value("volumes", json::array())) {
      has_disk = has_disk || volume.value("name", "").starts_with("discoblocks-");
    }
    EXPECT_EQ(has_disk, in_zone.contains(pod["spec"]["nodeName"].get<std::string>()))
        << pod.dump(2);
  }
  for (const json& event : Items("events", ns)) {
    EXPECT_NE(event.value("reason", ""), "FailedCreate") << event.dump(2);
  }
}

TEST_F(PodDenials, TwoDiskConfigsWithOneMountPathAreDeniedNamingBoth) {
  const std::string ns = NewNamespace("deny-path");
  for (const char* name : {"cache", "data"}) {
    const auto created = Cluster().Apply(DiskConfig(ns, name, {{"mountPointPattern", "/data"}}));
    ASSERT_EQ(created.exit_code, 0) << created.err;
  }
  const auto applied = Cluster().Apply(Pod(ns, "web", {{"app", "web"}}));
  EXPECT_NE(applied.exit_code, 0);
  EXPECT_NE(applied.err.find("DiskConfigs \"cache\" and \"data\" both mount a disk at /data"),
            std::string::npos)
      << applied.err;
  EXPECT_TRUE(Items("pods", ns).empty());
  EXPECT_TRUE(Items("pvc", ns).empty());
}

TEST_F(PodDenials, APodWhoseDriverFailsIsDeniedWithTheReason) {
  const std::string ns = NewNamespace("deny-driver");
  const auto storage_class = Cluster().Kubectl(
      {"apply", "-f",
       (testing::FixturesDir() / "storageclasses" / "gke-pd-balanced.yaml").string()});
  ASSERT_EQ(storage_class.exit_code, 0) << storage_class.err;
  const auto config = Cluster().Apply(DiskConfig(ns, "gke", {{"storageClassName", "pd-balanced"}}));
  ASSERT_EQ(config.exit_code, 0) << config.err;
  // A module that loads (it exports the whole contract) and answers nothing
  // useful: every call prints nothing and exits 0.
  const std::string gke = "pd.csi.storage.gke.io";
  ReplaceDriver(gke, testing::HostileDir() / "scripted.wasm");
  const auto applied = Cluster().Apply(Pod(ns, "web", {{"app", "web"}}));
  ReplaceDriver(gke, testing::DriversDir() / gke / "main.wasm");

  EXPECT_NE(applied.exit_code, 0);
  EXPECT_NE(applied.err.find("denied the request: DiskConfig \"gke\": the disk cannot be "
                             "provisioned: driver pd.csi.storage.gke.io: GetPVCStub: printed "
                             "nothing; expected a PersistentVolumeClaim as a JSON object"),
            std::string::npos)
      << applied.err;
  EXPECT_TRUE(Items("pods", ns).empty());
  EXPECT_TRUE(Items("pvc", ns).empty());
}

TEST_F(PodDenials, APodMatchingNothingIsLeftAsItIs) {
  const std::string ns = NewNamespace("nomatch");
  ASSERT_EQ(Cluster().Apply(DiskConfig(ns, "data", json::object())).exit_code, 0);
  const double before = AllowedUnchanged();
  const auto applied = Cluster().Apply(Pod(ns, "other", {{"app", "other"}}));
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  // The webhook saw it and allowed it without a patch.
  EXPECT_GE(AllowedUnchanged(), before + 1);
  ExpectStoredWithoutDisks(ns, "other");
}

TEST_F(PodDenials, APodInAnOptedOutNamespaceIsLeftAsItIs) {
  const std::string ns = NewNamespace("optout", {{"discoblocks.ondat.io/pod-webhook", "disabled"}});
  ASSERT_EQ(Cluster().Apply(DiskConfig(ns, "data", json::object())).exit_code, 0);
  const double before = AllowedUnchanged();
  const auto applied = Cluster().Apply(Pod(ns, "web", {{"app", "web"}}));
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  // The DiskConfig matches, but the API server never asked the webhook.
  EXPECT_EQ(AllowedUnchanged(), before);
  ExpectStoredWithoutDisks(ns, "web");
}

}  // namespace
}  // namespace discoblocks::e2e
