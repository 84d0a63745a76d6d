// The Azure Disk, Longhorn (C++), Ceph RBD and TopoLVM (Go) drivers, built from
// source and run by the real host on the shared fixtures: outcomes, messages and
// answers as each driver's README states them.
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "drivers/typed_calls.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::BundledDrivers;
using testing::Fixture;

constexpr const char* kAzure = "disk.csi.azure.com";
constexpr const char* kLonghorn = "driver.longhorn.io";
constexpr const char* kRbd = "rbd.csi.ceph.com";
constexpr const char* kTopolvm = "topolvm.io";

const Driver& Bundled(const std::string& provisioner) {
  const auto driver = BundledDrivers().Find(provisioner);
  if (!driver) throw std::runtime_error("bundled driver not loaded: " + provisioner);
  return *driver;
}

struct ClassCase {
  std::string provisioner;
  std::string storage_class;  // fixture path
  OutcomeKind expected;
  std::string reason;  // for invalid
};

void PrintTo(const ClassCase& c, std::ostream* out) {
  *out << c.provisioner << " " << c.storage_class;
}

class NewDriverClassTest : public ::testing::TestWithParam<ClassCase> {};

TEST_P(NewDriverClassTest, GivesTheDocumentedOutcome) {
  const ClassCase& param = GetParam();
  const Outcome outcome =
      IsStorageClassValid(Bundled(param.provisioner), Fixture(param.storage_class));
  EXPECT_EQ(OutcomeName(outcome.kind), OutcomeName(param.expected)) << outcome.reason;
  EXPECT_EQ(outcome.reason, param.reason);
  EXPECT_TRUE(outcome.warnings.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Drivers, NewDriverClassTest,
    ::testing::Values(
        ClassCase{kAzure, "storageclasses/azure-premium-lrs.yaml", OutcomeKind::kValid, ""},
        ClassCase{kAzure, "storageclasses/azure-zrs-immediate.yaml", OutcomeKind::kValid, ""},
        ClassCase{kAzure, "storageclasses/azure-lrs-immediate.yaml", OutcomeKind::kInvalid,
                  "only volumeBindingMode WaitForFirstConsumer is supported for zonal disks "
                  "(skuName StandardSSD_LRS)"},
        ClassCase{kAzure, "storageclasses/azure-bad-caching.yaml", OutcomeKind::kInvalid,
                  "parameters.cachingMode must be None, ReadOnly or ReadWrite"},
        ClassCase{kAzure, "storageclasses/ebs-no-expansion.yaml", OutcomeKind::kInvalid,
                  "only allowVolumeExpansion true is supported"},
        ClassCase{kLonghorn, "storageclasses/longhorn.yaml", OutcomeKind::kValid, ""},
        ClassCase{kLonghorn, "storageclasses/longhorn-strict-local.yaml", OutcomeKind::kInvalid,
                  "parameters.dataLocality strict-local needs numberOfReplicas \"1\""},
        ClassCase{kLonghorn, "storageclasses/ebs-no-expansion.yaml", OutcomeKind::kInvalid,
                  "only allowVolumeExpansion true is supported"},
        ClassCase{kRbd, "storageclasses/rbd.yaml", OutcomeKind::kValid, ""},
        ClassCase{kRbd, "storageclasses/rbd-nbd.yaml", OutcomeKind::kInvalid,
                  "only the krbd mounter is supported (parameters.mounter absent or rbd)"},
        ClassCase{kRbd, "storageclasses/longhorn.yaml", OutcomeKind::kInvalid,
                  "parameters.clusterID is required"},
        ClassCase{kTopolvm, "storageclasses/topolvm.yaml", OutcomeKind::kValid, ""},
        ClassCase{kTopolvm, "storageclasses/topolvm-immediate.yaml", OutcomeKind::kInvalid,
                  "only volumeBindingMode WaitForFirstConsumer is supported"}),
    [](const auto& test_info) {
      std::string name = test_info.param.provisioner + "_" + test_info.param.storage_class;
      for (char& c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
      }
      return name;
    });

TEST(NewDriversTest, MalformedClassesAreErrorsNotVerdicts) {
  for (const char* provisioner : {kAzure, kLonghorn, kRbd, kTopolvm}) {
    const Outcome outcome = IsStorageClassValid(Bundled(provisioner), nlohmann::json::array());
    EXPECT_EQ(outcome.kind, OutcomeKind::kError) << provisioner << ": " << outcome.reason;
  }
}

TEST(NewDriversTest, Topology) {
  auto azure = GetStorageClassAllowedTopology(Bundled(kAzure),
                                              Fixture("nodes/node-azure-westeurope-2.yaml"));
  ASSERT_TRUE(azure.ok()) << azure.outcome.reason;
  EXPECT_EQ(nlohmann::json(azure.value), nlohmann::json::parse(R"([{"matchLabelExpressions":
      [{"key":"topology.disk.csi.azure.com/zone","values":["westeurope-2"]}]}])"));
  auto azure_elsewhere =
      GetStorageClassAllowedTopology(Bundled(kAzure), Fixture("nodes/node-eu-west-1a.yaml"));
  EXPECT_EQ(azure_elsewhere.outcome.reason,
            "driver disk.csi.azure.com: GetStorageClassAllowedTopology: "
            "metadata.labels.'topology.disk.csi.azure.com/zone' not found");

  auto topolvm = GetStorageClassAllowedTopology(Bundled(kTopolvm),
                                                Fixture("nodes/node-topolvm-worker-1.yaml"));
  ASSERT_TRUE(topolvm.ok()) << topolvm.outcome.reason;
  EXPECT_EQ(nlohmann::json(topolvm.value), nlohmann::json::parse(R"([{"matchLabelExpressions":
      [{"key":"topology.topolvm.io/node","values":["worker-1"]}]}])"));

  for (const char* provisioner : {kLonghorn, kRbd}) {
    auto none =
        GetStorageClassAllowedTopology(Bundled(provisioner), Fixture("nodes/node-eu-west-1a.yaml"));
    ASSERT_TRUE(none.ok()) << none.outcome.reason;
    EXPECT_TRUE(none.value.empty()) << provisioner;
  }
}

