// The pd.csi.storage.gke.io driver's logic (drivers/pd.csi.storage.gke.io/pd.h)
// through the C++ SDK's adapters, on the host: the messages its README promises
// for malformed input, which the host (always passing valid JSON) cannot reach.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "pd.h"

namespace {

namespace sdk = discoblocks::driver;
using Vars = std::map<std::string, std::string>;

sdk::Result Valid(const std::string& storage_class) {
  const Vars vars{{sdk::kStorageClassVar, storage_class}};
  return sdk::IsStorageClassValid(sdk::Env(&vars), pd::IsStorageClassValid);
}

sdk::Result Resize(const std::string& pv) {
  const Vars vars{{sdk::kPersistentVolumeVar, pv}};
  return sdk::GetPreResizeCommand(sdk::Env(&vars), pd::PreResizeCommand);
}

std::string Pv(const std::string& handle) {
  return R"({"spec":{"csi":{"volumeHandle":")" + handle + R"("}}})";
}

TEST(PdDriverTest, StorageClassRules) {
  const char* wffc = "only volumeBindingMode WaitForFirstConsumer is supported";
  const char* expansion = "only allowVolumeExpansion true is supported";
  EXPECT_EQ(Valid(R"({"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true})"),
            sdk::Text("true"));
  EXPECT_EQ(Valid(R"({"allowVolumeExpansion":true})"), sdk::Bool(false, wffc));  // absent
  EXPECT_EQ(Valid(R"({"volumeBindingMode":null,"allowVolumeExpansion":true})"),
            sdk::Bool(false, wffc));
  EXPECT_EQ(Valid(R"({"volumeBindingMode":"WaitForFirstConsumer"})"), sdk::Bool(false, expansion));
  EXPECT_EQ(Valid(R"({"volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":false})"),
            sdk::Bool(false, expansion));
  // Wrong types are errors, never verdicts, even when another rule fails first.
  EXPECT_EQ(Valid(R"({"volumeBindingMode":"Immediate","allowVolumeExpansion":"true"})"),
            sdk::Fail("STORAGE_CLASS_JSON: allowVolumeExpansion is a string, not a boolean"));
  EXPECT_EQ(Valid(R"({"volumeBindingMode":1})"),
            sdk::Fail("STORAGE_CLASS_JSON: volumeBindingMode is a number, not a string"));
  EXPECT_EQ(Valid("[]"), sdk::Fail("STORAGE_CLASS_JSON is a JSON array, not an object"));
}

TEST(PdDriverTest, TopologyIsTheGkeZone) {
  auto topology = [](const std::string& node) {
    const Vars vars{{sdk::kNodeVar, node}};
    return sdk::GetStorageClassAllowedTopology(sdk::Env(&vars), pd::AllowedTopology);
  };
  EXPECT_EQ(topology(R"({"metadata":{"labels":{"topology.gke.io/zone":"europe-west1-b"}}})"),
            sdk::Text(R"([{"matchLabelExpressions":[{"key":"topology.gke.io/zone",)"
                      R"("values":["europe-west1-b"]}]}])"));
  const sdk::Result not_found = sdk::Fail("metadata.labels.'topology.gke.io/zone' not found");
  EXPECT_EQ(topology(R"({"metadata":{"labels":{"topology.gke.io/zone":""}}})"), not_found);
  EXPECT_EQ(topology(R"({"metadata":{"labels":null}})"), not_found);
  EXPECT_EQ(topology(R"({"metadata":[]})"),
            sdk::Fail("NODE_JSON: metadata is an array, not an object"));
}

