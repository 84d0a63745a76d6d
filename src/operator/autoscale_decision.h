// What the autoscaler does about one disk claim in one monitoring cycle. Pure:
// no I/O, the time is given; the autoscaler and `discoblocks autoscale plan`
// (its offline twin) share it, so the plan shows what the controller does.
//
// In order, the first that applies:
//   paused DiskConfig, claim not Bound or being deleted      -> none
//   an expansion pending (status below the request, or the
//   Resizing / FileSystemResizePending / ...ResizeError
//   conditions, or an allocatedResourceStatuses entry)      -> wait-pending
//       (reported once as stuck when it failed or has been pending longer
//        than `expansion_stuck_after`)
//   no usage reported, or below every trigger               -> none
//   above a trigger for less than sustainedFor              -> none
//   within coolDown of the claim's last action, or the
//   driver's modification budget spent within its window   -> cooling-down
//   below maximumCapacityOfDisk (and the class can expand)   -> grow
//   at the maximum, the family's newest disk, fewer disks
//   than maximumNumberOfDisks                                -> new-disk
//   otherwise                                                -> at-ceiling
//       (reported once per claim)
//
// Fullness is 100 * (capacityBytes - availableBytes) / capacityBytes, as the
// kubelet reports the file system: usedBytes counts only what the kubelet
// could attribute and can be far below what is really gone.
//
// A grow adds the largest of extendCapacity, extendPercentage of the current
// size and the driver's minimumIncrease, rounds up to the driver's
// granularity, and stops at maximumCapacityOfDisk (rounded down to the
// granularity). A step that would end below the minimum increase counts as
// being at the maximum.
//
// State that must survive a change of leader lives on the claim, in the
// annotations below; every decision says which to change (`annotations`, a
// merge patch), to be written with its action in one patch.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "operator/resize_policy.h"

namespace discoblocks::op {

// The last action taken on the claim: "grow" or "new-disk", and when (RFC
// 3339); the size a grow asked for.
inline constexpr const char* kLastActionAnnotation = "discoblocks.ondat.io/last-action";
inline constexpr const char* kLastActionTimeAnnotation = "discoblocks.ondat.io/last-action-time";
inline constexpr const char* kTargetSizeAnnotation = "discoblocks.ondat.io/target-size";
// The times of the size changes still inside the driver's window, space-separated.
inline constexpr const char* kResizedAtAnnotation = "discoblocks.ondat.io/resized-at";
// When the claim was first seen above a trigger (only with sustainedFor).
inline constexpr const char* kAboveTriggerSinceAnnotation =
    "discoblocks.ondat.io/above-trigger-since";
// When the claim was reported at its ceiling, or its expansion stuck: each is
// reported once, not on every poll.
inline constexpr const char* kAtCeilingAnnotation = "discoblocks.ondat.io/at-ceiling";
inline constexpr const char* kExpansionStuckAnnotation = "discoblocks.ondat.io/expansion-stuck";
// For drivers that do not grow file systems (IsFileSystemManaged false): the
// size the file system was grown to by the resize Job, or whose Job failed.
inline constexpr const char* kFileSystemGrownAnnotation = "discoblocks.ondat.io/fs-grown";
inline constexpr const char* kFileSystemGrowFailedAnnotation =
    "discoblocks.ondat.io/fs-grow-failed";

enum class AutoscaleAction { kNone, kGrow, kNewDisk, kAtCeiling, kWaitPending, kCoolingDown };
// "none", "grow", "new-disk", "at-ceiling", "wait-pending", "cooling-down".
std::string_view ActionName(AutoscaleAction action);

// One volume as its kubelet reports it; a kubelet may leave any field out.
struct VolumeUsage {
  std::optional<std::int64_t> capacity_bytes;
  std::optional<std::int64_t> available_bytes;
  std::optional<std::int64_t> inodes;
  std::optional<std::int64_t> inodes_free;
};

// The claim's place in its family (a pod's disks, a ReadWriteSame family, a
// node's ReadWriteDaemon family).
struct ClaimFamily {
  int disks = 1;       // how many disks the family has now
  bool newest = true;  // the claim has the family's highest index
};

struct DecisionInput {
  const admission::DiskConfig* config = nullptr;  // required
  const nlohmann::json* claim = nullptr;          // required: the PersistentVolumeClaim
  std::optional<VolumeUsage> usage;               // none: its kubelet did not report it
  ResizePolicy resize_policy;
  ClaimFamily family;
  // The claim's StorageClass has allowVolumeExpansion: true. When it has
  // not, the API server refuses every resize, so the claim counts as being at
  // its maximum (a new disk, or the ceiling).
  bool can_expand = true;
  std::chrono::system_clock::time_point now;
  std::chrono::seconds expansion_stuck_after{std::chrono::minutes(10)};
};

struct Decision {
  std::string pvc;  // namespace/name
  AutoscaleAction action = AutoscaleAction::kNone;
  std::int64_t from_bytes = 0;  // the claim's size now (capacity, else request)
  std::int64_t to_bytes = 0;    // grow: the new request; new-disk: its size; else from_bytes
  std::string reason;           // for people: why this action, or why none
  // Set when this decision is the first to find the claim at its ceiling, or
  // its expansion stuck: the caller raises the Event once.
  bool report_at_ceiling = false;
  bool report_stuck = false;
  // The claim's annotations to change with the action, as a merge patch
  // (null removes one); empty when none change.
  nlohmann::json annotations = nlohmann::json::object();
  // How full the volume is, when its kubelet said (percent).
  std::optional<double> used_percent;
  std::optional<double> inodes_used_percent;
};

// The size the claim's last grow asked for, while its file system has not
// been grown to it (fs-grown names another size or none); empty otherwise.
// Only meaningful for drivers whose CSI driver does not grow file systems.
std::string UngrownFileSystemTarget(const nlohmann::json& claim);

// How full a volume is, in percent of its bytes and of its inodes, as far as
// its kubelet said (available counts, not used: the two may not add up).
struct Fullness {
  std::optional<double> bytes;
  std::optional<double> inodes;
};
Fullness FullnessOf(const VolumeUsage& usage);

Decision Decide(const DecisionInput& input);

// {"pvc", "action", "from", "to", "reason"}, sizes as quantities ("5Gi").
nlohmann::json DecisionToJson(const Decision& decision);

// Bytes as the shortest exact binary quantity: 5368709120 -> "5Gi", 1000 -> "1000".
std::string FormatBytes(std::int64_t bytes);

}  // namespace discoblocks::op
