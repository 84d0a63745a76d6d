#include "drivers/contract.h"

#include <algorithm>

#include <fmt/format.h>

namespace discoblocks::drivers {
namespace {

// Environment variable names of ABI v1. PVC_NAMESACE is misspelled in the
// original contract; existing drivers read it, so it stays.
constexpr std::string_view kStorageClassJson = "STORAGE_CLASS_JSON";
constexpr std::string_view kNodeJson = "NODE_JSON";
constexpr std::string_view kPvcName = "PVC_NAME";
constexpr std::string_view kPvcNamespace = "PVC_NAMESACE";
constexpr std::string_view kStorageClassName = "STORAGE_CLASS_NAME";
constexpr std::string_view kPersistentVolumeJson = "PERSISTENT_VOLUME_JSON";
constexpr std::string_view kVolumeAttachmentJson = "VOLUME_ATTACHMENT_JSON";

}  // namespace

const std::array<FunctionSpec, kFunctionCount>& AllFunctions() {
  static const std::array<FunctionSpec, kFunctionCount> kFunctions{{
      {Function::kIsStorageClassValid,
       "IsStorageClassValid",
       OutputKind::kValidity,
       {kStorageClassJson}},
      {Function::kGetStorageClassAllowedTopology,
       "GetStorageClassAllowedTopology",
       OutputKind::kTopology,
       {kNodeJson}},
      {Function::kGetPVCStub,
       "GetPVCStub",
       OutputKind::kPvcStub,
       {kPvcName, kPvcNamespace, kStorageClassName}},
      {Function::kGetCSIDriverNamespace, "GetCSIDriverNamespace", OutputKind::kNamespace, {}},
      {Function::kGetCSIDriverPodLabels, "GetCSIDriverPodLabels", OutputKind::kLabels, {}},
      {Function::kGetPreMountCommand,
       "GetPreMountCommand",
       OutputKind::kShell,
       {kPersistentVolumeJson, kVolumeAttachmentJson}},
      {Function::kGetPreResizeCommand,
       "GetPreResizeCommand",
       OutputKind::kShell,
       {kPersistentVolumeJson, kVolumeAttachmentJson}},
      {Function::kIsFileSystemManaged, "IsFileSystemManaged", OutputKind::kBool, {}},
      {Function::kWaitForVolumeAttachmentMeta,
       "WaitForVolumeAttachmentMeta",
       OutputKind::kMetaKey,
       {}},
      {Function::kGetResizePolicy,
       "GetResizePolicy",
       OutputKind::kResizePolicy,
       {kStorageClassJson},
       /*optional=*/true},
  }};
  return kFunctions;
}

const FunctionSpec& SpecOf(Function function) {
  return AllFunctions()[static_cast<std::size_t>(function)];
}

std::optional<Function> FunctionByName(std::string_view name) {
  for (const FunctionSpec& spec : AllFunctions()) {
    if (spec.name == name) return spec.function;
  }
  return std::nullopt;
}

Result<Environment> BuildEnvironment(Function function, const CallInputs& inputs) {
  const FunctionSpec& spec = SpecOf(function);
  Environment env;
  auto missing = [&](std::string_view what) {
    return MakeError(fmt::format("{} needs {}", spec.name, what));
  };
  for (std::string_view variable : spec.env) {
    const std::optional<nlohmann::json>* object = nullptr;
    const std::optional<std::string>* text = nullptr;
    std::string_view what;
    if (variable == kStorageClassJson) {
      object = &inputs.storage_class;
      what = "a StorageClass";
    } else if (variable == kNodeJson) {
      object = &inputs.node;
      what = "a Node";
    } else if (variable == kPersistentVolumeJson) {
      object = &inputs.persistent_volume;
      what = "a PersistentVolume";
    } else if (variable == kVolumeAttachmentJson) {
      // "" when there is no attachment; required only to mount.
      if (!inputs.volume_attachment && function == Function::kGetPreResizeCommand) {
        env.emplace_back(variable, "");
        continue;
      }
      object = &inputs.volume_attachment;
      what = "a VolumeAttachment";
    } else if (variable == kPvcName) {
      text = &inputs.pvc_name;
      what = "a PVC name";
    } else if (variable == kPvcNamespace) {
      text = &inputs.pvc_namespace;
      what = "a PVC namespace";
    } else if (variable == kStorageClassName) {
      text = &inputs.storage_class_name;
      what = "a StorageClass name";
    }
    if (object != nullptr) {
      if (!object->has_value()) return missing(what);
      // Replace invalid UTF-8 rather than fail: the driver judges the content.
      env.emplace_back(variable,
                       (*object)->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (text != nullptr) {
      if (!text->has_value()) return missing(what);
      env.emplace_back(variable, **text);
    }
  }
  return env;
}

Result<std::string> BuildInputDocument(Function function, const CallInputs& inputs,
                                       const Environment& extra) {
  const auto dump = [](const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const auto overridden = [&](std::string_view name) {
    return std::any_of(extra.begin(), extra.end(),
                       [&](const auto& entry) { return entry.first == name; });
  };
  auto env = BuildEnvironment(function, inputs);
  if (!env) return env.error();
  // Written member by member rather than through an nlohmann object: the objects
  // are already parsed, and copying a Node into a new tree only to dump it
  // doubles the work of every call.
  std::string document = "{";
  const auto member = [&](std::string_view name, const std::string& json) {
    if (document.size() > 1) document += ',';
    document += dump(std::string(name));
    document += ':';
    document += json;
  };
  const auto object_input = [&](std::string_view name) -> const std::optional<nlohmann::json>* {
    if (name == kStorageClassJson) return &inputs.storage_class;
    if (name == kNodeJson) return &inputs.node;
    if (name == kPersistentVolumeJson) return &inputs.persistent_volume;
    if (name == kVolumeAttachmentJson) return &inputs.volume_attachment;
    return nullptr;
  };
  for (const auto& [name, value] : *env) {
    if (overridden(name)) continue;
    const std::optional<nlohmann::json>* object = object_input(name);
    // An object input is embedded as it is; its text in `env` is the same dump.
    member(name, object != nullptr && object->has_value() ? value : dump(value));
  }
  // As in the environment, the last of several extras of one name wins.
  for (auto entry = extra.begin(); entry != extra.end(); ++entry) {
    const bool replaced_later = std::any_of(std::next(entry), extra.end(), [&](const auto& later) {
      return later.first == entry->first;
    });
    if (!replaced_later) member(entry->first, dump(entry->second));
  }
  document += '}';
  return document;
}

}  // namespace discoblocks::drivers
