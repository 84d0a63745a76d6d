// Which disk claims belong together: a family is the set of disks one pod
// (ReadWriteOnce), all pods (ReadWriteSame) or one node's pods
// (ReadWriteDaemon) get from one DiskConfig. The autoscaler grows any disk of a
// family but adds a disk only from the newest (highest index) one, and counts
// the family's disks against maximumNumberOfDisks.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "operator/autoscale_decision.h"

namespace discoblocks::op {

// The claim's family within `config`: "<namespace>/<config>" plus, by mode, the
// owning pod's uid or the node; empty when the claim cannot be placed (a
// ReadWriteOnce claim without a pod owner, a ReadWriteDaemon claim without
// its node).
std::string FamilyKey(const admission::DiskConfig& config, const nlohmann::json& claim);

// The claim's `discoblocks-index` label; -1 when absent or not a number from 0
// to 149.
int ClaimIndex(const nlohmann::json& claim);

// Each claim's place in its family, by the claim's key ("namespace/name").
// Claims without a family count as a family of their own.
std::map<std::string, ClaimFamily> PlaceInFamilies(
    const admission::DiskConfig& config, const std::vector<const nlohmann::json*>& claims);

}  // namespace discoblocks::op
