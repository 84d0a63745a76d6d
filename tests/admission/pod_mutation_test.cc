// The pod mutation in each availability mode: the pod the patch makes, the
// objects to create, idempotency, and names that fit whatever the input.
#include "admission/pod_mutation.h"

#include <gtest/gtest.h>

#include "admission/names.h"
#include "pod_fixture.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;
using testing::Cluster;
using testing::Config;
using testing::DaemonPod;
using testing::WebPod;

json Applied(const json& pod, const PodMutation& mutation) {
  EXPECT_TRUE(mutation.allowed) << mutation.message;
  return pod.patch(mutation.patch);
}

// Mutates `pod` again once the cluster holds what `first` made: the answer is
// the same, and nothing is made twice.
void ExpectNothingMadeTwice(Cluster cluster, const json& pod, const PodMutation& first) {
  for (const json& storage_class : first.storage_classes) {
    cluster.storage_classes.push_back(storage_class);
  }
  for (const json& pvc : first.pvcs) cluster.pvcs.push_back(pvc);
  const PodMutation again = cluster.Mutate(pod);
  EXPECT_TRUE(again.allowed) << again.message;
  EXPECT_TRUE(again.storage_classes.empty());
  EXPECT_TRUE(again.pvcs.empty());
  EXPECT_EQ(again.patch, first.patch);
}

const json kLinux = json::parse(R"({"matchLabels": {"kubernetes.io/os": "linux"}})");

// WebPod with `volume` added, mounted at `path` in both containers.
json WithDisk(json pod, const json& volume, const std::string& path) {
  pod["spec"]["volumes"].push_back(volume);
  for (json& container : pod["spec"]["containers"]) {
    container["volumeMounts"].push_back({{"name", volume["name"]}, {"mountPath", path}});
  }
  return pod;
}

TEST(PodMutationTest, ReadWriteOnceIsAnEphemeralVolumeKubernetesCreates) {
  Cluster cluster;
  cluster.configs = {Config("web", {{"nodeSelector", kLinux}})};
  const json pod = WebPod();
  const PodMutation mutation = cluster.Mutate(pod);
  ASSERT_TRUE(mutation.allowed) << mutation.message;
  EXPECT_TRUE(mutation.pvcs.empty());
  EXPECT_TRUE(mutation.storage_classes.empty());
  EXPECT_EQ(mutation.disk_configs, std::vector<std::string>{"web"});
  json expected = WithDisk(WebPod(), json::parse(R"({
      "name": "discoblocks-web-0",
      "ephemeral": {"volumeClaimTemplate": {
        "metadata": {"labels": {"discoblocks": "web", "discoblocks-index": "0"},
                     "annotations": {"discoblocks.ondat.io/diskconfig": "web"}},
        "spec": {"storageClassName": "ebs-gp3", "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "10Gi"}}}}}})"),
                           "/data");
  expected["spec"]["affinity"] = json::parse(R"({"nodeAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}})");
  EXPECT_EQ(Applied(pod, mutation), expected) << Applied(pod, mutation).dump(2);
}

// A pod without volumes, mounts or affinity: the patch creates them.
TEST(PodMutationTest, PatchCreatesWhatThePodLacks) {
  Cluster cluster;
  cluster.configs = {Config("web")};
  const json pod = json::parse(R"({"apiVersion": "v1", "kind": "Pod",
      "metadata": {"name": "bare", "labels": {"app": "web"}},
      "spec": {"containers": [{"name": "app", "image": "nginx"}]}})");
  const json mutated = Applied(pod, cluster.Mutate(pod));
  EXPECT_EQ(mutated["spec"]["volumes"].size(), 1U);
  EXPECT_EQ(mutated["spec"]["containers"][0]["volumeMounts"],
            json::parse(R"([{"name": "discoblocks-web-0", "mountPath": "/data"}])"));
  EXPECT_FALSE(mutated["spec"].contains("affinity")) << "no nodeSelector, no affinity";
}