TEST(PdDriverTest, DeviceFromTheVolumeHandle) {
  EXPECT_EQ(Resize(Pv("projects/p/zones/europe-west1-b/disks/pvc-1")),
            sdk::Text("DEV=$(readlink -f /dev/disk/by-id/google-pvc-1)"));
  EXPECT_EQ(Resize(Pv("projects/p/regions/europe-west1/disks/pvc-1")),
            sdk::Text("DEV=$(readlink -f /dev/disk/by-id/google-pvc-1_regional)"));

  const Vars vars{{sdk::kPersistentVolumeVar, Pv("projects/p/zones/z/disks/d")}};
  EXPECT_EQ(sdk::GetPreMountCommand(sdk::Env(&vars), pd::PreMountCommand),
            sdk::Text("DEV=$(readlink -f /dev/disk/by-id/google-d) &&\n"
                      "(mkfs.${FS} \"$DEV\" || true)"));
}

TEST(PdDriverTest, BadVolumeHandlesAreErrorsThatQuoteThem) {
  const sdk::Result not_found = sdk::Fail("spec.csi.volumeHandle not found");
  EXPECT_EQ(Resize(Pv("")), not_found);
  EXPECT_EQ(Resize(R"({"spec":{"csi":{}}})"), not_found);
  EXPECT_EQ(Resize(R"({"spec":{"csi":null}})"), not_found);
  EXPECT_EQ(Resize(R"({"spec":{"csi":[]}})"),
            sdk::Fail("PERSISTENT_VOLUME_JSON: spec.csi is an array, not an object"));
  const std::string form =
      " is not of the form projects/<project>/zones/<zone>/disks/<name> or "
      "projects/<project>/regions/<region>/disks/<name>";
  for (const char* handle : {"projects/p/zones/z/disks", "projects/p/zones/z/disks/d/x",
                             "projects//zones/z/disks/d", "projects/p/cities/z/disks/d",
                             "projects/p/zones//disks/d", "projects/p/zones/z/disks/", "vol-1"}) {
    EXPECT_EQ(Resize(Pv(handle)),
              sdk::Fail(std::string("PERSISTENT_VOLUME_JSON: spec.csi.volumeHandle \"") + handle +
                        "\"" + form))
        << handle;
  }
  EXPECT_EQ(Resize(Pv("projects/p/zones/z/disks/$(reboot)")),
            sdk::Fail("PERSISTENT_VOLUME_JSON: spec.csi.volumeHandle "
                      "\"projects/p/zones/z/disks/$(reboot)\" has a disk name with characters "
                      "outside [a-z0-9-]"));
  // A huge handle is cut in the message.
  const sdk::Result huge = Resize(Pv(std::string(300, 'a')));
  EXPECT_EQ(huge.err.find(std::string(201, 'a')), std::string::npos);
  EXPECT_NE(huge.err.find(std::string(200, 'a') + "\"..."), std::string::npos);
}

// Whole GiB for every disk type; no minimum increase or rate limit declared.
TEST(PdDriverTest, ResizePolicyIsWholeGiB) {
  for (const char* sc : {R"({"parameters":{"type":"pd-balanced"}})",
                         R"({"parameters":{"type":"hyperdisk-balanced"}})", "{}"}) {
    const Vars vars{{sdk::kStorageClassVar, sc}};
    EXPECT_EQ(sdk::GetResizePolicy(sdk::Env(&vars), pd::ResizePolicy),
              sdk::Text(R"({"granularity":"1Gi"})"))
        << sc;
  }
  const Vars none;
  EXPECT_EQ(sdk::GetResizePolicy(sdk::Env(&none), pd::ResizePolicy),
            sdk::Fail("STORAGE_CLASS_JSON is not set"));
}

TEST(PdDriverTest, Constants) {
  EXPECT_EQ(sdk::GetCSIDriverNamespace(sdk::Env(), pd::Namespace), sdk::Text("kube-system"));
  EXPECT_EQ(sdk::GetCSIDriverPodLabels(sdk::Env(), pd::PodLabels),
            sdk::Text(R"({"k8s-app":"gcp-compute-persistent-disk-csi-driver"})"));
  EXPECT_EQ(sdk::IsFileSystemManaged(sdk::Env(), pd::FileSystemManaged), sdk::Text("true"));
  EXPECT_EQ(sdk::WaitForVolumeAttachmentMeta(sdk::Env(), pd::AttachmentMetaKey), sdk::Nothing());
}

}  // namespace
