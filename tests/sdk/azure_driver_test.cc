// The disk.csi.azure.com driver's logic (drivers/disk.csi.azure.com/azure.h)
// through the C++ SDK's adapters, on the host: every rule of its README, and the
// messages for inputs the host never sends.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "azure.h"

namespace {

namespace sdk = discoblocks::driver;
using Vars = std::map<std::string, std::string>;

sdk::Result Valid(const std::string& storage_class) {
  const Vars vars{{sdk::kStorageClassVar, storage_class}};
  return sdk::IsStorageClassValid(sdk::Env(&vars), azure::IsStorageClassValid);
}

// A class with the given parameters (a JSON object's members) and mode.
std::string Class(const std::string& parameters, const std::string& mode = "WaitForFirstConsumer",
                  const std::string& expansion = "true") {
  return R"({"provisioner":"disk.csi.azure.com","parameters":{)" + parameters +
         R"(},"volumeBindingMode":")" + mode + R"(","allowVolumeExpansion":)" + expansion + "}";
}

TEST(AzureDriverTest, ValidClasses) {
  EXPECT_EQ(Valid(Class("")), sdk::Bool(true));
  EXPECT_EQ(Valid(Class(R"("skuName":"Premium_LRS","cachingMode":"ReadOnly","fsType":"xfs")")),
            sdk::Bool(true));
  // Parameter names are case-insensitive upstream; SKU values too.
  EXPECT_EQ(Valid(Class(R"("skuname":"premium_lrs","KIND":"Managed")")), sdk::Bool(true));
  EXPECT_EQ(Valid(Class(R"("storageAccountType":"UltraSSD_LRS","cachingMode":"None")")),
            sdk::Bool(true));
  EXPECT_EQ(Valid(Class(R"("csi.storage.k8s.io/fstype":"ext2")")), sdk::Bool(true));
  // Zone-redundant disks attach in every zone: any binding mode.
  EXPECT_EQ(Valid(Class(R"("skuName":"Premium_ZRS")", "Immediate")), sdk::Bool(true));
  EXPECT_EQ(Valid(R"({"parameters":{"skuName":"StandardSSD_ZRS"},"allowVolumeExpansion":true})"),
            sdk::Bool(true));
}

TEST(AzureDriverTest, InvalidClasses) {
  const std::string zonal =
      "only volumeBindingMode WaitForFirstConsumer is supported for zonal disks (skuName ";
  EXPECT_EQ(Valid(Class("", "Immediate")), sdk::Bool(false, zonal + "StandardSSD_LRS)"));
  EXPECT_EQ(Valid(R"({"parameters":{"skuName":"Premium_LRS"},"allowVolumeExpansion":true})"),
            sdk::Bool(false, zonal + "Premium_LRS)"));
  EXPECT_EQ(Valid(Class("", "WaitForFirstConsumer", "false")),
            sdk::Bool(false, "only allowVolumeExpansion true is supported"));
  EXPECT_EQ(Valid(R"({"volumeBindingMode":"WaitForFirstConsumer"})"),
            sdk::Bool(false, "only allowVolumeExpansion true is supported"));
  EXPECT_EQ(
      Valid(Class(R"("skuName":"Gold_LRS")")),
      sdk::Bool(false,
                "parameters.skuName \"Gold_LRS\" is not one of Standard_LRS, Premium_LRS, "
                "StandardSSD_LRS, UltraSSD_LRS, PremiumV2_LRS, Premium_ZRS, StandardSSD_ZRS"));
  EXPECT_EQ(Valid(Class(R"("skuName":"Premium_LRS","storageAccountType":"Standard_LRS")")),
            sdk::Bool(false, "parameters skuName and storageAccountType disagree"));
  EXPECT_EQ(Valid(Class(R"("skuName":"Premium_LRS","skuname":"Premium_LRS")")),
            sdk::Bool(false, "parameters 'skuName' and 'skuname' name the same parameter"));
  EXPECT_EQ(Valid(Class(R"("kind":"dedicated")")),
            sdk::Bool(false, "only parameters.kind managed is supported"));
  EXPECT_EQ(Valid(Class(R"("cachingMode":"readonly")")),
            sdk::Bool(false, "parameters.cachingMode must be None, ReadOnly or ReadWrite"));
  EXPECT_EQ(Valid(Class(R"("fsType":"btrfs")")),
            sdk::Bool(false, "parameters.fsType must be ext4, ext3, ext2 or xfs"));
  EXPECT_EQ(
      Valid(Class(R"("csi.storage.k8s.io/fstype":"ntfs")")),
      sdk::Bool(false, "parameters.csi.storage.k8s.io/fstype must be ext4, ext3, ext2 or xfs"));
}

TEST(AzureDriverTest, MalformedClassesAreErrors) {
  EXPECT_EQ(Valid(R"({"parameters":[]})"),
            sdk::Fail("STORAGE_CLASS_JSON: parameters is an array, not an object"));
  EXPECT_EQ(Valid(R"({"volumeBindingMode":"Immediate","allowVolumeExpansion":"yes"})"),
            sdk::Fail("STORAGE_CLASS_JSON: allowVolumeExpansion is a string, not a boolean"));
  EXPECT_EQ(Valid("[]"), sdk::Fail("STORAGE_CLASS_JSON is a JSON array, not an object"));
  const Vars none;
  EXPECT_EQ(sdk::IsStorageClassValid(sdk::Env(&none), azure::IsStorageClassValid),
            sdk::Fail("STORAGE_CLASS_JSON is not set"));
}

sdk::Result Topology(const std::string& node) {
  const Vars vars{{sdk::kNodeVar, node}};
  return sdk::GetStorageClassAllowedTopology(sdk::Env(&vars), azure::AllowedTopology);
}

TEST(AzureDriverTest, TopologyIsTheDriversZoneLabel) {
  EXPECT_EQ(
      Topology(R"({"metadata":{"labels":{"topology.disk.csi.azure.com/zone":"westeurope-2"}}})"),
      sdk::Text(R"([{"matchLabelExpressions":[{"key":"topology.disk.csi.azure.com/zone",)"
                R"("values":["westeurope-2"]}]}])"));
  // An empty label is a node in a region without zones: no constraint.
  EXPECT_EQ(Topology(R"({"metadata":{"labels":{"topology.disk.csi.azure.com/zone":""}}})"),
            sdk::Nothing());
  EXPECT_EQ(Topology(R"({"metadata":{"labels":{"topology.kubernetes.io/zone":"westeurope-2"}}})"),
            sdk::Fail("metadata.labels.'topology.disk.csi.azure.com/zone' not found"));
  EXPECT_EQ(Topology(R"({"metadata":{"labels":{"topology.disk.csi.azure.com/zone":2}}})"),
            sdk::Fail("NODE_JSON: metadata.labels.'topology.disk.csi.azure.com/zone' is a number, "
                      "not a string"));
}

constexpr const char* kPv =
    R"({"metadata":{"name":"pvc-1"},"spec":{"csi":{"volumeHandle":)"
    R"("/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/pvc-1"}}})";

std::string Attachment(const std::string& lun, const std::string& pv = "pvc-1") {
  return R"({"spec":{"attacher":"disk.csi.azure.com","source":{"persistentVolumeName":")" + pv +
         R"("}},"status":{"attached":true,"attachmentMetadata":{"LUN":)" + lun + "}}}";
}