TEST(NewDriversTest, PvcStub) {
  for (const char* provisioner : {kAzure, kLonghorn, kRbd, kTopolvm}) {
    auto stub = GetPVCStub(Bundled(provisioner), {"nginx-disk-0", "web", "fast"});
    ASSERT_TRUE(stub.ok()) << stub.outcome.reason;
    EXPECT_EQ(
        stub.outcome.stdout_data,
        R"({"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"nginx-disk-0",)"
        R"("namespace":"web"},"spec":{"storageClassName":"fast"}})")
        << provisioner;
  }
}

TEST(NewDriversTest, NamespaceLabelsFileSystemAndAttachmentMeta) {
  struct Facts {
    std::string provisioner, csi_namespace;
    std::map<std::string, std::string> pod_labels;
    std::string meta_key;
  };
  const Facts facts[] = {
      {kAzure, "kube-system", {{"app", "csi-azuredisk-node"}}, "LUN"},
      {kLonghorn, "longhorn-system", {{"app", "longhorn-csi-plugin"}}, ""},
      {kRbd, "ceph-csi-rbd", {{"app", "ceph-csi-rbd"}, {"component", "nodeplugin"}}, ""},
      {kTopolvm,
       "topolvm-system",
       {{"app.kubernetes.io/name", "topolvm"}, {"app.kubernetes.io/component", "node"}},
       ""},
  };
  for (const Facts& expected : facts) {
    const Driver& driver = Bundled(expected.provisioner);
    auto csi_namespace = GetCSIDriverNamespace(driver);
    ASSERT_TRUE(csi_namespace.ok()) << csi_namespace.outcome.reason;
    EXPECT_EQ(csi_namespace.value, expected.csi_namespace);
    auto labels = GetCSIDriverPodLabels(driver);
    ASSERT_TRUE(labels.ok()) << labels.outcome.reason;
    EXPECT_EQ(labels.value, expected.pod_labels);
    auto managed = IsFileSystemManaged(driver);
    ASSERT_TRUE(managed.ok()) << managed.outcome.reason;
    EXPECT_TRUE(managed.value) << expected.provisioner;  // all four grow the file system
    auto meta = WaitForVolumeAttachmentMeta(driver);
    ASSERT_TRUE(meta.ok()) << meta.outcome.reason;
    EXPECT_EQ(meta.value, expected.meta_key);
  }
}

