// The contract's conformance suite (`discoblocks drivers test`): runs a loaded
// driver through every function of ABI v1 (docs/driver-abi.md) the way the
// operator calls it, and judges each answer by the contract. Each check has a
// name ("<Function>/<aspect>", or "module/<aspect>"), a status and one line
// saying why, so that a driver author sees what to fix without reading the spec.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/contract.h"
#include "drivers/driver.h"
#include "util/result.h"
#include "wasm/run.h"

namespace discoblocks::drivers {

enum class CheckStatus { kPass, kWarn, kFail };
std::string_view CheckStatusName(CheckStatus status);  // "pass", "warn", "fail"

struct CheckResult {
  std::string name;
  CheckStatus status = CheckStatus::kFail;
  std::string reason;  // one line
};

// Well-formed inputs for the calls whose answers are judged. Every field is set.
struct ConformanceInputs {
  nlohmann::json storage_class;
  nlohmann::json node;
  nlohmann::json persistent_volume;
  nlohmann::json volume_attachment;
  std::string pvc_name = "data-0";
  std::string pvc_namespace = "default";
  std::string storage_class_name = "standard";
  // "built-in" or the fixtures directory: a driver may reasonably refuse our
  // guess at its inputs (e.g. a volume handle format), not the author's own.
  std::string source = "built-in";
  bool from_fixtures = false;
};

// Inputs for `provisioner` that any driver should accept: a StorageClass of that
// provisioner (WaitForFirstConsumer, expandable; Immediate where the contract's
// reference behaviour asks for it), a Node with the usual zone labels, a bound
// CSI PersistentVolume and its attached VolumeAttachment.
ConformanceInputs BuiltInInputs(std::string_view provisioner);

// Inputs from a directory in the repository's fixture layout (tests/fixtures):
// storageclasses/, nodes/, persistentvolumes/, volumeattachments/ holding YAML or
// JSON. For each kind the first file (by name) for `provisioner` is taken
// (StorageClass.provisioner, PV spec.csi.driver, VolumeAttachment spec.attacher;
// a Node whose file name or label keys have a word of the provisioner's, such as
// gke for pd.csi.storage.gke.io), else the first file; a kind with no file keeps
// the built-in input. An error
// when the directory cannot be read or a chosen file does not parse.
Result<ConformanceInputs> FixtureInputs(const std::filesystem::path& dir,
                                        std::string_view provisioner);

struct ConformanceOptions {
  // The operator's limits (ceilings); the driver's manifest may lower them.
  wasm::Limits limits;
  // Added to every call (tests steer scripted modules with them).
  Environment extra_env;
  ConformanceInputs inputs;
  // Warnings the registry gave when it loaded the driver (e.g. a manifest asking
  // for more than the operator's limits), reported as a check.
  std::vector<std::string> load_warnings;
};

struct ConformanceReport {
  std::string provisioner;
  std::string path;
  std::string inputs;  // where the inputs came from
  std::vector<CheckResult> checks;
  [[nodiscard]] bool passed() const;  // no check failed (warnings allowed)
  [[nodiscard]] int Count(CheckStatus status) const;
};

ConformanceReport RunConformance(const Driver& driver, const ConformanceOptions& options);

// A report for a driver that did not load (compile, link, digest): one failed
// check, "module/loads", with the reason.
ConformanceReport LoadFailureReport(std::string provisioner, std::string path, std::string reason);

nlohmann::json ConformanceReportJson(const ConformanceReport& report);

// Does this shell fragment assign DEV (`DEV=...`, `export DEV=...`, `read DEV`)?
bool SetsDev(std::string_view command);

}  // namespace discoblocks::drivers
