// The bundled drivers (Go: EBS, StorageOS; C: GCE PD), built from source, on
// every fixture: outcomes and messages exactly as the contract states.
#include <string>

#include <gtest/gtest.h>

#include "drivers/typed_calls.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::BundledDrivers;
using testing::Fixture;

constexpr const char* kEbs = "ebs.csi.aws.com";
constexpr const char* kStorageOs = "csi.storageos.com";
constexpr const char* kGke = "pd.csi.storage.gke.io";

const Driver& Bundled(const std::string& provisioner) {
  const auto driver = BundledDrivers().Find(provisioner);
  if (!driver) throw std::runtime_error("bundled driver not loaded: " + provisioner);
  return *driver;
}

struct ValidityCase {
  std::string provisioner;
  std::string storage_class;  // fixture path
  OutcomeKind expected;
  std::string reason;  // for invalid
};

void PrintTo(const ValidityCase& c, std::ostream* out) {
  *out << c.provisioner << " " << c.storage_class;
}

class StorageClassFixtureTest : public ::testing::TestWithParam<ValidityCase> {};

TEST_P(StorageClassFixtureTest, GivesTheContractOutcome) {
  const ValidityCase& param = GetParam();
  const Outcome outcome =
      IsStorageClassValid(Bundled(param.provisioner), Fixture(param.storage_class));
  EXPECT_EQ(OutcomeName(outcome.kind), OutcomeName(param.expected)) << outcome.reason;
  EXPECT_EQ(outcome.reason, param.reason);
  EXPECT_TRUE(outcome.warnings.empty());
}

constexpr const char* kNeedsWffc = "only volumeBindingMode WaitForFirstConsumer is supported";
constexpr const char* kNeedsImmediate = "only volumeBindingMode Immediate is supported";
constexpr const char* kNeedsExpansion = "only allowVolumeExpansion true is supported";

INSTANTIATE_TEST_SUITE_P(
    Drivers, StorageClassFixtureTest,
    ::testing::Values(
        // The shared fixtures, with the driver their provisioner names.
        ValidityCase{kEbs, "storageclasses/ebs-gp3.yaml", OutcomeKind::kValid, ""},
        ValidityCase{kEbs, "storageclasses/ebs-no-expansion.yaml", OutcomeKind::kInvalid,
                     kNeedsExpansion},
        ValidityCase{kEbs, "storageclasses/ebs-immediate.yaml", OutcomeKind::kInvalid, kNeedsWffc},
        ValidityCase{kStorageOs, "storageclasses/storageos.yaml", OutcomeKind::kValid, ""},
        ValidityCase{kStorageOs, "storageclasses/storageos-wffc.yaml", OutcomeKind::kInvalid,
                     kNeedsImmediate},
        // The C driver: WaitForFirstConsumer required (absent means Immediate), then
        // expansion, whatever the provisioner field says.
        ValidityCase{kGke, "storageclasses/gke-pd-balanced.yaml", OutcomeKind::kValid, ""},
        ValidityCase{kGke, "storageclasses/ebs-gp3.yaml", OutcomeKind::kValid, ""},
        ValidityCase{kGke, "storageclasses/ebs-immediate.yaml", OutcomeKind::kInvalid, kNeedsWffc},
        ValidityCase{kGke, "storageclasses/ebs-no-expansion.yaml", OutcomeKind::kInvalid,
                     kNeedsExpansion},
        ValidityCase{kGke, "storageclasses/storageos.yaml", OutcomeKind::kInvalid, kNeedsWffc},
        ValidityCase{kGke, "storageclasses/local-no-provisioner.yaml", OutcomeKind::kInvalid,
                     kNeedsExpansion}),
    [](const auto& test_info) {
      std::string name = test_info.param.provisioner + "_" + test_info.param.storage_class;
      for (char& c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
      }
      return name;
    });