TEST(PodMutationTest, KnownNodeGetsATopologyRestrictedStorageClass) {
  Cluster cluster;
  cluster.configs = {Config("web")};
  json pod = WebPod();
  pod["spec"]["nodeName"] = testing::kNode;
  const PodMutation mutation = cluster.Mutate(pod);
  ASSERT_TRUE(mutation.allowed) << mutation.message;
  ASSERT_EQ(mutation.storage_classes.size(), 1U);
  const json terms = json::parse(
      R"([{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone", "values": ["eu-west-1a"]}]}])");
  const std::string name = TopologyStorageClassName("ebs-gp3", {terms[0]});
  EXPECT_EQ(mutation.storage_classes[0], json::parse(R"({
      "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
      "metadata": {"name": ")" + name + R"(",
                   "labels": {"discoblocks.ondat.io/topology-of": "ebs-gp3"},
                   "annotations": {"discoblocks.ondat.io/topology-of": "ebs-gp3"}},
      "provisioner": "ebs.csi.aws.com",
      "parameters": {"type": "gp3", "csi.storage.k8s.io/fstype": "ext4"},
      "allowVolumeExpansion": true, "reclaimPolicy": "Retain",
      "volumeBindingMode": "WaitForFirstConsumer",
      "allowedTopologies": )" + terms.dump() + "}"));
  const json mutated = Applied(pod, mutation);
  EXPECT_EQ(
      mutated["spec"]["volumes"][1]["ephemeral"]["volumeClaimTemplate"]["spec"]["storageClassName"],
      name);

  ExpectNothingMadeTwice(cluster, pod, mutation);  // created once, then reused
}

TEST(PodMutationTest, UnknownNodeObjectMeansNoTopologyWithAWarning) {
  Cluster cluster;
  cluster.configs = {Config("web")};
  json pod = WebPod();
  pod["spec"]["nodeName"] = "gone";
  const PodMutation mutation = cluster.Mutate(pod);
  ASSERT_TRUE(mutation.allowed) << mutation.message;
  EXPECT_TRUE(mutation.storage_classes.empty());
  EXPECT_EQ(mutation.warnings, std::vector<std::string>{
                                   "DiskConfig \"web\": node \"gone\" not found, so its disk uses "
                                   "StorageClass \"ebs-gp3\" without topology restrictions"});
}

TEST(PodMutationTest, ReadWriteSameCreatesTheFamilysFirstDiskOnce) {
  Cluster cluster;
  cluster.configs = {Config("shared", {{"availabilityMode", "ReadWriteSame"},
                                       {"storageClassName", "storageos"},
                                       {"accessModes", {"ReadWriteMany"}}})};
  const json pod = WebPod();
  const PodMutation mutation = cluster.Mutate(pod);
  ASSERT_TRUE(mutation.allowed) << mutation.message;
  ASSERT_EQ(mutation.pvcs.size(), 1U);
  EXPECT_EQ(mutation.pvcs[0], json::parse(R"({
      "apiVersion": "v1", "kind": "PersistentVolumeClaim",
      "metadata": {"name": "discoblocks-shared-0", "namespace": "default",
                   "labels": {"discoblocks": "shared", "discoblocks-index": "0"},
                   "annotations": {"discoblocks.ondat.io/diskconfig": "shared"}},
      "spec": {"storageClassName": "storageos", "accessModes": ["ReadWriteMany"],
               "resources": {"requests": {"storage": "10Gi"}}}})"));
  EXPECT_FALSE(mutation.pvcs[0]["metadata"].contains("ownerReferences")) << "outlives the pods";
  EXPECT_EQ(Applied(pod, mutation),
            WithDisk(WebPod(), json::parse(R"({"name": "discoblocks-shared-0",
                                     "persistentVolumeClaim": {"claimName": "discoblocks-shared-0"}})"),
                     "/data"));

  ExpectNothingMadeTwice(cluster, pod, mutation);  // the next pod finds the PVC
}

