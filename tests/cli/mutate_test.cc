// `discoblocks mutate` on the fixtures with the bundled drivers: what the pod
// webhook would answer and create; exit 0 allowed, 1 denied, 2 error.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace discoblocks {
namespace {

using nlohmann::json;
using testing::FixturesDir;
using testing::RunDiscoblocks;

std::string FixturePath(const std::string& relative) { return (FixturesDir() / relative).string(); }

// `mutate` with the drivers, and `args`.
testing::CommandResult Mutate(std::vector<std::string> args) {
  args.insert(args.begin(), {"mutate", "--drivers-dir", testing::DriversDir().string()});
  return RunDiscoblocks(args);
}

json ParseOutput(const testing::CommandResult& result) {
  json doc = json::parse(result.out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << result.out << result.err;
  return doc;
}

TEST(MutateTest, ReadWriteOncePatchesThePodAndCreatesNothing) {
  const auto result = Mutate({"--pod", FixturePath("pods/nginx.yaml"), "--diskconfig",
                              FixturePath("diskconfigs/nginx-ebs.yaml"), "--storage-class",
                              FixturePath("storageclasses/ebs-gp3.yaml"), "-o", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const json doc = ParseOutput(result);
  EXPECT_EQ(doc["allowed"], true);
  EXPECT_EQ(doc["message"], "");
  EXPECT_EQ(doc["pvcs"], json::array());
  EXPECT_EQ(doc["storageClasses"], json::array());
  EXPECT_EQ(doc["warnings"], json::array());
  const json pod = testing::Fixture("pods/nginx.yaml").patch(doc["patch"]);
  const json& volume = pod["spec"]["volumes"][1];
  EXPECT_EQ(volume["name"], "discoblocks-nginx-0");
  EXPECT_EQ(volume["ephemeral"]["volumeClaimTemplate"]["spec"],
            json::parse(R"({"storageClassName": "ebs-gp3", "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}})"));
  for (const json& container : pod["spec"]["containers"]) {
    EXPECT_EQ(container["volumeMounts"].back(),
              json::parse(
                  R"({"name": "discoblocks-nginx-0", "mountPath": "/usr/share/nginx/html/data"})"));
  }
  EXPECT_EQ(
      pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
         ["nodeSelectorTerms"][0]["matchExpressions"][0]["key"],
      "kubernetes.io/os");
}

TEST(MutateTest, DaemonSetPodGetsItsNodesDiskInItsZone) {
  const auto result = Mutate({"--pod", FixturePath("pods/nginx-daemon.yaml"), "--diskconfig",
                              FixturePath("diskconfigs/nginx-daemon.yaml"), "--storage-class",
                              FixturePath("storageclasses/ebs-gp3.yaml"), "--node",
                              FixturePath("nodes/node-eu-west-1a.yaml")});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  std::string line;
  std::vector<std::string> got;
  while (std::getline(lines, line)) got.push_back(line);
  ASSERT_GE(got.size(), 5U) << result.out;
  EXPECT_EQ(got[0], "allowed");
  EXPECT_EQ(got[1], "disk configs: nginx-daemon");
  EXPECT_EQ(got[2].rfind("create StorageClass ebs-gp3-", 0), 0U) << got[2];
  EXPECT_EQ(got[3],
            "create PersistentVolumeClaim "
            "default/discoblocks-nginx-daemon-ip-10-0-1-23.eu-west-1.compute.internal-0");
  // Operations in the order of the pod's fields: containers, then volumes.
  EXPECT_EQ(got[4].rfind("patch: add /spec/containers/0/volumeMounts ", 0), 0U) << got[4];
  EXPECT_EQ(got.back().rfind("patch: add /spec/volumes ", 0), 0U) << got.back();
}

TEST(MutateTest, ReadWriteSameJoinsTheExistingFamily) {
  const auto result =
      Mutate({"--pod", FixturePath("pods/nginx.yaml"), "--diskconfig",
              FixturePath("diskconfigs/nginx-shared.yaml"), "--storage-class",
              FixturePath("storageclasses/storageos.yaml"), "--pvc",
              FixturePath("persistentvolumeclaims/nginx-shared-0.yaml"), "--pvc",
              FixturePath("persistentvolumeclaims/nginx-shared-1.yaml"), "-o", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const json doc = ParseOutput(result);
  EXPECT_EQ(doc["pvcs"], json::array()) << "both disks exist";
  const json pod = testing::Fixture("pods/nginx.yaml").patch(doc["patch"]);
  EXPECT_EQ(pod["spec"]["containers"][0]["volumeMounts"],
            json::parse(R"([{"name": "config", "mountPath": "/etc/nginx/conf.d"},
                            {"name": "discoblocks-nginx-shared-0", "mountPath": "/var/cache/nginx-0"},
                            {"name": "discoblocks-nginx-shared-1", "mountPath": "/var/cache/nginx-1"}])"));
  // Without them, the first is made.
  const auto fresh = Mutate({"--pod", FixturePath("pods/nginx.yaml"), "--diskconfig",
                             FixturePath("diskconfigs/nginx-shared.yaml"), "--storage-class",
                             FixturePath("storageclasses/storageos.yaml"), "-o", "json"});
  EXPECT_EQ(ParseOutput(fresh)["pvcs"][0]["metadata"]["name"], "discoblocks-nginx-shared-0");
}

TEST(MutateTest, DeniedExitsOneWithTheReason) {
  const auto daemon = Mutate({"--pod", FixturePath("pods/nginx.yaml"), "--diskconfig",
                              FixturePath("diskconfigs/nginx-daemon.yaml"), "--storage-class",
                              FixturePath("storageclasses/ebs-gp3.yaml")});
  EXPECT_EQ(daemon.exit_code, 1) << daemon.err;
  EXPECT_EQ(daemon.out,
            "denied: DiskConfig \"nginx-daemon\": availabilityMode ReadWriteDaemon gives disks to "
            "DaemonSet pods only, and this pod's controller is not a DaemonSet\n");

  testing::TempDir dir;
  std::ofstream(dir.path() / "twin.yaml") << R"(apiVersion: discoblocks.ondat.io/v1
kind: DiskConfig
metadata: {name: nginx-twin, namespace: default}
spec:
  storageClassName: storageos
  mountPointPattern: /usr/share/nginx/html/data
  podSelector: {app: nginx}
)";
  const auto twins = Mutate({"--pod", FixturePath("pods/nginx.yaml"), "--diskconfig",
                             FixturePath("diskconfigs/nginx-ebs.yaml"), "--diskconfig",
                             (dir.path() / "twin.yaml").string(), "--storage-class",
                             FixturePath("storageclasses/ebs-gp3.yaml"), "--storage-class",
                             FixturePath("storageclasses/storageos.yaml"), "-o", "json"});
  EXPECT_EQ(twins.exit_code, 1) << twins.err;
  const json doc = ParseOutput(twins);
  EXPECT_EQ(doc["allowed"], false);
  EXPECT_EQ(
      doc["message"],
      R"(DiskConfigs "nginx" and "nginx-twin" both mount a disk at /usr/share/nginx/html/data)");
  EXPECT_EQ(doc["patch"], json::array());
}

TEST(MutateTest, OnlyDiskConfigsOfThePodsNamespaceApply) {
  const auto result =
      Mutate({"--pod", FixturePath("pods/nginx.yaml"), "--namespace", "other", "--diskconfig",
              FixturePath("diskconfigs/nginx-ebs.yaml"), "--storage-class",
              FixturePath("storageclasses/ebs-gp3.yaml"), "-o", "json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(ParseOutput(result)["patch"], json::array());
}

TEST(MutateTest, InputErrorsExitTwoNamingTheFile) {
  const std::string pod = FixturePath("pods/nginx.yaml");
  const std::string dc = FixturePath("diskconfigs/nginx-ebs.yaml");
  const std::string sc = FixturePath("storageclasses/ebs-gp3.yaml");
  const auto missing =
      Mutate({"--pod", "/no/such.yaml", "--diskconfig", dc, "--storage-class", sc});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read /no/such.yaml"), std::string::npos) << missing.err;
  const auto not_a_pod = Mutate({"--pod", sc, "--diskconfig", dc, "--storage-class", sc});
  EXPECT_EQ(not_a_pod.exit_code, 2);
  EXPECT_EQ(not_a_pod.err, "discoblocks: " + sc + ": not a Pod (kind StorageClass)\n");
  const auto not_a_node =
      Mutate({"--pod", pod, "--diskconfig", dc, "--storage-class", sc, "--node", dc});
  EXPECT_EQ(not_a_node.exit_code, 2);
  EXPECT_EQ(not_a_node.err, "discoblocks: " + dc + ": not a Node (kind DiskConfig)\n");
  const auto usage = Mutate({"--pod", pod, "--diskconfig", dc});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("--storage-class"), std::string::npos) << usage.err;
  testing::TempDir dir;
  std::ofstream(dir.path() / "bad.yaml") << R"(apiVersion: discoblocks.ondat.io/v1
kind: DiskConfig
metadata: {name: bad, namespace: default}
spec: {storageClassName: ebs-gp3, capacity: [1Gi], podSelector: {app: nginx}}
)";
  const std::string bad = (dir.path() / "bad.yaml").string();
  const auto malformed = Mutate({"--pod", pod, "--diskconfig", bad, "--storage-class", sc});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_EQ(malformed.err, "discoblocks: " + bad +
                               ": spec.capacity: expected a quantity string such as 1Gi, got an "
                               "array\n");
}

}  // namespace
}  // namespace discoblocks
