// Every reason the pod mutation denies a pod, each with a message that names
// what was wrong.
#include <gtest/gtest.h>

#include "admission/pod_mutation.h"
#include "pod_fixture.h"

// In the fixture's namespace, so that its names need no using-declarations.
namespace discoblocks::admission::testing {
namespace {

std::string Denial(const Cluster& cluster, const json& pod) {
  const PodMutation mutation = cluster.Mutate(pod);
  EXPECT_FALSE(mutation.allowed);
  EXPECT_EQ(mutation.patch, json::array()) << "a denial patches nothing";
  EXPECT_TRUE(mutation.pvcs.empty());
  return mutation.message;
}

TEST(PodMutationDenialTest, StorageClassNotFound) {
  Cluster cluster;
  cluster.configs = {Config("web", {{"storageClassName", "missing"}})};
  EXPECT_EQ(Denial(cluster, WebPod()), R"(DiskConfig "web": StorageClass "missing" not found)");
}

TEST(PodMutationDenialTest, NoDriverForTheProvisioner) {
  Cluster cluster;
  cluster.configs = {Config("web", {{"storageClassName", "local-storage"}})};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfig "web": no driver for provisioner "kubernetes.io/no-provisioner" of )"
            R"(StorageClass "local-storage")");
}

TEST(PodMutationDenialTest, DriverErrorInGetPVCStub) {
  Cluster cluster;
  cluster.UseHostileEbsDriver("trap.wasm");
  cluster.configs = {Config("web")};
  const std::string message = Denial(cluster, WebPod());
  EXPECT_EQ(message.rfind(R"(DiskConfig "web": the disk cannot be provisioned: driver )"
                          "ebs.csi.aws.com: GetPVCStub: ",
                          0),
            0U)
      << message;
}

TEST(PodMutationDenialTest, DriverErrorInTopology) {
  Cluster cluster;
  cluster.configs = {Config("web")};
  cluster.nodes.push_back(json::parse(R"({"kind": "Node", "metadata": {"name": "no-zone"}})"));
  json pod = WebPod();
  pod["spec"]["nodeName"] = "no-zone";
  const std::string message = Denial(cluster, pod);
  EXPECT_NE(message.find("GetStorageClassAllowedTopology"), std::string::npos) << message;
  EXPECT_NE(message.find("metadata.labels.'topology.kubernetes.io/zone' not found"),
            std::string::npos)
      << message;
}

// A driver whose stub has a spec we cannot build on (the scripted module
// prints OUT as its stdout, for every function).
TEST(PodMutationDenialTest, MalformedPvcStub) {
  Cluster cluster;
  cluster.UseHostileEbsDriver("scripted.wasm");
  cluster.configs = {Config("web")};
  cluster.call_options.extra_env = {
      {"OUT", R"({"kind": "PersistentVolumeClaim", "spec": {"resources": []}})"}};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfig "web": the PVC stub of driver ebs.csi.aws.com is malformed: )"
            "spec.resources: expected an object, got an array");
  cluster.call_options.extra_env = {
      {"OUT", R"({"kind": "PersistentVolumeClaim", "metadata": {"labels": {"a": 1}}})"}};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfig "web": the PVC stub of driver ebs.csi.aws.com is malformed: )"
            "metadata.labels.a: expected a string, got a number");
  // What the driver says on stderr of a good answer reaches the user as a warning.
  cluster.call_options.extra_env = {{"OUT", R"({"kind": "PersistentVolumeClaim"})"},
                                    {"ERR", "gp2 is deprecated"}};
  const PodMutation warned = cluster.Mutate(WebPod());
  EXPECT_TRUE(warned.allowed) << warned.message;
  EXPECT_EQ(warned.warnings, std::vector<std::string>{"gp2 is deprecated"});
}

TEST(PodMutationDenialTest, TwoDiskConfigsOnOnePathNameBoth) {
  Cluster cluster;
  cluster.configs = {Config("first"), Config("second")};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfigs "first" and "second" both mount a disk at /data)");
  // Also when one renders its index 1 where the other renders its index 0.
  cluster.configs = {
      Config("first", {{"mountPointPattern", "/data-1"}}),
      Config("second", {{"availabilityMode", "ReadWriteSame"}, {"storageClassName", "storageos"}})};
  cluster.pvcs = {json::parse(R"({"kind": "PersistentVolumeClaim", "metadata": {
      "name": "discoblocks-second-1", "namespace": "default",
      "labels": {"discoblocks": "second", "discoblocks-index": "1"}}})")};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfigs "first" and "second" both mount a disk at /data-1)");
}

