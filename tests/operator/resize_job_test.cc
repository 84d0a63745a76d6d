// The file system resize Job and when a claim is due for one: the driver's
// fragment and the file system's own tool in its script, one Job per claim,
// size and node, nothing unsafe put into the script; a claim is due once
// the autoscaler's grow has reached the volume and until its Job reported.
#include "operator/resize_job.h"

#include <gtest/gtest.h>

#include "operator/filesystem_grower.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

ResizeJobInput Input() {
  ResizeJobInput input;
  input.job_namespace = "discoblocks-system";
  input.claim_namespace = "db";
  input.claim_name = "data-0";
  input.claim_uid = "3f1c-uid";
  input.node = "node-a";
  input.pv_name = "pvc-123";
  input.provisioner = "ebs.csi.aws.com";
  input.pre_resize_command = "DEV=/dev/nvme1n1";
  input.target_size = "2Gi";
  input.image = "busybox:1.37.0";
  return input;
}

std::string ScriptOf(const json& job) {
  return job["spec"]["template"]["spec"]["containers"][0]["command"][2].get<std::string>();
}

TEST(ResizeJobTest, RunsTheDriversFragmentThenTheFileSystemsTool) {
  const auto job = ResizeJob(Input());
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ((*job)["metadata"]["name"], ResizeJobName("3f1c-uid", "2Gi", "node-a"));
  EXPECT_EQ((*job)["metadata"]["namespace"], "discoblocks-system");
  EXPECT_EQ((*job)["metadata"]["labels"]["discoblocks.ondat.io/job"], "resize");
  EXPECT_EQ((*job)["metadata"]["annotations"]["discoblocks.ondat.io/claim-uid"], "3f1c-uid");
  const json& pod = (*job)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["nodeName"], "node-a");
  EXPECT_EQ(pod["hostPID"], true);
  EXPECT_EQ(pod["containers"][0]["securityContext"]["privileged"], true);
  const std::string script = ScriptOf(*job);
  EXPECT_NE(script.find("PV_NAME='pvc-123'\nFS=ext4\n"), std::string::npos) << script;
  const auto fragment = script.find("DEV=/dev/nvme1n1");
  const auto grow = script.find("chroot /host resize2fs \"$DEV\"");
  ASSERT_NE(fragment, std::string::npos) << script;
  ASSERT_NE(grow, std::string::npos) << script;
  EXPECT_LT(fragment, grow);
  EXPECT_NE(script.find("chroot /host xfs_growfs"), std::string::npos);
}

TEST(ResizeJobTest, OneJobPerClaimSizeAndNode) {
  const std::string name = ResizeJobName("uid", "2Gi", "node-a");
  EXPECT_EQ(name, ResizeJobName("uid", "2Gi", "node-a"));
  EXPECT_NE(name, ResizeJobName("uid", "3Gi", "node-a"));
  EXPECT_NE(name, ResizeJobName("uid", "2Gi", "node-b"));
  EXPECT_NE(name, ResizeJobName("other", "2Gi", "node-a"));
  EXPECT_LE(name.size(), 63U);
}

TEST(ResizeJobTest, RefusesWhatIsMissingOrUnsafeInAScript) {
  ResizeJobInput input = Input();
  input.fs_type = "ext4; rm -rf /";
  EXPECT_NE(ResizeJob(input).error().message.find("not a plain name"), std::string::npos);
  input = Input();
  input.target_size = "2Gi$(reboot)";
  EXPECT_FALSE(ResizeJob(input).ok());
  input = Input();
  input.node.clear();
  EXPECT_NE(ResizeJob(input).error().message.find("the node"), std::string::npos);
  // A PV name with a quote is quoted, not cut short.
  input = Input();
  input.pv_name = "it's";
  ASSERT_TRUE(ResizeJob(input).ok());
  EXPECT_NE(ScriptOf(*ResizeJob(input)).find("PV_NAME='it'\\''s'"), std::string::npos);
}

json Grown(const std::string& capacity) {
  json claim = {{"metadata",
                 {{"annotations",
                   {{"discoblocks.ondat.io/last-action", "grow"},
                    {"discoblocks.ondat.io/target-size", "2Gi"}}}}}};
  if (!capacity.empty()) claim["status"]["capacity"]["storage"] = capacity;
  return claim;
}

TEST(FileSystemGrowthDueTest, OnceTheVolumeHasGrownUntilTheJobReported) {
  EXPECT_EQ(FileSystemGrowthDue(Grown("")), "");
  EXPECT_EQ(FileSystemGrowthDue(Grown("1Gi")), "");  // the CSI resizer is not done
  EXPECT_EQ(FileSystemGrowthDue(Grown("2Gi")), "2Gi");
  EXPECT_EQ(FileSystemGrowthDue(Grown("2048Mi")), "2Gi");
  json done = Grown("2Gi");
  done["metadata"]["annotations"]["discoblocks.ondat.io/fs-grown"] = "2Gi";
  EXPECT_EQ(FileSystemGrowthDue(done), "");
  json failed = Grown("2Gi");
  failed["metadata"]["annotations"]["discoblocks.ondat.io/fs-grow-failed"] = "2Gi";
  EXPECT_EQ(FileSystemGrowthDue(failed), "");
  // An older size's outcome does not count for this one.
  json older = Grown("2Gi");
  older["metadata"]["annotations"]["discoblocks.ondat.io/fs-grown"] = "1Gi";
  EXPECT_EQ(FileSystemGrowthDue(older), "2Gi");
  json added = Grown("2Gi");
  added["metadata"]["annotations"]["discoblocks.ondat.io/last-action"] = "new-disk";
  EXPECT_EQ(FileSystemGrowthDue(added), "");
  json odd = Grown("2Gi");
  odd["status"]["capacity"]["storage"] = json::array();
  EXPECT_EQ(FileSystemGrowthDue(odd), "");
}

}  // namespace
}  // namespace discoblocks::op
