// The driver.longhorn.io driver's logic (drivers/driver.longhorn.io/longhorn.h)
// through the C++ SDK's adapters, on the host: every rule of its README, and the
// messages for inputs the host never sends.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "longhorn.h"

namespace {

namespace sdk = discoblocks::driver;
using Vars = std::map<std::string, std::string>;

sdk::Result Valid(const std::string& storage_class) {
  const Vars vars{{sdk::kStorageClassVar, storage_class}};
  return sdk::IsStorageClassValid(sdk::Env(&vars), longhorn::IsStorageClassValid);
}

std::string Class(const std::string& parameters, const std::string& extra = "") {
  return R"({"provisioner":"driver.longhorn.io","allowVolumeExpansion":true,"parameters":{)" +
         parameters + "}" + extra + "}";
}

TEST(LonghornDriverTest, ValidClasses) {
  EXPECT_EQ(Valid(Class(R"("numberOfReplicas":"3","staleReplicaTimeout":"2880","fromBackup":"")")),
            sdk::Bool(true));
  EXPECT_EQ(Valid(Class("")), sdk::Bool(true));
  // Both binding modes: a Longhorn volume attaches on any node.
  EXPECT_EQ(Valid(Class("", R"(,"volumeBindingMode":"Immediate")")), sdk::Bool(true));
  EXPECT_EQ(Valid(Class("", R"(,"volumeBindingMode":"WaitForFirstConsumer")")), sdk::Bool(true));
  EXPECT_EQ(Valid(Class(R"("numberOfReplicas":"1","dataLocality":"strict-local")")),
            sdk::Bool(true));
  EXPECT_EQ(Valid(Class(R"("dataLocality":"best-effort","fsType":"xfs","dataEngine":"v2")")),
            sdk::Bool(true));
  EXPECT_EQ(Valid(Class(R"("numberOfReplicas":"20","csi.storage.k8s.io/fstype":"ext4")")),
            sdk::Bool(true));
}

TEST(LonghornDriverTest, InvalidClasses) {
  const char* replicas = "parameters.numberOfReplicas must be a number from 1 to 20";
  for (const char* count : {"0", "21", "-1", "three", "", "1e3", "9999999999"}) {
    EXPECT_EQ(Valid(Class(std::string(R"("numberOfReplicas":")") + count + "\"")),
              sdk::Bool(false, replicas))
        << count;
  }
  EXPECT_EQ(Valid(Class(R"("staleReplicaTimeout":"2 days")")),
            sdk::Bool(false, "parameters.staleReplicaTimeout must be a number of minutes"));
  EXPECT_EQ(
      Valid(Class(R"("dataLocality":"local")")),
      sdk::Bool(false, "parameters.dataLocality must be disabled, best-effort or strict-local"));
  EXPECT_EQ(Valid(Class(R"("dataLocality":"strict-local")")),
            sdk::Bool(false, "parameters.dataLocality strict-local needs numberOfReplicas \"1\""));
  EXPECT_EQ(Valid(Class(R"("numberOfReplicas":"2","dataLocality":"strict-local")")),
            sdk::Bool(false, "parameters.dataLocality strict-local needs numberOfReplicas \"1\""));
  EXPECT_EQ(Valid(Class(R"("fsType":"ext3")")),
            sdk::Bool(false, "parameters.fsType must be ext4 or xfs"));
  EXPECT_EQ(Valid(Class(R"("csi.storage.k8s.io/fstype":"btrfs")")),
            sdk::Bool(false, "parameters.csi.storage.k8s.io/fstype must be ext4 or xfs"));
  EXPECT_EQ(Valid(Class(R"("dataEngine":"v3")")),
            sdk::Bool(false, "parameters.dataEngine must be v1 or v2"));
  EXPECT_EQ(Valid(Class(R"("encrypted":"true")")),
            sdk::Bool(false, "parameters.encrypted true is not supported"));
  EXPECT_EQ(Valid(Class(R"("encrypted":"false")")), sdk::Bool(true));
  EXPECT_EQ(Valid(R"({"parameters":{"numberOfReplicas":"3"}})"),
            sdk::Bool(false, "only allowVolumeExpansion true is supported"));
  EXPECT_EQ(Valid(R"({"allowVolumeExpansion":false})"),
            sdk::Bool(false, "only allowVolumeExpansion true is supported"));
}

TEST(LonghornDriverTest, MalformedClassesAreErrors) {
  EXPECT_EQ(Valid(R"({"parameters":"numberOfReplicas=3"})"),
            sdk::Fail("STORAGE_CLASS_JSON: parameters is a string, not an object"));
  EXPECT_EQ(Valid(R"({"allowVolumeExpansion":1})"),
            sdk::Fail("STORAGE_CLASS_JSON: allowVolumeExpansion is a number, not a boolean"));
  EXPECT_TRUE(Valid("{").out.empty());
  EXPECT_NE(Valid("{").err.find("STORAGE_CLASS_JSON is not valid JSON"), std::string::npos);
}

TEST(LonghornDriverTest, NoTopology) {
  const Vars vars{
      {sdk::kNodeVar, R"({"metadata":{"labels":{"topology.kubernetes.io/zone":"a"}}})"}};
  EXPECT_EQ(sdk::GetStorageClassAllowedTopology(sdk::Env(&vars), longhorn::AllowedTopology),
            sdk::Nothing());
  // The node is still read: a missing one is an error, as for every driver.
  const Vars none;
  EXPECT_EQ(sdk::GetStorageClassAllowedTopology(sdk::Env(&none), longhorn::AllowedTopology),
            sdk::Fail("NODE_JSON is not set"));
}

sdk::Result Resize(const std::string& handle) {
  const Vars vars{
      {sdk::kPersistentVolumeVar, R"({"spec":{"csi":{"volumeHandle":")" + handle + "\"}}}"}};
  return sdk::GetPreResizeCommand(sdk::Env(&vars), longhorn::PreResizeCommand);
}

