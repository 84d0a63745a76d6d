#include "operator/disk_mount_plan.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "util/sha256.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

admission::DiskConfig Config(const char* mode) {
  admission::DiskConfig config;
  config.ns = "shop";
  config.name = "db";
  config.availability_mode = mode;
  return config;
}

// A claim of DiskConfig shop/db with `index`, owned by the pod of `pod_uid`.
json Claim(const std::string& name, int index, const std::string& pod_uid) {
  json claim = {{"metadata",
                 {{"name", name},
                  {"namespace", "shop"},
                  {"uid", "uid-" + name},
                  {"labels", {{"discoblocks", "db"}, {"discoblocks-index", std::to_string(index)}}},
                  {"annotations", {{"discoblocks.ondat.io/diskconfig", "db"}}}}}};
  if (index > 0) claim["metadata"]["labels"]["discoblocks-parent"] = "web-1-db";
  claim["metadata"]["ownerReferences"] =
      json::array({{{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", "p"}, {"uid", pod_uid}}});
  return claim;
}

kube::Informer::Object Pod(const std::string& name, const std::string& uid,
                           const std::vector<std::string>& claims,
                           const std::string& phase = "Running") {
  json pod = {{"metadata", {{"name", name}, {"namespace", "shop"}, {"uid", uid}}},
              {"spec", {{"nodeName", "node-1"}, {"volumes", json::array()}}},
              {"status", {{"phase", phase}}}};
  for (const std::string& claim : claims) {
    pod["spec"]["volumes"].push_back(
        {{"name", "v-" + claim}, {"persistentVolumeClaim", {{"claimName", claim}}}});
  }
  return std::make_shared<const json>(std::move(pod));
}

class PodsToMountIntoTest : public ::testing::Test {
 protected:
  std::map<std::string, json> claims_;
  FindClaim find_ = [this](const std::string& ns, const std::string& name) {
    const auto found = claims_.find(ns + "/" + name);
    return found == claims_.end() ? nullptr : std::make_shared<const json>(found->second);
  };
};

TEST_F(PodsToMountIntoTest, TheRunningOwnerOfTheFamilyThatLacksItGetsIt) {
  claims_["shop/web-1-db"] = Claim("web-1-db", 0, "pod-1");
  claims_["shop/web-2-db"] = Claim("web-2-db", 0, "pod-2");
  const json added = Claim("web-1-db-1", 1, "pod-1");
  const std::vector<kube::Informer::Object> pods = {
      Pod("web-1", "pod-1", {"web-1-db"}), Pod("web-2", "pod-2", {"web-2-db"}),  // another family
      Pod("web-3", "pod-3", {"web-1-db"}, "Pending"),                            // not running
      Pod("web-4", "pod-4", {"web-1-db", "web-1-db-1"}),                         // names it: has it
  };
  const auto wanted = PodsToMountInto(Config("ReadWriteOnce"), added, pods, find_);
  ASSERT_EQ(wanted.size(), 1u);
  EXPECT_EQ((*wanted[0])["metadata"]["name"], "web-1");
}

TEST_F(PodsToMountIntoTest, PodsThatHaveItOrFailedAreLeftOut) {
  claims_["shop/web-1-db"] = Claim("web-1-db", 0, "pod-1");
  json added = Claim("web-1-db-1", 1, "pod-1");
  const std::vector<kube::Informer::Object> pods = {Pod("web-1", "pod-1", {"web-1-db"})};
  added["metadata"]["annotations"][kMountedInAnnotation] = "pod-0 pod-1";
  EXPECT_TRUE(PodsToMountInto(Config("ReadWriteOnce"), added, pods, find_).empty());
  added["metadata"]["annotations"].erase(kMountedInAnnotation);
  added["metadata"]["annotations"][kMountFailedAnnotation] = "pod-1";
  EXPECT_TRUE(PodsToMountInto(Config("ReadWriteOnce"), added, pods, find_).empty());
}

TEST_F(PodsToMountIntoTest, ClaimsOfAnotherDiskConfigDoNotMakeAFamily) {
  json other = Claim("web-1-logs", 0, "pod-1");
  other["metadata"]["labels"]["discoblocks"] = "logs";
  other["metadata"]["annotations"]["discoblocks.ondat.io/diskconfig"] = "logs";
  claims_["shop/web-1-logs"] = other;
  const json added = Claim("web-1-db-1", 1, "pod-1");
  const std::vector<kube::Informer::Object> pods = {Pod("web-1", "pod-1", {"web-1-logs"})};
  EXPECT_TRUE(PodsToMountInto(Config("ReadWriteOnce"), added, pods, find_).empty());
}

TEST(DiskMountPlanTest, GenericEphemeralVolumesNameTheirClaimAfterThePod) {
  const json pod = {{"metadata", {{"name", "web-1"}}},
                    {"spec",
                     {{"volumes",
                       {{{"name", "data"}, {"ephemeral", json::object()}},
                        {{"name", "old"}, {"persistentVolumeClaim", {{"claimName", "c"}}}},
                        {{"name", "token"}, {"projected", json::object()}}}}}}};
  EXPECT_EQ(ClaimNamesOf(pod), (std::vector<std::string>{"web-1-data", "c"}));
}

TEST(DiskMountPlanTest, PodUidsAreASortedSetInTheAnnotation) {
  json claim = {{"metadata", {{"annotations", {{kMountedInAnnotation, " b  a "}}}}}};
  EXPECT_EQ(PodUidsIn(claim, kMountedInAnnotation), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(WithPodUid(claim, kMountedInAnnotation, "c"), "a b c");
  EXPECT_EQ(WithPodUid(claim, kMountedInAnnotation, "a"), "a b");
  EXPECT_EQ(WithPodUid(json::object(), kMountFailedAnnotation, "x"), "x");
}

TEST(DiskMountPlanTest, TheVolumeAttachmentIsNamedAsTheKubeletNamesIt) {
  const json pv = {{"metadata", {{"name", "pvc-1"}}},
                   {"spec", {{"csi", {{"driver", "ebs.csi.aws.com"}, {"volumeHandle", "vol-9"}}}}}};
  auto attachment = VolumeAttachmentFor(pv, "node-1");
  ASSERT_TRUE(attachment) << attachment.error().message;
  // kubernetes pkg/volume/csi: "csi-" + sha256(handle + driver + node).
  EXPECT_EQ((*attachment)["metadata"]["name"], "csi-" + Sha256Hex("vol-9ebs.csi.aws.comnode-1"));
  EXPECT_EQ((*attachment)["spec"]["attacher"], "ebs.csi.aws.com");
  EXPECT_EQ((*attachment)["spec"]["nodeName"], "node-1");
  EXPECT_EQ((*attachment)["spec"]["source"]["persistentVolumeName"], "pvc-1");
  EXPECT_TRUE(SameAttachment(*attachment, *attachment));
  json elsewhere = *attachment;
  elsewhere["spec"]["nodeName"] = "node-2";
  EXPECT_FALSE(SameAttachment(elsewhere, *attachment));

  EXPECT_FALSE(VolumeAttachmentFor({{"metadata", {{"name", "nfs"}}}}, "node-1"));
  EXPECT_FALSE(VolumeAttachmentFor(pv, ""));
}

TEST(DiskMountPlanTest, AttachedWaitsForTheDriversMetadataKey) {
  json attachment = {{"status", {{"attached", false}}}};
  EXPECT_FALSE(Attached(attachment, ""));
  attachment["status"]["attached"] = true;
  EXPECT_TRUE(Attached(attachment, ""));
  EXPECT_FALSE(Attached(attachment, "devicePath"));
  attachment["status"]["attachmentMetadata"] = {{"devicePath", "/dev/xvdb"}};
  EXPECT_TRUE(Attached(attachment, "devicePath"));
  EXPECT_FALSE(Attached(json::object(), ""));
}

TEST(DiskMountPlanTest, OnlyAttachRequiredFalseSkipsTheAttachment) {
  EXPECT_TRUE(AttachRequired(nullptr));
  const json unset = {{"spec", json::object()}};
  EXPECT_TRUE(AttachRequired(&unset));
  const json topolvm = {{"spec", {{"attachRequired", false}}}};
  EXPECT_FALSE(AttachRequired(&topolvm));
}

TEST(DiskMountPlanTest, EveryContainerNeedsItsIdBeforeTheJob) {
  json pod = {
      {"spec", {{"containers", {{{"name", "app"}}, {{"name", "sidecar"}}}}}},
      {"status", {{"containerStatuses", {{{"name", "app"}, {"containerID", "containerd://a1"}}}}}}};
  EXPECT_FALSE(MountTargets(pod, "/data-1"));
  pod["status"]["containerStatuses"].push_back(
      {{"name", "sidecar"}, {"containerID", "containerd://b2"}});
  auto targets = MountTargets(pod, "/data-1");
  ASSERT_TRUE(targets) << targets.error().message;
  ASSERT_EQ(targets->size(), 2u);
  EXPECT_EQ((*targets)[1].container, "sidecar");
  EXPECT_EQ((*targets)[1].container_id, "containerd://b2");
  EXPECT_EQ((*targets)[1].mount_path, "/data-1");
}

}  // namespace
}  // namespace discoblocks::op
