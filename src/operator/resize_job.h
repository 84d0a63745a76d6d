// The Job that grows a volume's file system on a node, for drivers whose CSI
// driver does not (IsFileSystemManaged false): once the claim's capacity has
// reached the size the autoscaler asked for, the device is larger than its
// file system until this runs. A NodeJob (node_job.h) whose script:
//   1. sets PV_NAME and FS as the mount Job does, and runs the driver's
//      GetPreResizeCommand fragment, which sets DEV to the block device (a
//      path on the host);
//   2. grows the file system with the host's own tool (chroot /host): ext2,
//      ext3 and ext4 with resize2fs on the device; xfs with xfs_growfs on
//      where the host has the device mounted (xfs grows only mounted). Any
//      other type fails the Job, saying so.
// Growing a file system that already fills its device changes nothing, so a
// Job that runs twice is harmless.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::op {

struct ResizeJobInput {
  std::string job_namespace;
  std::string claim_namespace;
  std::string claim_name;
  std::string claim_uid;
  std::string node;
  std::string pv_name;             // PV_NAME, for the fragment
  std::string provisioner;         // for the script's comments
  std::string pre_resize_command;  // the driver's GetPreResizeCommand fragment
  std::string fs_type = "ext4";    // the PV's spec.csi.fsType
  std::string target_size;         // the size asked for, e.g. "2Gi"
  std::string image;               // needs sh, grep, head and cut
};

// "discoblocks-resize-" and 16 hex digits of the sha256 of the claim's uid,
// the target size and the node: one Job per node and size, found again on a
// retry or by a new leader.
std::string ResizeJobName(const std::string& claim_uid, const std::string& target_size,
                          const std::string& node);

// The Job. Errors name what is missing or unsafe to put in a script.
Result<nlohmann::json> ResizeJob(const ResizeJobInput& input);

}  // namespace discoblocks::op