TEST(LonghornDriverTest, DeviceIsNamedAfterTheVolume) {
  const std::string find =
      "DEV=/dev/longhorn/pvc-1a2b &&\n{ [ -b \"$DEV\" ] || { echo \"no Longhorn device "
      "/dev/longhorn/pvc-1a2b (is the volume attached to this node?)\" >&2; false; }; }";
  EXPECT_EQ(Resize("pvc-1a2b"), sdk::Text(find));
  const Vars vars{{sdk::kPersistentVolumeVar, R"({"spec":{"csi":{"volumeHandle":"pvc-1a2b"}}})"},
                  {sdk::kVolumeAttachmentVar, ""}};
  EXPECT_EQ(
      sdk::GetPreMountCommand(sdk::Env(&vars), longhorn::PreMountCommand),
      sdk::Text(find +
                " &&\n{ blkid -p \"$DEV\" >/dev/null 2>&1 || mkfs.${FS} \"$DEV\" || true; }"));
}

TEST(LonghornDriverTest, BadVolumeHandlesAreErrors) {
  EXPECT_EQ(Resize(""), sdk::Fail("spec.csi.volumeHandle not found"));
  for (const char* handle : {"pvc-1;reboot", "$(reboot)", "../sda", "-rf", ".", "a b", "a/b"}) {
    EXPECT_EQ(Resize(handle),
              sdk::Fail(std::string("PERSISTENT_VOLUME_JSON: spec.csi.volumeHandle \"") + handle +
                        "\" is not a Longhorn volume name"))
        << handle;
  }
  EXPECT_FALSE(Resize(std::string(254, 'a')).err.empty());
  EXPECT_TRUE(Resize(std::string(253, 'a')).err.empty());
}

TEST(LonghornDriverTest, Constants) {
  EXPECT_EQ(sdk::GetCSIDriverNamespace(sdk::Env(), longhorn::Namespace),
            sdk::Text("longhorn-system"));
  EXPECT_EQ(sdk::GetCSIDriverPodLabels(sdk::Env(), longhorn::PodLabels),
            sdk::Text(R"({"app":"longhorn-csi-plugin"})"));
  EXPECT_EQ(sdk::IsFileSystemManaged(sdk::Env(), longhorn::FileSystemManaged), sdk::Text("true"));
  EXPECT_EQ(sdk::WaitForVolumeAttachmentMeta(sdk::Env(), longhorn::AttachmentMetaKey),
            sdk::Nothing());
}

}  // namespace