TEST(PodMutationTest, AJoiningPodGetsEveryDiskOfTheFamily) {
  Cluster cluster;
  cluster.configs = {Config("nginx-shared", {{"availabilityMode", "ReadWriteSame"},
                                             {"storageClassName", "storageos"},
                                             {"mountPointPattern", "/cache-%d"}})};
  cluster.pvcs = {discoblocks::testing::Fixture("persistentvolumeclaims/nginx-shared-1.yaml"),
                  discoblocks::testing::Fixture("persistentvolumeclaims/nginx-shared-0.yaml")};
  // A ReadWriteOnce PVC of the same DiskConfig (an earlier mode) is not of the family.
  json ephemeral = cluster.pvcs[1];
  ephemeral["metadata"]["name"] = "web-0-discoblocks-nginx-shared-0";
  cluster.pvcs.push_back(ephemeral);
  const json pod = WebPod();
  const PodMutation mutation = cluster.Mutate(pod);
  EXPECT_TRUE(mutation.pvcs.empty());
  const json mutated = Applied(pod, mutation);
  ASSERT_EQ(mutated["spec"]["volumes"].size(), 3U);
  EXPECT_EQ(mutated["spec"]["volumes"][1]["persistentVolumeClaim"]["claimName"],
            "discoblocks-nginx-shared-0");
  EXPECT_EQ(mutated["spec"]["volumes"][2]["persistentVolumeClaim"]["claimName"],
            "discoblocks-nginx-shared-1");
  EXPECT_EQ(mutated["spec"]["containers"][1]["volumeMounts"],
            json::parse(R"([{"name": "discoblocks-nginx-shared-0", "mountPath": "/cache-0"},
                            {"name": "discoblocks-nginx-shared-1", "mountPath": "/cache-1"}])"));
}

TEST(PodMutationTest, ReadWriteDaemonHasOneFamilyPerNode) {
  Cluster cluster;
  cluster.configs = {Config("cache", {{"availabilityMode", "ReadWriteDaemon"}})};
  const json pod = DaemonPod();
  const PodMutation mutation = cluster.Mutate(pod);
  ASSERT_TRUE(mutation.allowed) << mutation.message;
  ASSERT_EQ(mutation.pvcs.size(), 1U);
  const json& pvc = mutation.pvcs[0];
  EXPECT_EQ(pvc["metadata"]["name"], "discoblocks-cache-ip-10-0-1-23.eu-west-1.compute.internal-0");
  EXPECT_EQ(pvc["metadata"]["labels"],
            json::parse(R"({"discoblocks": "cache", "discoblocks-index": "0",
                            "discoblocks-node": "ip-10-0-1-23.eu-west-1.compute.internal"})"));
  EXPECT_EQ(pvc["metadata"]["annotations"],
            json::parse(R"({"discoblocks.ondat.io/diskconfig": "cache",
                            "discoblocks.ondat.io/node": "ip-10-0-1-23.eu-west-1.compute.internal"})"));
  // The node is known, so the disk is made in its zone.
  ASSERT_EQ(mutation.storage_classes.size(), 1U);
  EXPECT_EQ(pvc["spec"]["storageClassName"], mutation.storage_classes[0]["metadata"]["name"]);
  const json mutated = Applied(pod, mutation);
  EXPECT_EQ(mutated["spec"]["volumes"][1]["persistentVolumeClaim"]["claimName"],
            pvc["metadata"]["name"]);

  ExpectNothingMadeTwice(cluster, pod, mutation);
  // Another node's family is not this one.
  cluster.pvcs.push_back(pvc);
  json elsewhere = DaemonPod();
  elsewhere["spec"]["nodeName"] = "node-b";
  cluster.nodes.push_back(json::parse(R"({"kind": "Node", "metadata": {"name": "node-b",
      "labels": {"topology.kubernetes.io/zone": "eu-west-1b"}}})"));
  const PodMutation other = cluster.Mutate(elsewhere);
  ASSERT_EQ(other.pvcs.size(), 1U) << other.message;
  EXPECT_EQ(other.pvcs[0]["metadata"]["name"], "discoblocks-cache-node-b-0");
}

// A pod that has its first disk already (a retried admission, a re-run) is
// left as it is, and nothing is created again.
TEST(PodMutationTest, IsIdempotent) {
  Cluster cluster;
  cluster.configs = {Config("once", {{"nodeSelector", kLinux}}),
                     Config("shared", {{"availabilityMode", "ReadWriteSame"},
                                       {"storageClassName", "storageos"},
                                       {"mountPointPattern", "/shared"}})};
  const json pod = WebPod();
  const PodMutation first = cluster.Mutate(pod);
  ASSERT_EQ(first.pvcs.size(), 1U);
  const json mutated = Applied(pod, first);
  const PodMutation second = cluster.Mutate(mutated);
  EXPECT_TRUE(second.allowed) << second.message;
  EXPECT_EQ(second.patch, json::array());
  EXPECT_TRUE(second.pvcs.empty());
  EXPECT_TRUE(second.disk_configs.empty());
}

