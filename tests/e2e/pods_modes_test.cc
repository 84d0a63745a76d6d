// Pods get their disks on the local cluster, in each availability mode, with
// kubectl where a user would use it.
#include <set>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "e2e/pods_e2e.h"

namespace discoblocks::e2e {
namespace {

using std::chrono::seconds;

class PodDisks : public ::testing::Test, protected PodsE2e {
 protected:
  // Waits until `pods` pods labelled app=web run and `claims` PVCs of `config`
  // are Bound; then pods_ and claims_ hold them.
  bool WaitForPodsAndClaims(const std::string& ns, const std::string& config, std::size_t pods,
                            std::size_t claims) {
    return WaitFor(
        fmt::format("{} pods Running, {} PVCs of {} Bound", pods, claims, config), seconds(180),
        [&] {
          pods_ = Items("pods", ns, "app=web");
          claims_ = Items("pvc", ns, "discoblocks=" + config);
          return pods_.size() == pods && AllRunning(pods_) && claims_.size() == claims &&
                 AllBound(claims_);
        },
        [&] { return Describe(ns); });
  }

  std::set<std::string> ClaimNames() const {
    std::set<std::string> names;
    for (const json& claim : claims_) names.insert(claim["metadata"]["name"].get<std::string>());
    return names;
  }

  json pods_;
  json claims_;
};

TEST_F(PodDisks, ReadWriteOnceDeploymentGetsAnEphemeralDiskPerPod) {
  const std::string ns = NewNamespace("rwo");
  const auto config = Cluster().Apply(DiskConfig(ns, "data", json::object()));
  ASSERT_EQ(config.exit_code, 0) << config.err;
  const auto deployment = Cluster().Apply(Deployment(ns, "web", 2, {{"app", "web"}}));
  ASSERT_EQ(deployment.exit_code, 0) << deployment.err;

  ASSERT_TRUE(WaitForPodsAndClaims(ns, "data", 2, 2));
  for (const json& pod : pods_) {
    const std::string name = pod["metadata"]["name"];
    const json* volume = DiskVolume(pod, "data");
    ASSERT_NE(volume, nullptr) << pod["spec"].dump(2);
    EXPECT_TRUE(volume->contains("ephemeral")) << volume->dump(2);
    EXPECT_TRUE(MountedInEveryContainer(pod, "data", "/data/data")) << pod["spec"].dump(2);
    // Kubernetes' name for the claim of an ephemeral volume; the pod owns it.
    const std::string claim = name + "-discoblocks-data-0";
    EXPECT_TRUE(ClaimNames().contains(claim)) << claim << " not among the PVCs: " << claims_;
    for (const json& pvc : claims_) {
      if (pvc["metadata"]["name"] == claim) {
        EXPECT_EQ(pvc["metadata"]["ownerReferences"][0]["uid"], pod["metadata"]["uid"]);
      }
    }
  }
}

TEST_F(PodDisks, ScalingAReadWriteOnceDeploymentDownDeletesTheDisksOfThePodsThatGo) {
  const std::string ns = NewNamespace("scale");
  ASSERT_EQ(Cluster().Apply(DiskConfig(ns, "data", json::object())).exit_code, 0);
  ASSERT_EQ(Cluster().Apply(Deployment(ns, "web", 5, {{"app", "web"}})).exit_code, 0);
  ASSERT_TRUE(WaitForPodsAndClaims(ns, "data", 5, 5));

  const auto scaled = Cluster().Kubectl({"scale", "deployment", "web", "-n", ns, "--replicas=1"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.err;
  // The garbage collector deletes each claim with its pod; the one left is the
  // remaining pod's.
  ASSERT_TRUE(WaitForPodsAndClaims(ns, "data", 1, 1));
  EXPECT_EQ(*ClaimNames().begin(),
            pods_[0]["metadata"]["name"].get<std::string>() + "-discoblocks-data-0");
  EXPECT_EQ(Items("pvc", ns).size(), 1u) << Describe(ns);
}

TEST_F(PodDisks, ReadWriteSameDeploymentSharesOneDisk) {
  const std::string ns = NewNamespace("same");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "shared", {{"availabilityMode", "ReadWriteSame"}})).exit_code,
      0);
  ASSERT_EQ(Cluster().Apply(Deployment(ns, "web", 3, {{"app", "web"}})).exit_code, 0);