sdk::Result Resize(const std::string& attachment) {
  Vars vars{{sdk::kPersistentVolumeVar, kPv}};
  if (!attachment.empty()) vars[sdk::kVolumeAttachmentVar] = attachment;
  return sdk::GetPreResizeCommand(sdk::Env(&vars), azure::PreResizeCommand);
}

TEST(AzureDriverTest, DeviceFromTheAttachmentsLun) {
  const std::string find_lun3 =
      "DEV=$(readlink -f /dev/disk/azure/scsi1/lun3) &&\n"
      "{ [ -b \"$DEV\" ] || { echo \"no disk at /dev/disk/azure/scsi1/lun3\" >&2; false; }; }";
  EXPECT_EQ(Resize(Attachment("\"3\"")), sdk::Text(find_lun3));
  EXPECT_NE(Resize(Attachment("\"63\"")).out.find("/lun63)"), std::string::npos);
  EXPECT_NE(Resize(Attachment("\"07\"")).out.find("/lun7)"), std::string::npos);

  const Vars vars{{sdk::kPersistentVolumeVar, kPv},
                  {sdk::kVolumeAttachmentVar, Attachment("\"3\"")}};
  EXPECT_EQ(
      sdk::GetPreMountCommand(sdk::Env(&vars), azure::PreMountCommand),
      sdk::Text(find_lun3 +
                " &&\n{ blkid -p \"$DEV\" >/dev/null 2>&1 || mkfs.${FS} \"$DEV\" || true; }"));
}