TEST(PodMutationDenialTest, PathAContainerMountsAlreadyNamesTheContainer) {
  Cluster cluster;
  cluster.configs = {Config("web", {{"mountPointPattern", "/etc/app/"}})};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfig "web" mounts a disk at /etc/app, where container "app" already mounts )"
            R"(volume "config")");
}

TEST(PodMutationDenialTest, ReadWriteDaemonOnAPodNotOfADaemonSet) {
  Cluster cluster;
  cluster.configs = {Config("cache", {{"availabilityMode", "ReadWriteDaemon"}})};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfig "cache": availabilityMode ReadWriteDaemon gives disks to DaemonSet pods )"
            "only, and this pod's controller is not a DaemonSet");
  json unpinned = DaemonPod();
  unpinned["spec"].erase("affinity");
  EXPECT_EQ(
      Denial(cluster, unpinned),
      R"(DiskConfig "cache": availabilityMode ReadWriteDaemon needs the pod's node, and this )"
      "DaemonSet pod names none (no spec.nodeName, no required node affinity on "
      "metadata.name)");
}

// A pod fixed to a node the nodeSelector excludes would stay Pending for ever
// with its disks unbound. (On the local cluster, a ReadWriteDaemon DiskConfig
// with a zone's nodeSelector left the DaemonSet's pods on the other nodes
// Pending and made them PVCs that never bound.) A pod pinned by hand is denied
// before anything is made; a DaemonSet's pod runs there without the disk, with
// a warning, because denying it would stall the DaemonSet's pods in the zone.
TEST(PodMutationDenialTest, APodFixedToANodeTheNodeSelectorExcludes) {
  Cluster cluster;
  const json zone_b =
      json::parse(R"({"matchLabels": {"topology.kubernetes.io/zone": "eu-west-1b"}})");
  cluster.configs = {Config("cache", {{"nodeSelector", zone_b}})};
  json pinned = WebPod();
  pinned["spec"]["nodeName"] = kNode;
  EXPECT_EQ(Denial(cluster, pinned), std::string(R"(DiskConfig "cache": node ")") + kNode +
                                         R"(" does not match its nodeSelector, and this pod can )"
                                         "run only there");
  EXPECT_TRUE(cluster.Mutate(pinned).storage_classes.empty());
  // Not yet on a node: the scheduler looks for one in the zone.
  EXPECT_TRUE(cluster.Mutate(WebPod()).allowed);
  // On a node the lookup does not know: left to the scheduler.
  pinned["spec"]["nodeName"] = "unknown-node";
  const PodMutation unknown = cluster.Mutate(pinned);
  EXPECT_TRUE(unknown.allowed) << unknown.message;

  // A DaemonSet's pod outside the zone: admitted unchanged, with a warning.
  cluster.configs = {
      Config("cache", {{"availabilityMode", "ReadWriteDaemon"}, {"nodeSelector", zone_b}})};
  const PodMutation outside = cluster.Mutate(DaemonPod());
  EXPECT_TRUE(outside.allowed) << outside.message;
  EXPECT_TRUE(outside.patch.empty()) << outside.patch.dump(2);
  EXPECT_TRUE(outside.storage_classes.empty());
  EXPECT_TRUE(outside.pvcs.empty());
  EXPECT_TRUE(outside.disk_configs.empty());
  EXPECT_EQ(outside.warnings,
            std::vector<std::string>{std::string(R"(DiskConfig "cache": node ")") + kNode +
                                     R"(" does not match its nodeSelector; this DaemonSet pod )"
                                     "runs there without its disks"});
  // In the zone: its disk.
  cluster.configs = {Config(
      "cache",
      {{"availabilityMode", "ReadWriteDaemon"},
       {"nodeSelector", {{"matchLabels", {{"topology.kubernetes.io/zone", "eu-west-1a"}}}}}})};
  const PodMutation in_zone = cluster.Mutate(DaemonPod());
  EXPECT_TRUE(in_zone.allowed) << in_zone.message;
  EXPECT_EQ(in_zone.pvcs.size(), 1U);
  EXPECT_TRUE(in_zone.warnings.empty());
}