TEST(FixturesTest, NoDriverForTheNoProvisionerClass) {
  const nlohmann::json storage_class = Fixture("storageclasses/local-no-provisioner.yaml");
  CallInputs inputs;
  inputs.storage_class = storage_class;
  const Outcome outcome = BundledDrivers().Call(storage_class["provisioner"].get<std::string>(),
                                                Function::kIsStorageClassValid, inputs);
  EXPECT_EQ(outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(outcome.cause, ErrorCause::kNoDriver);
  EXPECT_EQ(outcome.reason, "no driver for kubernetes.io/no-provisioner");
}

TEST(FixturesTest, EbsTopologyIsTheNodesZone) {
  auto topology =
      GetStorageClassAllowedTopology(Bundled(kEbs), Fixture("nodes/node-eu-west-1a.yaml"));
  ASSERT_TRUE(topology.ok()) << topology.outcome.reason;
  EXPECT_EQ(nlohmann::json(topology.value), nlohmann::json::parse(R"([{"matchLabelExpressions":
      [{"key":"topology.kubernetes.io/zone","values":["eu-west-1a"]}]}])"));
}

TEST(FixturesTest, EbsTopologyWithoutZoneLabelIsAnErrorWithTheDriversMessage) {
  nlohmann::json node = Fixture("nodes/node-eu-west-1a.yaml");
  node["metadata"]["labels"].erase("topology.kubernetes.io/zone");
  auto topology = GetStorageClassAllowedTopology(Bundled(kEbs), node);
  EXPECT_EQ(topology.outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(topology.outcome.reason,
            "driver ebs.csi.aws.com: GetStorageClassAllowedTopology: "
            "metadata.labels.'topology.kubernetes.io/zone' not found");
}

TEST(FixturesTest, StorageOsHasNoTopology) {
  auto topology =
      GetStorageClassAllowedTopology(Bundled(kStorageOs), Fixture("nodes/node-eu-west-1a.yaml"));
  ASSERT_TRUE(topology.ok()) << topology.outcome.reason;
  EXPECT_TRUE(topology.value.empty());
}

TEST(FixturesTest, GkeTopologyIsTheGkeZoneLabel) {
  auto topology =
      GetStorageClassAllowedTopology(Bundled(kGke), Fixture("nodes/node-gke-europe-west1-b.yaml"));
  ASSERT_TRUE(topology.ok()) << topology.outcome.reason;
  EXPECT_EQ(nlohmann::json(topology.value), nlohmann::json::parse(R"([{"matchLabelExpressions":
      [{"key":"topology.gke.io/zone","values":["europe-west1-b"]}]}])"));
  auto missing =
      GetStorageClassAllowedTopology(Bundled(kGke), Fixture("nodes/node-eu-west-1a.yaml"));
  EXPECT_EQ(missing.outcome.reason,
            "driver pd.csi.storage.gke.io: GetStorageClassAllowedTopology: "
            "metadata.labels.'topology.gke.io/zone' not found");
}

TEST(FixturesTest, EveryDriverGivesTheSamePvcStub) {
  for (const char* provisioner : {kEbs, kStorageOs, kGke}) {
    auto stub = GetPVCStub(Bundled(provisioner), {"nginx-disk-0", "web \"prod\"", "ebs-gp3"});
    ASSERT_TRUE(stub.ok()) << stub.outcome.reason;
    EXPECT_EQ(
        stub.outcome.stdout_data,
        R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"nginx-disk-0",)"
        R"("namespace":"web \"prod\""},"spec":{"storageClassName":"ebs-gp3"}})")
        << provisioner;
  }
}

struct DriverFacts {
  std::string provisioner;
  std::string csi_namespace;
  std::map<std::string, std::string> pod_labels;
  bool file_system_managed;
};

TEST(FixturesTest, NamespaceLabelsFileSystemAndAttachmentMeta) {
  const std::vector<DriverFacts> facts{
      {kEbs, "kube-system", {{"app", "ebs-csi-controller"}}, false},
      {kStorageOs,
       "storageos",
       {{"app", "storageos"}, {"app.kubernetes.io/component", "csi"}},
       true},
      {kGke, "kube-system", {{"k8s-app", "gcp-compute-persistent-disk-csi-driver"}}, true},
  };
  for (const DriverFacts& expected : facts) {
    const Driver& driver = Bundled(expected.provisioner);
    auto csi_namespace = GetCSIDriverNamespace(driver);
    ASSERT_TRUE(csi_namespace.ok()) << csi_namespace.outcome.reason;
    EXPECT_EQ(csi_namespace.value, expected.csi_namespace);
    auto labels = GetCSIDriverPodLabels(driver);
    ASSERT_TRUE(labels.ok()) << labels.outcome.reason;
    EXPECT_EQ(labels.value, expected.pod_labels);
    auto managed = IsFileSystemManaged(driver);
    ASSERT_TRUE(managed.ok()) << managed.outcome.reason;
    EXPECT_EQ(managed.value, expected.file_system_managed) << expected.provisioner;
    auto meta = WaitForVolumeAttachmentMeta(driver);
    ASSERT_TRUE(meta.ok()) << meta.outcome.reason;
    EXPECT_EQ(meta.value, "");
  }
}

