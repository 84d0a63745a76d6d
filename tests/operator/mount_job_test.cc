#include "operator/mount_job.h"

#include <string>

#include <gtest/gtest.h>

namespace discoblocks::op {
namespace {

using nlohmann::json;

MountJobInput Input() {
  MountJobInput input;
  input.job_namespace = "discoblocks";
  input.claim_namespace = "shop";
  input.claim_name = "web-1-db-1";
  input.claim_uid = "c-uid";
  input.pod_name = "web-1";
  input.pod_uid = "p-uid";
  input.node = "node-1";
  input.pv_name = "pvc-1";
  input.provisioner = "ebs.csi.aws.com";
  input.pre_mount_command = "DEV=/dev/xvdb";
  input.targets = {{"app", "containerd://a1", "/media/db-1"},
                   {"sidecar", "containerd://b2", "/media/db-1"}};
  input.image = "busybox:1.37.0";
  return input;
}

TEST(MountJobTest, APrivilegedHostPidJobOnThePodsNodeWithTheHostAtSlashHost) {
  auto job = MountJob(Input());
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_EQ((*job)["metadata"]["name"], MountJobName("c-uid", "p-uid"));
  EXPECT_EQ((*job)["metadata"]["namespace"], "discoblocks");
  EXPECT_EQ((*job)["metadata"]["annotations"]["discoblocks.ondat.io/pod-uid"], "p-uid");
  const json& pod = (*job)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["nodeName"], "node-1");
  EXPECT_EQ(pod["hostPID"], true);
  EXPECT_EQ(pod["restartPolicy"], "Never");
  EXPECT_EQ(pod["volumes"][0]["hostPath"]["path"], "/");
  const json& container = pod["containers"][0];
  EXPECT_EQ(container["image"], "busybox:1.37.0");
  EXPECT_EQ(container["securityContext"]["privileged"], true);
  EXPECT_EQ(container["volumeMounts"][0]["mountPath"], "/host");
  const std::string script = container["command"][2];
  // The fragment runs after PV_NAME and FS are set, as drivers expect.
  const auto fragment = script.find("DEV=/dev/xvdb\n");
  EXPECT_NE(fragment, std::string::npos) << script;
  EXPECT_LT(script.find("PV_NAME='pvc-1'\n"), fragment) << script;
  EXPECT_LT(script.find("FS=ext4\n"), fragment) << script;
  EXPECT_NE(script.find("mount_into a1 '/media/db-1'"), std::string::npos) << script;
  EXPECT_NE(script.find("mount_into b2 '/media/db-1'"), std::string::npos) << script;
  EXPECT_NE(script.find("mkfs.$FSTYPE"), std::string::npos) << script;
}

TEST(MountJobTest, TheNameIsTheSameForTheSameClaimAndPod) {
  EXPECT_EQ(MountJobName("c", "p"), MountJobName("c", "p"));
  EXPECT_NE(MountJobName("c", "p"), MountJobName("c", "q"));
  EXPECT_EQ(MountJobName("c", "p").size(), std::string("discoblocks-mount-").size() + 16);
}

TEST(MountJobTest, WhatCannotGoIntoTheScriptIsRefused) {
  MountJobInput input = Input();
  input.targets[0].container_id = "containerd://a1; rm -rf /";
  EXPECT_FALSE(MountJob(input));
  input = Input();
  input.targets[0].mount_path = "relative";
  EXPECT_FALSE(MountJob(input));
  input = Input();
  input.fs_type = "ext4 -F";
  EXPECT_FALSE(MountJob(input));
  input = Input();
  input.targets.clear();
  EXPECT_FALSE(MountJob(input));
  input = Input();
  input.image.clear();
  EXPECT_FALSE(MountJob(input));
  // A quote in a mount path is quoted, not refused.
  input = Input();
  input.targets[0].mount_path = "/media/it's";
  auto job = MountJob(input);
  ASSERT_TRUE(job) << job.error().message;
  EXPECT_NE(std::string((*job)["spec"]["template"]["spec"]["containers"][0]["command"][2])
                .find(R"('/media/it'\''s')"),
            std::string::npos);
}

TEST(MountJobTest, OutcomeFromTheJobsConditions) {
  EXPECT_EQ(JobOutcome(json::object()), "");
  EXPECT_EQ(
      JobOutcome({{"status", {{"conditions", {{{"type", "Complete"}, {"status", "True"}}}}}}}),
      "complete");
  EXPECT_EQ(JobOutcome({{"status", {{"conditions", {{{"type", "Failed"}, {"status", "True"}}}}}}}),
            "failed");
  EXPECT_EQ(JobOutcome({{"status", {{"conditions", {{{"type", "Failed"}, {"status", "False"}}}}}}}),
            "");
}

}  // namespace
}  // namespace discoblocks::op
