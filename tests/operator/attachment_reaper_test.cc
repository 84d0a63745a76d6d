// When a VolumeAttachment the disk mounter made is still used: by a live pod
// on its node that names the claim, is in its mounted-in annotation, or uses
// another disk of the same DiskConfig; never for a claim that is gone or pods
// elsewhere, finished or being deleted.
#include "operator/attachment_reaper.h"

#include <map>
#include <memory>

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

using nlohmann::json;

json Attachment(const std::string& node) {
  return {{"metadata",
           {{"name", "csi-abc"},
            {"annotations", {{"discoblocks.ondat.io/claim", "shop/web-0-discoblocks-data-1"}}}}},
          {"spec", {{"nodeName", node}, {"source", {{"persistentVolumeName", "pv-1"}}}}}};
}

json ClaimOf(const std::string& name, const std::string& config, const std::string& mounted_in) {
  json claim = {{"metadata",
                 {{"namespace", "shop"},
                  {"name", name},
                  {"annotations", {{"discoblocks.ondat.io/diskconfig", config}}}}}};
  if (!mounted_in.empty()) {
    claim["metadata"]["annotations"]["discoblocks.ondat.io/mounted-in"] = mounted_in;
  }
  return claim;
}

kube::Informer::Object Pod(const std::string& uid, const std::string& node,
                           const std::string& claim, const std::string& phase = "Running") {
  json pod = {{"metadata", {{"namespace", "shop"}, {"name", "pod-" + uid}, {"uid", uid}}},
              {"spec", {{"nodeName", node}}},
              {"status", {{"phase", phase}}}};
  if (!claim.empty()) {
    pod["spec"]["volumes"] = {{{"name", "d"}, {"persistentVolumeClaim", {{"claimName", claim}}}}};
  }
  return std::make_shared<const json>(std::move(pod));
}

class AttachmentInUseTest : public ::testing::Test {
 protected:
  std::map<std::string, json> claims_ = {
      {"web-0-discoblocks-data-0", ClaimOf("web-0-discoblocks-data-0", "data", "")},
      {"other", ClaimOf("other", "logs", "")}};
  FindClaim find_ = [this](const std::string&, const std::string& name) -> kube::Informer::Object {
    const auto found = claims_.find(name);
    if (found == claims_.end()) return nullptr;
    return std::make_shared<const json>(found->second);
  };
  json added_ = ClaimOf("web-0-discoblocks-data-1", "data", "uid-1");
};

TEST_F(AttachmentInUseTest, APodOnTheNodeInMountedInKeepsIt) {
  EXPECT_TRUE(AttachmentInUse(Attachment("node-a"), &added_, {Pod("uid-1", "node-a", "")}, find_));
}

TEST_F(AttachmentInUseTest, APodNamingTheClaimOrAnotherDiskOfItsConfigKeepsIt) {
  const json claim = ClaimOf("web-0-discoblocks-data-1", "data", "");
  EXPECT_TRUE(AttachmentInUse(Attachment("node-a"), &claim,
                              {Pod("uid-2", "node-a", "web-0-discoblocks-data-1")}, find_));
  // About to be mounted there: the family's pod uses disk 0.
  EXPECT_TRUE(AttachmentInUse(Attachment("node-a"), &claim,
                              {Pod("uid-2", "node-a", "web-0-discoblocks-data-0")}, find_));
  // A disk of another DiskConfig does not count.
  EXPECT_FALSE(
      AttachmentInUse(Attachment("node-a"), &claim, {Pod("uid-2", "node-a", "other")}, find_));
}

TEST_F(AttachmentInUseTest, NothingOnThatNodeOrNothingLiveLetsItGo) {
  EXPECT_FALSE(AttachmentInUse(Attachment("node-a"), &added_, {Pod("uid-1", "node-b", "")}, find_));
  EXPECT_FALSE(AttachmentInUse(Attachment("node-a"), &added_,
                               {Pod("uid-1", "node-a", "", "Succeeded")}, find_));
  auto deleting = std::make_shared<json>(*Pod("uid-1", "node-a", ""));
  (*deleting)["metadata"]["deletionTimestamp"] = "2026-11-30T06:00:00Z";
  EXPECT_FALSE(AttachmentInUse(Attachment("node-a"), &added_, {deleting}, find_));
  EXPECT_FALSE(AttachmentInUse(Attachment("node-a"), &added_, {}, find_));
}

TEST_F(AttachmentInUseTest, AClaimThatIsGoneUsesNothing) {
  EXPECT_FALSE(AttachmentInUse(Attachment("node-a"), nullptr,
                               {Pod("uid-1", "node-a", "web-0-discoblocks-data-1")}, find_));
}

}  // namespace
}  // namespace discoblocks::op
