// The disks one DiskConfig gives one pod, by availability mode: the pod
// volumes, and the PVCs and StorageClasses to create for them. Part of the pod
// mutation (pod_mutation.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "admission/pod_mutation.h"
#include "util/result.h"

namespace discoblocks::admission {

inline constexpr std::string_view kReadWriteOnce = "ReadWriteOnce";
inline constexpr std::string_view kReadWriteSame = "ReadWriteSame";
inline constexpr std::string_view kReadWriteDaemon = "ReadWriteDaemon";

// What is known of the pod before any DiskConfig is applied.
struct PodFacts {
  std::string ns;
  std::string name;                 // empty while the API server has yet to generate it
  std::optional<std::string> node;  // PodNodeName
  bool daemon_set = false;          // IsDaemonSetPod
};

struct Disk {
  int index = 0;
  nlohmann::json volume;  // the pod volume, named VolumeName(config, index)
  std::string mount_path;
};

struct DiskPlan {
  std::vector<Disk> disks;  // by index
  std::vector<nlohmann::json> storage_classes;
  std::vector<nlohmann::json> pvcs;
  std::vector<std::string> warnings;
};

// The disks `config` gives the pod:
//   ReadWriteOnce: index 0 as a generic ephemeral volume (Kubernetes creates,
//     owns and deletes its PVC);
//   ReadWriteSame: every PVC of the DiskConfig's family, index 0 created when
//     missing;
//   ReadWriteDaemon: the same, with one family per node; DaemonSet pods only.
// The StorageClass and the driver are needed only when a PVC is to be made.
// The error is the denial's message, naming the DiskConfig.
Result<DiskPlan> PlanDisks(const DiskConfig& config, const PodFacts& pod,
                           const PodMutationInput& input);

// A disk the autoscaler adds to a running pod's family: the claim of disk
// `index` (above 0) in plan.pvcs, named as the mode names it ("<pod>-<volume>"
// for ReadWriteOnce, whose pod the caller makes its owner), labelled with its
// index and kParentLabel (`first_claim`, the family's disk 0), on the
// StorageClass the pod's node calls for (plan.storage_classes holds the
// topology copy to create, when one is needed). A WaitForFirstConsumer class
// would wait for a pod that never comes, since the running pod does not name
// the claim: the claim names the pod's node as its selected node instead.
Result<DiskPlan> PlanAddedDisk(const DiskConfig& config, const PodFacts& pod, int index,
                               const std::string& first_claim, const PodMutationInput& input);

}  // namespace discoblocks::admission