  ASSERT_TRUE(WaitForPodsAndClaims(ns, "shared", 3, 1));
  EXPECT_EQ(ClaimNames(), std::set<std::string>{"discoblocks-shared-0"});
  for (const json& pod : pods_) {
    const json* volume = DiskVolume(pod, "shared");
    ASSERT_NE(volume, nullptr) << pod["spec"].dump(2);
    EXPECT_EQ((*volume)["persistentVolumeClaim"]["claimName"], "discoblocks-shared-0");
    EXPECT_TRUE(MountedInEveryContainer(pod, "shared", "/data/shared")) << pod["spec"].dump(2);
  }
}

// A family's later disks are the autoscaler's; made here by hand, as it would
// make them. A pod that joins then gets every disk of the family.
TEST_F(PodDisks, APodJoiningAReadWriteSameFamilyGetsEveryDiskOfIt) {
  const std::string ns = NewNamespace("family");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "shared", {{"availabilityMode", "ReadWriteSame"}})).exit_code,
      0);
  ASSERT_EQ(Cluster().Apply(Deployment(ns, "web", 1, {{"app", "web"}})).exit_code, 0);
  ASSERT_TRUE(WaitForPodsAndClaims(ns, "shared", 1, 1));
  const std::string first = pods_[0]["metadata"]["name"];
  json second_disk = claims_[0];
  for (const char* field : {"uid", "resourceVersion", "creationTimestamp", "finalizers",
                            "managedFields", "annotations"}) {
    second_disk["metadata"].erase(field);
  }
  second_disk["metadata"]["name"] = "discoblocks-shared-1";
  second_disk["metadata"]["labels"]["discoblocks-index"] = "1";
  second_disk["metadata"]["annotations"] = {{"discoblocks.ondat.io/diskconfig", "shared"}};
  second_disk["spec"].erase("volumeName");
  second_disk.erase("status");
  const auto created = Cluster().Apply(second_disk);
  ASSERT_EQ(created.exit_code, 0) << created.err;

  const auto scaled = Cluster().Kubectl({"scale", "deployment", "web", "-n", ns, "--replicas=2"});
  ASSERT_EQ(scaled.exit_code, 0) << scaled.err;
  ASSERT_TRUE(WaitForPodsAndClaims(ns, "shared", 2, 2));
  for (const json& pod : pods_) {
    if (pod["metadata"]["name"] == first) continue;  // admitted before disk 1 existed
    bool has_second = false;
    for (const json& volume : pod["spec"]["volumes"]) {
      has_second = has_second ||
                   volume.value("persistentVolumeClaim", json::object()).value("claimName", "") ==
                       "discoblocks-shared-1";
    }
    EXPECT_TRUE(has_second) << pod["spec"].dump(2);
    EXPECT_TRUE(MountedInEveryContainer(pod, "shared", "/data/shared")) << pod["spec"].dump(2);
    for (const json& container : pod["spec"]["containers"]) {
      EXPECT_NE(container["volumeMounts"].dump().find("\"/data/shared-1\""), std::string::npos)
          << container.dump(2);
    }
  }
}

// The fixture: ReadWriteMany on a driver without topology, so the pods may run
// on every node and still share the one disk.
TEST_F(PodDisks, FixtureNginxSharedGivesOneReadWriteManyDiskToPodsOnAnyNode) {
  const std::string ns = NewNamespace("fixture-shared");
  json config = testing::Fixture("diskconfigs/nginx-shared.yaml");
  config["metadata"]["namespace"] = ns;
  ASSERT_EQ(Cluster().Apply(config).exit_code, 0);
  json deployment = Deployment(ns, "nginx", 3, {{"app", "nginx"}});
  ASSERT_EQ(Cluster().Apply(deployment).exit_code, 0);

  ASSERT_TRUE(WaitFor(
      "3 pods Running sharing one Bound PVC", seconds(180),
      [&] {
        pods_ = Items("pods", ns, "app=nginx");
        claims_ = Items("pvc", ns);
        return pods_.size() == 3 && AllRunning(pods_) && claims_.size() == 1 && AllBound(claims_);
      },
      [&] { return Describe(ns); }));
  EXPECT_EQ(ClaimNames(), std::set<std::string>{"discoblocks-nginx-shared-0"});
  EXPECT_EQ(claims_[0]["spec"]["accessModes"], json::array({"ReadWriteMany"}));
  EXPECT_EQ(claims_[0]["spec"]["storageClassName"], "storageos");
  for (const json& pod : pods_) {
    EXPECT_TRUE(MountedInEveryContainer(pod, "nginx-shared", "/var/cache/nginx-0"))
        << pod["spec"].dump(2);
  }
}