TEST(FixturesTest, EbsPreMountFindsTheNvmeDeviceBySerialAndFormats) {
  auto command = GetPreMountCommand(Bundled(kEbs), Fixture("persistentvolumes/ebs-pv.yaml"),
                                    Fixture("volumeattachments/ebs-va.yaml"));
  ASSERT_TRUE(command.ok()) << command.outcome.reason;
  EXPECT_NE(command.value.find("\"vol0123456789abcdef0\""), std::string::npos) << command.value;
  EXPECT_NE(command.value.find("DEV=/dev/"), std::string::npos);
  EXPECT_NE(command.value.find("mkfs.\"$FS\" \"$DEV\" || true"), std::string::npos);

  auto resize =
      GetPreResizeCommand(Bundled(kEbs), Fixture("persistentvolumes/ebs-pv.yaml"), std::nullopt);
  ASSERT_TRUE(resize.ok()) << resize.outcome.reason;
  EXPECT_NE(resize.value.find("vol0123456789abcdef0"), std::string::npos);
  EXPECT_EQ(resize.value.find("mkfs"), std::string::npos);
}

TEST(FixturesTest, PreMountWithoutVolumeHandleIsAnError) {
  for (const char* provisioner : {kEbs, kGke}) {
    auto command =
        GetPreMountCommand(Bundled(provisioner), Fixture("persistentvolumes/no-handle-pv.yaml"),
                           Fixture("volumeattachments/ebs-va.yaml"));
    EXPECT_EQ(command.outcome.kind, OutcomeKind::kError);
    EXPECT_EQ(command.outcome.reason, std::string("driver ") + provisioner +
                                          ": GetPreMountCommand: spec.csi.volumeHandle not found");
  }
}

TEST(FixturesTest, VolumeHandlesCannotInjectShell) {
  nlohmann::json pv = Fixture("persistentvolumes/ebs-pv.yaml");
  pv["spec"]["csi"]["volumeHandle"] = "vol-1;reboot";
  auto ebs = GetPreResizeCommand(Bundled(kEbs), pv, std::nullopt);
  EXPECT_EQ(ebs.outcome.kind, OutcomeKind::kError);
  pv["spec"]["csi"]["volumeHandle"] = "projects/p/zones/z/disks/$(reboot)";
  auto gke = GetPreResizeCommand(Bundled(kGke), pv, std::nullopt);
  EXPECT_EQ(gke.outcome.kind, OutcomeKind::kError);
}

TEST(FixturesTest, GkePreMountUsesTheDiskNameFromTheHandle) {
  auto command = GetPreMountCommand(Bundled(kGke), Fixture("persistentvolumes/gke-pv.yaml"),
                                    Fixture("volumeattachments/ebs-va.yaml"));
  ASSERT_TRUE(command.ok()) << command.outcome.reason;
  EXPECT_EQ(command.value,
            "DEV=$(readlink -f /dev/disk/by-id/google-pvc-0a1b2c3d-4444-5555-6666-777788889999) "
            "&&\n(mkfs.${FS} \"$DEV\" || true)");
}

TEST(FixturesTest, StorageOsResizeNeedsNothing) {
  auto resize = GetPreResizeCommand(Bundled(kStorageOs), Fixture("persistentvolumes/ebs-pv.yaml"),
                                    std::nullopt);
  ASSERT_TRUE(resize.ok()) << resize.outcome.reason;
  EXPECT_EQ(resize.value, "");
}

TEST(FixturesTest, MalformedInputIsAnErrorNotAVerdict) {
  // The host always passes valid JSON; a driver given an object of the wrong
  // shape must still answer, and a non-object must not be called valid.
  for (const char* provisioner : {kEbs, kStorageOs, kGke}) {
    const Outcome outcome = IsStorageClassValid(Bundled(provisioner), nlohmann::json::array());
    EXPECT_EQ(outcome.kind, OutcomeKind::kError) << provisioner << ": " << outcome.reason;
  }
}

}  // namespace
}  // namespace discoblocks::drivers
