// The DiskConfig resource (discoblocks.ondat.io/v1) as C++ values, and the
// defaults its CRD applies.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/quantity.h"
#include "util/result.h"

namespace discoblocks::admission {

inline constexpr const char* kDiskConfigApiVersion = "discoblocks.ondat.io/v1";
inline constexpr const char* kDiskConfigKind = "DiskConfig";

struct DiskConfigPolicy {
  int upscale_trigger_percentage = 80;
  kube::Quantity maximum_capacity_of_disk;
  int maximum_number_of_disks = 1;
  kube::Quantity extend_capacity;
  std::chrono::nanoseconds cool_down{0};
  bool pause = false;
  // Fields added after v1's first release: optional, and their absence means
  // what the original did (no inode trigger, growth by extendCapacity alone,
  // acting on the first poll above the trigger).
  int inodes_trigger_percentage = 0;  // 0: inodes never trigger
  int extend_percentage = 0;          // of the current size; the larger growth wins
  std::chrono::nanoseconds sustained_for{0};
};

struct DiskConfig {
  std::string ns;
  std::string name;
  std::string storage_class_name;
  kube::Quantity capacity;
  // The spec's, or DefaultMountPointPattern(name) (mount_points.h) when the
  // spec has none: a CRD default cannot name the object, so it is applied when
  // the DiskConfig is read, and not stored.
  std::string mount_point_pattern;
  bool mount_point_pattern_is_default = false;
  std::vector<std::string> access_modes;
  std::string availability_mode;
  nlohmann::json node_selector;  // a LabelSelector, or null
  nlohmann::json pod_selector;   // a map of labels
  DiskConfigPolicy policy;
};

// The object with the CRD's defaults filled in where fields are absent, as the
// API server does before admission: the defaults are read from the CRD itself
// (compiled in, see diskconfig_crd.h), so there is one list of them.
nlohmann::json WithDefaults(nlohmann::json object);

// Reads a DiskConfig (defaults already applied). The error names the field
// that is missing or malformed, e.g. "spec.capacity: ...".
Result<DiskConfig> ParseDiskConfig(const nlohmann::json& object);

}  // namespace discoblocks::admission