// Deleting a DiskConfig never deletes data silently: its shared disk stays,
// labelled, and a Warning Event on it says how to delete the disk.
TEST_F(PodDisks, DeletingAReadWriteSameDiskConfigKeepsItsDiskAndSaysSo) {
  const std::string ns = NewNamespace("keep");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "shared", {{"availabilityMode", "ReadWriteSame"}})).exit_code,
      0);
  ASSERT_EQ(Cluster().Apply(Deployment(ns, "web", 2, {{"app", "web"}})).exit_code, 0);
  ASSERT_TRUE(WaitForPodsAndClaims(ns, "shared", 2, 1));

  // kubectl waits until the finalizer is gone, and the DiskConfig with it.
  const auto deleted =
      Cluster().Kubectl({"delete", "diskconfig", "shared", "-n", ns, "--timeout=60s"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err << Describe(ns);
  const json claims = Items("pvc", ns, "discoblocks=shared");
  ASSERT_EQ(claims.size(), 1u) << Describe(ns);
  EXPECT_EQ(claims[0]["metadata"]["labels"].value("discoblocks.ondat.io/orphaned", ""), "true");
  EXPECT_EQ(claims[0]["status"].value("phase", ""), "Bound");
  std::string message;
  EXPECT_TRUE(WaitFor(
      "a DisksKept Event", seconds(30),
      [&] {
        const json events = Cluster().KubectlJson(
            {"get", "events", "-n", ns, "--field-selector", "reason=DisksKept"});
        if (events["items"].empty()) return false;
        message = events["items"][0].value("message", "");
        return true;
      },
      [&] { return Describe(ns); }));
  EXPECT_NE(message.find("discoblocks-shared-0"), std::string::npos) << message;
  EXPECT_NE(message.find("kubectl delete pvc -n " + ns + " -l discoblocks=shared"),
            std::string::npos)
      << message;
}

TEST_F(PodDisks, ReadWriteDaemonDaemonSetGetsADiskPerNode) {
  const std::string ns = NewNamespace("daemon");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "cache", {{"availabilityMode", "ReadWriteDaemon"}})).exit_code,
      0);
  ASSERT_EQ(Cluster().Apply(DaemonSet(ns, "web", {{"app", "web"}})).exit_code, 0);

  const auto nodes = static_cast<std::size_t>(LocalCluster::kNodes);
  ASSERT_TRUE(WaitForPodsAndClaims(ns, "cache", nodes, nodes));
  std::set<std::string> expected;
  for (const json& pod : pods_) {
    const std::string node = pod["spec"]["nodeName"];
    const std::string claim = "discoblocks-cache-" + node + "-0";
    expected.insert(claim);
    const json* volume = DiskVolume(pod, "cache");
    ASSERT_NE(volume, nullptr) << pod["spec"].dump(2);
    EXPECT_EQ((*volume)["persistentVolumeClaim"]["claimName"], claim);
    EXPECT_TRUE(MountedInEveryContainer(pod, "cache", "/data/cache")) << pod["spec"].dump(2);
  }
  EXPECT_EQ(expected.size(), nodes) << "one pod per node";
  EXPECT_EQ(ClaimNames(), expected);
  // Each node's disk is made in the node's zone: its claim names a copy of the
  // StorageClass restricted to the topology the driver gives for the node.
  for (const json& pvc : claims_) {
    const std::string node = pvc["metadata"]["labels"].value("discoblocks-node", "");
    const std::string zone =
        Cluster().KubectlJson({"get", "node", node})["metadata"]["labels"].value(
            "topology.kubernetes.io/zone", "");
    const std::string class_name = pvc["spec"]["storageClassName"];
    EXPECT_TRUE(class_name.starts_with("ebs-gp3-")) << class_name;
    const json copy = Cluster().KubectlJson({"get", "storageclass", class_name});
    EXPECT_NE(copy.value("allowedTopologies", json::array()).dump().find("\"" + zone + "\""),
              std::string::npos)
        << node << " in " << zone << ": " << copy.dump(2);
  }
}

TEST_F(PodDisks, ServerSideDryRunCreatesNoPvc) {
  const std::string ns = NewNamespace("dry");
  ASSERT_EQ(
      Cluster().Apply(DiskConfig(ns, "dry", {{"availabilityMode", "ReadWriteSame"}})).exit_code, 0);
  const json pod = Pod(ns, "web", {{"app", "web"}});

  const auto dry = Cluster().Apply(pod, {"--dry-run=server", "-o", "json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  // The webhook answered (the pod would get its disk) and created nothing.
  const json answered = json::parse(dry.out);
  const json* volume = DiskVolume(answered, "dry");
  ASSERT_NE(volume, nullptr) << dry.out;
  EXPECT_EQ((*volume)["persistentVolumeClaim"]["claimName"], "discoblocks-dry-0");
  EXPECT_TRUE(Items("pvc", ns).empty()) << Describe(ns);
  EXPECT_TRUE(Items("pods", ns).empty()) << Describe(ns);

  // The same pod for real makes the PVC: the dry run's absence was its own.
  ASSERT_EQ(Cluster().Apply(pod).exit_code, 0);
  EXPECT_EQ(Items("pvc", ns).size(), 1u) << Describe(ns);
}

}  // namespace
}  // namespace discoblocks::e2e
