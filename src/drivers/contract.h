// The driver contract (ABI v1 and v2, see docs/driver-abi.md): the nine required
// functions and the optional ones, the inputs each one reads, and the shape of
// what each one prints. The two ABIs differ only in how inputs arrive: v1 as
// environment variables, v2 as one JSON object on stdin whose member names are
// v1's variable names.
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

// The contract versions a driver may be written against. A later version is
// added here while the older ones keep loading.
inline constexpr std::array<int, 2> kSupportedAbiVersions{1, 2};

enum class Abi { kV1 = 1, kV2 = 2 };

// A module declares ABI v2 by exporting a function of this name (no parameters,
// no results, never called); without it, a module is ABI v1.
inline constexpr std::string_view kAbiV2Marker = "discoblocks_abi_v2";

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

// The stdin of an ABI v2 call of `function`: one JSON object with a member per
// contract variable. Objects are embedded as JSON values; every other value
// (names, and v1's "" for a missing attachment) is a JSON string. `extra`
// (CallOptions::extra_env) is added as strings, replacing a contract variable of
// the same name, so a driver reads exactly the text it would read from the
// environment under v1. Invalid UTF-8 is replaced, as in BuildEnvironment.
Result<std::string> BuildInputDocument(Function function, const CallInputs& inputs,
                                       const Environment& extra);

}  // namespace discoblocks::drivers