TEST(NewDriversTest, AzureFindsTheDiskByTheAttachmentsLun) {
  auto mount = GetPreMountCommand(Bundled(kAzure), Fixture("persistentvolumes/azure-pv.yaml"),
                                  Fixture("volumeattachments/azure-va.yaml"));
  ASSERT_TRUE(mount.ok()) << mount.outcome.reason;
  EXPECT_EQ(mount.value.rfind("DEV=$(readlink -f /dev/disk/azure/scsi1/lun2) &&\n", 0), 0U)
      << mount.value;
  EXPECT_NE(mount.value.find("mkfs.${FS} \"$DEV\""), std::string::npos);

  auto resize = GetPreResizeCommand(Bundled(kAzure), Fixture("persistentvolumes/azure-pv.yaml"),
                                    Fixture("volumeattachments/azure-va.yaml"));
  ASSERT_TRUE(resize.ok()) << resize.outcome.reason;
  EXPECT_EQ(resize.value.find("mkfs"), std::string::npos);

  // Without an attachment there is no LUN: an error, not a guess.
  auto none = GetPreResizeCommand(Bundled(kAzure), Fixture("persistentvolumes/azure-pv.yaml"),
                                  std::nullopt);
  EXPECT_EQ(none.outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(none.outcome.reason,
            "driver disk.csi.azure.com: GetPreResizeCommand: VOLUME_ATTACHMENT_JSON is empty: "
            "the disk's LUN comes from its VolumeAttachment");
  nlohmann::json va = Fixture("volumeattachments/azure-va.yaml");
  va["status"]["attachmentMetadata"]["LUN"] = "2; reboot";
  auto unsafe = GetPreMountCommand(Bundled(kAzure), Fixture("persistentvolumes/azure-pv.yaml"), va);
  EXPECT_EQ(unsafe.outcome.kind, OutcomeKind::kError);
}

TEST(NewDriversTest, LonghornDeviceIsNamedAfterTheVolume) {
  auto mount = GetPreMountCommand(Bundled(kLonghorn), Fixture("persistentvolumes/longhorn-pv.yaml"),
                                  Fixture("volumeattachments/longhorn-va.yaml"));
  ASSERT_TRUE(mount.ok()) << mount.outcome.reason;
  EXPECT_EQ(mount.value.rfind("DEV=/dev/longhorn/pvc-7c1d9e2f-3a4b-4c5d-8e6f-0a1b2c3d4e5f &&\n", 0),
            0U)
      << mount.value;
  auto missing =
      GetPreMountCommand(Bundled(kLonghorn), Fixture("persistentvolumes/no-handle-pv.yaml"),
                         Fixture("volumeattachments/longhorn-va.yaml"));
  EXPECT_EQ(missing.outcome.reason,
            "driver driver.longhorn.io: GetPreMountCommand: spec.csi.volumeHandle not found");
}

TEST(NewDriversTest, RbdFindsTheMappedImage) {
  // The host passes the attachment to every pre-mount call; this driver ignores it.
  auto mount = GetPreMountCommand(Bundled(kRbd), Fixture("persistentvolumes/rbd-pv.yaml"),
                                  Fixture("volumeattachments/longhorn-va.yaml"));
  ASSERT_TRUE(mount.ok()) << mount.outcome.reason;
  EXPECT_NE(mount.value.find("\"kubernetes\""), std::string::npos) << mount.value;
  EXPECT_NE(mount.value.find("\"csi-vol-0c4bd9e6-8a1f-11ee-9d0d-0242ac110002\""),
            std::string::npos);
  EXPECT_NE(mount.value.find("DEV=/dev/rbd"), std::string::npos);
  EXPECT_NE(mount.value.find("mkfs.\"$FS\" \"$DEV\" || true"), std::string::npos);
  // The image comes from the volume attributes, which the EBS PV has none of.
  auto other =
      GetPreResizeCommand(Bundled(kRbd), Fixture("persistentvolumes/ebs-pv.yaml"), std::nullopt);
  EXPECT_EQ(other.outcome.reason,
            "driver rbd.csi.ceph.com: GetPreResizeCommand: "
            "spec.csi.volumeAttributes.pool not found");
}

TEST(NewDriversTest, TopolvmFindsTheLogicalVolume) {
  // TopoLVM volumes are never attached; what the host passes is ignored.
  auto mount = GetPreMountCommand(Bundled(kTopolvm), Fixture("persistentvolumes/topolvm-pv.yaml"),
                                  nlohmann::json::object());
  ASSERT_TRUE(mount.ok()) << mount.outcome.reason;
  EXPECT_NE(mount.value.find("/dev/*/0f6a4c2e-5c6b-4b7e-9d3a-1c2b3a4d5e6f"), std::string::npos)
      << mount.value;
  EXPECT_NE(mount.value.find("mkfs.\"$FS\" \"$DEV\" || true"), std::string::npos);
  nlohmann::json pv = Fixture("persistentvolumes/topolvm-pv.yaml");
  pv["spec"]["csi"]["volumeHandle"] = "lv; reboot";
  auto unsafe = GetPreResizeCommand(Bundled(kTopolvm), pv, std::nullopt);
  EXPECT_EQ(unsafe.outcome.kind, OutcomeKind::kError);
}

}  // namespace
}  // namespace discoblocks::drivers
