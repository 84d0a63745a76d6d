// The driver contract (ABI v1, see docs/driver-abi.md): the nine required
// functions and the optional ones, the environment each one reads, and the shape
// of what each one prints.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::drivers {

// The contract versions a driver may be written against. One so far; a later
// version is added here while the older ones keep loading.
inline constexpr std::array<int, 1> kSupportedAbiVersions{1};

enum class Function {
  kIsStorageClassValid,
  kGetStorageClassAllowedTopology,
  kGetPVCStub,
  kGetCSIDriverNamespace,
  kGetCSIDriverPodLabels,
  kGetPreMountCommand,
  kGetPreResizeCommand,
  kIsFileSystemManaged,
  kWaitForVolumeAttachmentMeta,
  // Optional: added to ABI v1 later, so drivers built before it lack it.
  kGetResizePolicy,
};

// How a function's stdout is read (the contract's outcome table).
enum class OutputKind {
  kValidity,   // boolean; false is "invalid" with stderr as the reason
  kBool,       // boolean value
  kTopology,   // nothing, or a JSON array of TopologySelectorTerm
  kPvcStub,    // a PersistentVolumeClaim as a JSON object
  kLabels,     // a JSON object of string labels
  kNamespace,  // plain text, trimmed, not empty
  kMetaKey,    // plain text, trimmed, may be empty
  kShell,      // a shell fragment, passed on as-is
  // Nothing (no limits), or a JSON object whose known fields have the right
  // JSON types (granularity, minimumIncrease: string or integer; maxModifications:
  // integer >= 0; window: string). A known field that is null is left out.
  kResizePolicy,
};

struct FunctionSpec {
  Function function;
  std::string_view name;  // the export's name
  OutputKind output;
  std::vector<std::string_view> env;  // variables it reads, in contract order
  // An optional function may be missing from a driver: loading never requires
  // it, and callers treat its absence as the function's neutral answer.
  bool optional = false;
};

// Every function, required ones first, in the order of `Function`.
inline constexpr std::size_t kFunctionCount = 10;
const std::array<FunctionSpec, kFunctionCount>& AllFunctions();
const FunctionSpec& SpecOf(Function function);
std::optional<Function> FunctionByName(std::string_view name);

// Everything a call may be given. Each function reads only its own inputs.
struct CallInputs {
  std::optional<nlohmann::json> storage_class;
  std::optional<nlohmann::json> node;
  std::optional<nlohmann::json> persistent_volume;
  std::optional<nlohmann::json> volume_attachment;
  std::optional<std::string> pvc_name;
  std::optional<std::string> pvc_namespace;
  std::optional<std::string> storage_class_name;
};

using Environment = std::vector<std::pair<std::string, std::string>>;

// The environment a call of `function` gets: exactly the contract's variables,
// objects as compact JSON. A missing required input is an error naming it.
Result<Environment> BuildEnvironment(Function function, const CallInputs& inputs);

}  // namespace discoblocks::drivers
