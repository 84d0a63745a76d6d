// The DiskConfig validation rules (docs/discoblocks.md), in one place shared by
// the admission webhook and `discoblocks validate`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/registry.h"

namespace discoblocks::admission {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };

// Stable names of the rules, used in denial messages, logs and metrics.
namespace rule {
inline constexpr std::string_view kWellFormed = "well-formed";
inline constexpr std::string_view kStorageClassNameRequired = "storage-class-name-required";
inline constexpr std::string_view kMountPointPattern = "mount-point-pattern";
inline constexpr std::string_view kCapacityWithinMaximum = "capacity-within-maximum";
inline constexpr std::string_view kCoolDownMinimum = "cool-down-minimum";
inline constexpr std::string_view kStorageClassNameImmutable = "storage-class-name-immutable";
inline constexpr std::string_view kMountPointPatternImmutable = "mount-point-pattern-immutable";
inline constexpr std::string_view kCapacityNoShrink = "capacity-no-shrink";
inline constexpr std::string_view kStorageClassExists = "storage-class-exists";
inline constexpr std::string_view kDriverLoaded = "driver-loaded";
inline constexpr std::string_view kStorageClassValid = "storage-class-valid";
inline constexpr std::string_view kDriverError = "driver-error";
}  // namespace rule

struct Decision {
  bool allowed = true;
  std::string rule;                   // the first rule that denied; empty when allowed
  std::string message;                // "<rule>: <why>", every failed rule; empty when allowed
  std::vector<std::string> warnings;  // from the driver, when it warned
  std::string provisioner;            // when the StorageClass was found
};

// Finds a StorageClass by name (from a watch-backed cache, or a file).
using StorageClassLookup = std::function<std::optional<nlohmann::json>(std::string_view name)>;

struct RuleContext {
  const drivers::Registry* registry = nullptr;
  StorageClassLookup storage_class;
  drivers::CallOptions call_options;
};

// Decides on one DiskConfig. `object` is the new object (create, update),
// `old_object` the previous one (update); both with the CRD's defaults
// applied. Deleting is always allowed. An update that leaves the spec as it
// was is only checked for being well-formed (a flaw the old object had too is
// not held against it), and one of an object being deleted
// (metadata.deletionTimestamp set) gets only the rules that need no driver and
// no StorageClass: a finalizer can always be removed. Otherwise a driver error
// denies (fail closed).
Decision Validate(Operation operation, const nlohmann::json* object,
                  const nlohmann::json* old_object, const RuleContext& context);

}  // namespace discoblocks::admission
