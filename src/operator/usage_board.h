// How full each Discoblocks claim was when its kubelet last said, shared by
// the autoscaler (which writes it once per monitoring cycle) and the
// DiskConfig controller (which shows it in status.disks[].usedPercent).
//
// A claim whose kubelet could not be read this cycle keeps what was last
// known; a claim no longer in the cache is forgotten. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "operator/autoscale_decision.h"

namespace discoblocks::op {

class UsageBoard {
 public:
  // Records `fullness` of the claims reported this cycle (by key
  // "namespace/name") and forgets every claim not in `known`.
  void Update(const std::map<std::string, VolumeUsage>& reported,
              const std::set<std::string>& known);

  // The claim's last known fullness, or nullopt when none was ever reported.
  std::optional<Fullness> Find(const std::string& claim_key) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Fullness> by_claim_;
};

}  // namespace discoblocks::op
