// A DiskConfig's status, computed from the caches as a pure function, so that
// it can be tested without a cluster and written only when it changes.
//
// status:
//   observedGeneration: the metadata.generation it was computed for
//   conditions: Ready, Progressing, Degraded, ExpansionStuck (metav1.Condition: type, status,
//     reason, message, lastTransitionTime, observedGeneration). The
//     lastTransitionTime of a condition changes only when its status flips.
//   disks[]: one per claim of the DiskConfig (pvc, pod or node, index, phase,
//     capacity; usedPercent and inodesUsedPercent as its kubelet last said;
//     lastAction: the autoscaler's last action, its time and the size asked
//     for), ordered by claim name; the first kMaxListedDisks only
//   diskSummary: "<bound>/<all>", for the Disks printer column
//
// Reasons, most serious first: InvalidSpec, StorageClassMissing,
// DriverMissing, DriverFailed, DisksLost (Degraded); DisksPending
// (Progressing); AllDisksBound, NoDisks (Ready). ExpansionStuck is True
// (reason ExpansionStuck) while a claim's expansion has failed or been
// pending too long (the autoscaler's expansion-stuck annotation); it does not
// make the DiskConfig less Ready: its disks still work, they do not grow.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator/autoscale_decision.h"

namespace discoblocks::op {

// The claims a DiskConfig made carry these (admission/names.h); a family's
// shared claims kept after their DiskConfig is deleted get kOrphanedLabel.
inline constexpr const char* kOrphanedLabel = "discoblocks.ondat.io/orphaned";

// A ReadWriteOnce DiskConfig has a claim per pod: at ~250 bytes an entry, this
// many keep the status near 64 KiB, far from etcd's 1.5 MiB per object.
inline constexpr std::size_t kMaxListedDisks = 256;

struct DriverStatus {
  enum class State { kLoaded, kMissing, kFailed };
  State state = State::kLoaded;
  std::string reason;  // why failed
};

struct StatusInputs {
  const nlohmann::json* disk_config = nullptr;  // as cached (its status is the current one)
  std::string spec_error;                       // non-empty: the spec does not parse
  std::string storage_class_name;
  bool storage_class_found = true;
  std::string provisioner;  // the StorageClass's
  DriverStatus driver;
  std::vector<nlohmann::json> claims;        // the DiskConfig's (ClaimsOf)
  std::map<std::string, Fullness> fullness;  // by claim name, where known
  std::string now;                           // RFC 3339, for lastTransitionTime
};

nlohmann::json DesiredStatus(const StatusInputs& inputs);

// One entry of status.disks for a claim, with its `fullness` when known;
// anything of the wrong type or out of range is left out.
nlohmann::json DiskOf(const nlohmann::json& claim, const Fullness* fullness = nullptr);

// Whether `claim` is a generic ephemeral volume's (a ReadWriteOnce disk): its
// controller is a Pod, which deletes it.
bool OwnedByPod(const nlohmann::json& claim);

// The claims of `candidates` (e.g. the cache's under the `discoblocks` label
// value of `name`) that DiskConfig `ns/name` made: in its namespace, and
// whose discoblocks.ondat.io/diskconfig annotation is `name` (labels alone
// are not enough: a long name's label is a hash).
std::vector<nlohmann::json> ClaimsOf(
    std::string_view ns, std::string_view name,
    const std::vector<std::shared_ptr<const nlohmann::json>>& candidates);

// Now, as metav1.Time writes it: "2026-11-29T18:00:00Z".
std::string NowRfc3339();

}  // namespace discoblocks::op
