// The Job that mounts a disk the autoscaler added into a pod that is already
// running: Kubernetes mounts a pod's volumes only when the pod starts, so the
// device is put into each container's mount namespace from the node.
//
// The Job runs on the pod's node: privileged, in the host's PID namespace,
// with the host's root file system at /host (the environment a driver's
// GetPreMountCommand fragment is written for, docs/driver-abi.md). Its
// script:
//   1. sets PV_NAME (the PV's name) and FS (the file system type), which
//      drivers' fragments read as they did in the original's Job, and runs
//      the driver's fragment, which sets DEV to the block device (a path on
//      the host: the script reads it through /host);
//   2. makes a file system of the volume's fsType (default ext4) when the
//      device has none (blkid), so a new disk is formatted once and never again;
//   3. for each container, finds a process of it (by its container ID in
//      /proc/*/cgroup) and, in that process's mount namespace, creates the
//      device node and mounts it at the container's mount point (skipped when
//      something is mounted there already, so a Job run twice is harmless).
// Step 3 uses the container's own mkdir, mknod and mount, as the original
// Discoblocks did: an image without them (distroless) gets its added disks
// when the pod is next created, through the pod webhook.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/node_job.h"  // JobOutcome
#include "util/result.h"

namespace discoblocks::op {

struct MountTarget {
  std::string container;     // its name, for messages
  std::string container_id;  // status.containerStatuses[].containerID ("containerd://<id>")
  std::string mount_path;
};

struct MountJobInput {
  std::string job_namespace;
  std::string claim_namespace;
  std::string claim_name;
  std::string claim_uid;
  std::string pod_name;
  std::string pod_uid;
  std::string node;
  std::string pv_name;            // PV_NAME, for the fragment
  std::string provisioner;        // for the script's comments
  std::string pre_mount_command;  // the driver's GetPreMountCommand fragment
  std::string fs_type = "ext4";   // the PV's spec.csi.fsType
  std::vector<MountTarget> targets;
  std::string image;  // needs sh, grep, head, cut, nsenter and chroot
};

// The name of the Job for this claim and pod: "discoblocks-mount-" and 16 hex
// digits of the sha256 of both uids, so a retry finds the Job it made.
std::string MountJobName(const std::string& claim_uid, const std::string& pod_uid);

// The Job. Errors name what is missing or unsafe to put in a script (a mount
// path or container ID with characters outside a conservative set).
Result<nlohmann::json> MountJob(const MountJobInput& input);

}  // namespace discoblocks::op