TEST(PodMutationDenialTest, UnknownAvailabilityMode) {
  Cluster cluster;
  cluster.configs = {Config("web", {{"availabilityMode", "ReadWriteMany"}})};
  EXPECT_EQ(Denial(cluster, WebPod()),
            R"(DiskConfig "web": spec.availabilityMode "ReadWriteMany" is not ReadWriteOnce, )"
            "ReadWriteSame or ReadWriteDaemon");
}

TEST(PodMutationDenialTest, MalformedNodeSelector) {
  Cluster cluster;
  cluster.configs = {Config("web", {{"nodeSelector", {{"matchLabels", {{"os", 1}}}}}})};
  EXPECT_EQ(
      Denial(cluster, WebPod()),
      R"(DiskConfig "web": spec.nodeSelector.matchLabels.os: expected a string, got a number)");
}

TEST(PodMutationDenialTest, TopologyStorageClassNameTakenBySomethingElse) {
  Cluster cluster;
  cluster.configs = {Config("web")};
  json pod = WebPod();
  pod["spec"]["nodeName"] = kNode;
  const PodMutation first = cluster.Mutate(pod);
  ASSERT_EQ(first.storage_classes.size(), 1U) << first.message;
  json impostor = first.storage_classes[0];
  impostor["metadata"].erase("labels");
  impostor["metadata"].erase("annotations");
  cluster.storage_classes.push_back(impostor);
  const std::string name = impostor["metadata"]["name"];
  EXPECT_EQ(Denial(cluster, pod),
            R"(DiskConfig "web": StorageClass ")" + name +
                R"(" exists and is not the topology-restricted copy of "ebs-gp3" that Discoblocks )"
                "would make");
}

TEST(PodMutationDenialTest, MalformedPodFieldsAreNamed) {
  Cluster cluster;
  cluster.configs = {Config("web")};
  const auto denial = [&](const char* pointer, const json& value) {
    json pod = WebPod();
    pod[json::json_pointer(pointer)] = value;
    return Denial(cluster, pod);
  };
  EXPECT_EQ(denial("/spec/volumes", "x"), "spec.volumes: expected an array, got a string");
  EXPECT_EQ(denial("/spec/containers/0/volumeMounts", 1),
            "spec.containers[0].volumeMounts: expected an array, got a number");
  EXPECT_EQ(denial("/spec/containers/1", "x"),
            "spec.containers[1]: expected an object, got a string");
  EXPECT_EQ(denial("/spec/containers/0/volumeMounts/0/mountPath", false),
            "spec.containers[0].volumeMounts[0].mountPath: expected a string, got a boolean");
  EXPECT_EQ(denial("/spec/volumes/0/name", json::array()),
            "spec.volumes[0].name: expected a string, got an array");
  EXPECT_EQ(denial("/spec/nodeName", 3), "spec.nodeName: expected a string, got a number");
  EXPECT_EQ(denial("/metadata/name", 3), "metadata.name: expected a string, got a number");
  EXPECT_EQ(denial("/spec", nullptr), "spec: is required");
  // Labels that are not a map match nothing and are named.
  EXPECT_EQ(denial("/metadata/labels", "app=web"),
            "metadata.labels: expected an object, got a string");
}

TEST(PodMutationDenialTest, VolumeNameThePodUsesForSomethingElse) {
  Cluster cluster;
  cluster.configs = {
      Config("shared", {{"availabilityMode", "ReadWriteSame"}, {"storageClassName", "storageos"}})};
  cluster.pvcs = {json::parse(R"({"kind": "PersistentVolumeClaim", "metadata": {
      "name": "discoblocks-shared-1", "namespace": "default",
      "labels": {"discoblocks": "shared", "discoblocks-index": "1"}}})")};
  json pod = WebPod();
  pod["spec"]["volumes"].push_back(
      {{"name", "discoblocks-shared-1"}, {"emptyDir", json::object()}});
  EXPECT_EQ(Denial(cluster, pod),
            R"(DiskConfig "shared": the pod already has a volume named "discoblocks-shared-1")");
}

}  // namespace
}  // namespace discoblocks::admission::testing