TEST(PodMutationTest, SeveralDiskConfigsApplyInNameOrderWithTheirAffinitiesAnded) {
  Cluster cluster;
  cluster.configs = {
      Config("zeta", {{"mountPointPattern", "/z"}, {"nodeSelector", kLinux}}),
      Config("alpha", {{"mountPointPattern", "/a"},
                       {"nodeSelector",
                        {{"matchExpressions", {{{"key", "disk"}, {"operator", "Exists"}}}}}}})};
  const json pod = WebPod();
  const PodMutation mutation = cluster.Mutate(pod);
  EXPECT_EQ(mutation.disk_configs, (std::vector<std::string>{"alpha", "zeta"}));
  const json mutated = Applied(pod, mutation);
  EXPECT_EQ(mutated["spec"]["volumes"][1]["name"], "discoblocks-alpha-0");
  EXPECT_EQ(mutated["spec"]["volumes"][2]["name"], "discoblocks-zeta-0");
  EXPECT_EQ(mutated["spec"]["affinity"]["nodeAffinity"]
                   ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"],
            json::parse(R"([{"matchExpressions": [
                {"key": "disk", "operator": "Exists"},
                {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}])"));
}

TEST(PodMutationTest, OnlyMatchingDiskConfigsOfThePodsNamespaceCount) {
  Cluster cluster;
  DiskConfig elsewhere = Config("elsewhere");
  elsewhere.ns = "other";
  cluster.configs = {elsewhere, Config("db", {{"podSelector", {{"app", "db"}}}}),
                     Config("two", {{"podSelector", {{"app", "web"}, {"tier", "front"}}}})};
  const PodMutation mutation = cluster.Mutate(WebPod());
  EXPECT_TRUE(mutation.allowed);
  EXPECT_EQ(mutation.patch, json::array());
  json front = WebPod();
  front["metadata"]["labels"]["tier"] = "front";
  EXPECT_EQ(cluster.Mutate(front).disk_configs, std::vector<std::string>{"two"});
}

TEST(PodSelectorTest, APodMatchesWhenItCarriesEveryLabel) {
  const json labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(PodSelectorMatches({{"app", "web"}}, labels));
  EXPECT_TRUE(PodSelectorMatches(json::object(), labels));
  EXPECT_FALSE(PodSelectorMatches({{"app", "db"}}, labels));
  EXPECT_FALSE(PodSelectorMatches({{"app", "web"}}, nullptr));
  EXPECT_FALSE(PodSelectorMatches(nullptr, labels));
  EXPECT_FALSE(PodSelectorMatches({{"app", 1}}, {{"app", 1}}));
}

// DiskConfig names may have dots and 253 characters; what is made of them
// still fits, and the whole name is in the annotations.
TEST(PodMutationTest, LongDiskConfigNamesGiveValidNames) {
  std::string long_name;
  while (long_name.size() < 240) long_name += "abcdefghij.";
  long_name += "klmnopqrstu";
  Cluster cluster;
  cluster.configs = {Config(
      long_name, {{"availabilityMode", "ReadWriteSame"}, {"storageClassName", "storageos"}})};
  const json pod = WebPod();
  const PodMutation mutation = cluster.Mutate(pod);
  ASSERT_TRUE(mutation.allowed) << mutation.message;
  const json& pvc = mutation.pvcs.at(0);
  EXPECT_TRUE(IsDns1123Subdomain(pvc["metadata"]["name"].get<std::string>()));
  EXPECT_TRUE(IsLabelValue(pvc["metadata"]["labels"]["discoblocks"].get<std::string>()));
  EXPECT_EQ(pvc["metadata"]["annotations"]["discoblocks.ondat.io/diskconfig"], long_name);
  const json mutated = Applied(pod, mutation);
  EXPECT_TRUE(IsDns1123Label(mutated["spec"]["volumes"][1]["name"].get<std::string>()));
}

}  // namespace
}  // namespace discoblocks::admission
