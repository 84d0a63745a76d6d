// What a disk type allows when a volume grows: the optional driver function
// GetResizePolicy (docs/driver-abi.md) prints it as JSON, e.g.
//   {"granularity": "1Gi", "minimumIncrease": "1Gi",
//    "maxModifications": 4, "window": "24h"}
// A driver without the function, or a field left out, means no limit of that
// kind. The autoscaler (operator/autoscale_decision.h) rounds every new size
// up to the granularity, grows by at least the minimum increase, and never
// makes more than maxModifications size changes to one volume within any
// window.
#pragma once

#include <chrono>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::op {

struct ResizePolicy {
  std::int64_t granularity_bytes = 1;       // at least 1
  std::int64_t minimum_increase_bytes = 0;  // 0: none
  int max_modifications = 0;                // 0: no limit
  std::chrono::seconds window{0};           // meaningful when max_modifications > 0
  // The driver's IsFileSystemManaged (not part of GetResizePolicy's JSON):
  // false, and each grow waits for the resize Job to grow the file system.
  bool filesystem_managed = true;

  [[nodiscard]] bool LimitsModifications() const {
    return max_modifications > 0 && window.count() > 0;
  }
  bool operator==(const ResizePolicy&) const = default;
};

// Reads the driver's JSON. Quantities are Kubernetes quantities (strings, or
// integers of bytes), positive and at most 2^63-1 bytes; maxModifications is
// an integer from 0 to 1000; window a Go duration of at least 1s, required
// when maxModifications is above 0. Unknown fields are ignored, so that a
// newer driver keeps working with this host. Errors name the field.
Result<ResizePolicy> ParseResizePolicy(const nlohmann::json& value);

}  // namespace discoblocks::op