TEST(AzureDriverTest, BadOrMissingLunsAreErrors) {
  EXPECT_EQ(Resize(""), sdk::Fail("VOLUME_ATTACHMENT_JSON is empty: the disk's LUN comes from its "
                                  "VolumeAttachment"));
  EXPECT_EQ(Resize(R"({"status":{"attached":false}})"),
            sdk::Fail("status.attachmentMetadata.LUN not found"));
  EXPECT_EQ(Resize(Attachment("\"\"")), sdk::Fail("status.attachmentMetadata.LUN not found"));
  for (const char* lun : {"64", "100", "-1", "3;reboot", "$(reboot)", " 3"}) {
    EXPECT_EQ(Resize(Attachment(std::string("\"") + lun + "\"")),
              sdk::Fail(std::string("status.attachmentMetadata.LUN \"") + lun +
                        "\" is not a LUN from 0 to 63"))
        << lun;
  }
  // The API server only stores strings there; anything else is not a LUN.
  EXPECT_EQ(Resize(Attachment("3")), sdk::Fail("status.attachmentMetadata.LUN not found"));
  EXPECT_EQ(Resize(R"({"status":{"attachmentMetadata":[]}})"),
            sdk::Fail("VOLUME_ATTACHMENT_JSON: status.attachmentMetadata is an array, not an "
                      "object"));
  EXPECT_EQ(Resize(Attachment("\"1\"", "pvc-2")),
            sdk::Fail("the VolumeAttachment is for PersistentVolume \"pvc-2\", not \"pvc-1\""));
  EXPECT_EQ(Resize("[]"), sdk::Fail("VOLUME_ATTACHMENT_JSON is a JSON array, not an object"));
}

// Whole GiB for every SKU; no minimum increase or rate limit declared.
TEST(AzureDriverTest, ResizePolicyIsWholeGiB) {
  for (const char* sc : {R"({"parameters":{"skuName":"Premium_LRS"}})",
                         R"({"parameters":{"skuName":"UltraSSD_LRS"}})", "{}"}) {
    const Vars vars{{sdk::kStorageClassVar, sc}};
    EXPECT_EQ(sdk::GetResizePolicy(sdk::Env(&vars), azure::ResizePolicy),
              sdk::Text(R"({"granularity":"1Gi"})"))
        << sc;
  }
}

TEST(AzureDriverTest, Constants) {
  EXPECT_EQ(sdk::GetCSIDriverNamespace(sdk::Env(), azure::Namespace), sdk::Text("kube-system"));
  EXPECT_EQ(sdk::GetCSIDriverPodLabels(sdk::Env(), azure::PodLabels),
            sdk::Text(R"({"app":"csi-azuredisk-node"})"));
  EXPECT_EQ(sdk::IsFileSystemManaged(sdk::Env(), azure::FileSystemManaged), sdk::Text("true"));
  EXPECT_EQ(sdk::WaitForVolumeAttachmentMeta(sdk::Env(), azure::AttachmentMetaKey),
            sdk::Text("LUN"));
}

}  // namespace
