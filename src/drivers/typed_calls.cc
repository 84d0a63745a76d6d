#include "drivers/typed_calls.h"

#include <utility>

namespace discoblocks::drivers {
namespace {

// Converts an ok outcome's result; Interpret has already checked its shape.
template <typename T>
Typed<T> Convert(Outcome outcome) {
  Typed<T> typed;
  if (outcome.kind == OutcomeKind::kOk) typed.value = outcome.result.get<T>();
  typed.outcome = std::move(outcome);
  return typed;
}

}  // namespace

Outcome IsStorageClassValid(const Driver& driver, const nlohmann::json& storage_class,
                            const CallOptions& options) {
  CallInputs inputs;
  inputs.storage_class = storage_class;
  return driver.Call(Function::kIsStorageClassValid, inputs, options);
}

Typed<std::vector<nlohmann::json>> GetStorageClassAllowedTopology(const Driver& driver,
                                                                  const nlohmann::json& node,
                                                                  const CallOptions& options) {
  CallInputs inputs;
  inputs.node = node;
  return Convert<std::vector<nlohmann::json>>(
      driver.Call(Function::kGetStorageClassAllowedTopology, inputs, options));
}

Typed<nlohmann::json> GetPVCStub(const Driver& driver, const PvcStubRequest& request,
                                 const CallOptions& options) {
  CallInputs inputs;
  inputs.pvc_name = request.name;
  inputs.pvc_namespace = request.namespace_name;
  inputs.storage_class_name = request.storage_class_name;
  return Convert<nlohmann::json>(driver.Call(Function::kGetPVCStub, inputs, options));
}

Typed<std::string> GetCSIDriverNamespace(const Driver& driver, const CallOptions& options) {
  return Convert<std::string>(driver.Call(Function::kGetCSIDriverNamespace, {}, options));
}

Typed<std::map<std::string, std::string>> GetCSIDriverPodLabels(const Driver& driver,
                                                                const CallOptions& options) {
  return Convert<std::map<std::string, std::string>>(
      driver.Call(Function::kGetCSIDriverPodLabels, {}, options));
}

Typed<std::string> GetPreMountCommand(const Driver& driver, const nlohmann::json& persistent_volume,
                                      const nlohmann::json& volume_attachment,
                                      const CallOptions& options) {
  CallInputs inputs;
  inputs.persistent_volume = persistent_volume;
  inputs.volume_attachment = volume_attachment;
  return Convert<std::string>(driver.Call(Function::kGetPreMountCommand, inputs, options));
}

Typed<std::string> GetPreResizeCommand(const Driver& driver,
                                       const nlohmann::json& persistent_volume,
                                       const std::optional<nlohmann::json>& volume_attachment,
                                       const CallOptions& options) {
  CallInputs inputs;
  inputs.persistent_volume = persistent_volume;
  inputs.volume_attachment = volume_attachment;
  return Convert<std::string>(driver.Call(Function::kGetPreResizeCommand, inputs, options));
}

Typed<bool> IsFileSystemManaged(const Driver& driver, const CallOptions& options) {
  return Convert<bool>(driver.Call(Function::kIsFileSystemManaged, {}, options));
}

Typed<std::string> WaitForVolumeAttachmentMeta(const Driver& driver, const CallOptions& options) {
  return Convert<std::string>(driver.Call(Function::kWaitForVolumeAttachmentMeta, {}, options));
}

Typed<std::optional<nlohmann::json>> GetResizePolicy(const Driver& driver,
                                                     const nlohmann::json& storage_class,
                                                     const CallOptions& options) {
  Typed<std::optional<nlohmann::json>> typed;
  if (!driver.Exports(Function::kGetResizePolicy)) {
    typed.outcome.kind = OutcomeKind::kOk;
    return typed;
  }
  CallInputs inputs;
  inputs.storage_class = storage_class;
  typed.outcome = driver.Call(Function::kGetResizePolicy, inputs, options);
  if (typed.outcome.kind == OutcomeKind::kOk && !typed.outcome.result.is_null()) {
    typed.value = typed.outcome.result;
  }
  return typed;
}

}  // namespace discoblocks::drivers
