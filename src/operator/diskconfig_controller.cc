#include "operator/diskconfig_controller.h"

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "admission/names.h"
#include "kube/objects.h"
#include "kube/resource.h"
#include "operator/cache_indexes.h"
#include "operator/finalizers.h"
#include "operator/storage_class_controller.h"
#include "util/json_fields.h"
#include "util/logging.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

// Everything a reconcile reads and writes.
struct Context {
  std::shared_ptr<const kube::Client> client;
  kube::Informer* disk_configs;  // read only; not const for the watches
  kube::Informer* claims;
  kube::Informer* storage_classes;
  const drivers::Registry* registry;
  const PvcOperations* operations;
  kube::EventRecorder* recorder;
  DiskConfigUsage usage;
};

std::vector<json> ClaimsOfConfig(const Context& context, const std::string& ns,
                                 const std::string& name) {
  auto candidates = context.claims->ByIndex(kIndexByDiskConfig, admission::FitLabelValue(name));
  if (!candidates) return {};
  return ClaimsOf(ns, name, *candidates);
}

// Keeps the shared claims, says so, and lets the DiskConfig go.
Result<ReconcileOutcome> Finalize(const Context& context, const json& config, const std::string& ns,
                                  const std::string& name) {
  if (!HasFinalizer(config, kDisksFinalizer)) return ReconcileOutcome{};
  std::vector<std::string> kept;
  for (const json& claim : ClaimsOfConfig(context, ns, name)) {
    if (OwnedByPod(claim)) continue;  // ReadWriteOnce: goes with its pod
    const std::string claim_name = StringAt(claim, {"metadata", "name"});
    kept.push_back(claim_name);
    if (StringAt(claim, {"metadata", "labels", kOrphanedLabel}) == "true") continue;
    const json patch = {{"metadata", {{"labels", {{kOrphanedLabel, "true"}}}}}};
    auto patched =
        context.client->MergePatch(kube::resources::kPersistentVolumeClaims, ns, claim_name, patch);
    if (!patched && patched.error().kind != kube::ErrorKind::kNotFound) {
      if (context.operations != nullptr) context.operations->Count("label-orphaned", "error");
      return MakeError(fmt::format("cannot label claim {}/{} orphaned: {}", ns, claim_name,
                                   patched.error().message));
    }
    if (context.operations != nullptr) context.operations->Count("label-orphaned", "success");
  }
  if (!kept.empty() && context.recorder != nullptr) {
    kube::ObjectReference reference;
    reference.api_version = admission::kDiskConfigApiVersion;
    reference.kind = admission::kDiskConfigKind;
    reference.ns = ns;
    reference.name = name;
    reference.uid = StringAt(config, {"metadata", "uid"});
    context.recorder->Record(reference, kube::EventType::kWarning, "DisksKept", "Delete",
                             DisksKeptNote(ns, name, kept));
    // Sent before the DiskConfig goes, so that it can be found beside it.
    context.recorder->Flush(std::chrono::seconds(5));
  }
  auto removed = EnsureFinalizer(*context.client, kube::resources::kDiskConfigs, ns, name, config,
                                 kDisksFinalizer, false);
  if (!removed) return MakeError(removed.error().message);
  LogEvent(spdlog::level::info, "DiskConfig finalized",
           {{"namespace", ns}, {"name", name}, {"claims_kept", kept}});
  return ReconcileOutcome{};
}

// A DiskConfig made again under the name of a deleted one takes its kept family back:
// the claims lose the orphaned label, so that `-l discoblocks.ondat.io/orphaned=true`
// lists only disks no DiskConfig wants.
Status AdoptOrphans(const Context& context, const std::string& ns,
                    const std::vector<json>& claims) {
  for (const json& claim : claims) {
    if (OwnedByPod(claim)) continue;
    if (StringAt(claim, {"metadata", "labels", kOrphanedLabel}) != "true") continue;
    const std::string claim_name = StringAt(claim, {"metadata", "name"});
    const json patch = {{"metadata", {{"labels", {{kOrphanedLabel, nullptr}}}}}};
    auto patched =
        context.client->MergePatch(kube::resources::kPersistentVolumeClaims, ns, claim_name, patch);
    if (!patched && patched.error().kind != kube::ErrorKind::kNotFound) {
      if (context.operations != nullptr) context.operations->Count("unlabel-orphaned", "error");
      return MakeError(fmt::format("cannot take claim {}/{} back from the orphans: {}", ns,
                                   claim_name, patched.error().message));
    }
    if (context.operations != nullptr) context.operations->Count("unlabel-orphaned", "success");
    LogEvent(spdlog::level::info, "orphaned claim taken back",
             {{"namespace", ns}, {"claim", claim_name}});
  }
  return {};
}

Result<ReconcileOutcome> Reconcile(const Context& context, const std::string& key) {
  const auto [ns, name] = kube::SplitObjectKey(key);
  const auto config = context.disk_configs->Find(ns, name);
  if (!config || !config->is_object()) return ReconcileOutcome{};
  if (BeingDeleted(*config)) return Finalize(context, *config, ns, name);

  auto added = EnsureFinalizer(*context.client, kube::resources::kDiskConfigs, ns, name, *config,
                               kDisksFinalizer, true);
  if (!added) return MakeError(added.error().message);

  StatusInputs inputs;
  inputs.disk_config = config.get();
  auto parsed = ParseCachedDiskConfig(*config);
  if (!parsed) {
    inputs.spec_error = parsed.error().message;
  } else {
    inputs.storage_class_name = parsed->storage_class_name;
    const auto storage_class = context.storage_classes->Find("", inputs.storage_class_name);
    inputs.storage_class_found = storage_class != nullptr;
    if (storage_class) {
      inputs.provisioner = StringAt(*storage_class, {"provisioner"});
      inputs.driver = DriverStatusOf(context.registry, inputs.provisioner);
    }
  }
  inputs.claims = ClaimsOfConfig(context, ns, name);
  if (context.usage.board) {
    for (const json& claim : inputs.claims) {
      const std::string claim_name = StringAt(claim, {"metadata", "name"});
      if (auto fullness = context.usage.board->Find(kube::ObjectKey(ns, claim_name))) {
        inputs.fullness[claim_name] = *fullness;
      }
    }
  }
  auto adopted = AdoptOrphans(context, ns, inputs.claims);
  if (!adopted) return MakeError(adopted.error().message);
  inputs.now = NowRfc3339();
  json status = DesiredStatus(inputs);

  ReconcileOutcome outcome;
  if (inputs.driver.state != DriverStatus::State::kLoaded) {
    outcome.requeue_after = std::chrono::duration_cast<std::chrono::milliseconds>(kDriverRecheck);
  } else if (context.usage.board && !inputs.claims.empty()) {
    outcome.requeue_after = context.usage.refresh;
  }
  const json* current = FindMember(*config, {"status"});
  if (current != nullptr && *current == status) return outcome;
  const json apply = {{"apiVersion", admission::kDiskConfigApiVersion},
                      {"kind", admission::kDiskConfigKind},
                      {"metadata", {{"name", name}, {"namespace", ns}}},
                      {"status", std::move(status)}};
  auto applied =
      context.client->ApplyStatus(kube::resources::kDiskConfigs, ns, name, apply, /*force=*/true);
  if (!applied && applied.error().kind != kube::ErrorKind::kNotFound) {
    return MakeError("status: " + applied.error().message);
  }
  return outcome;
}

}  // namespace

std::vector<std::string> DiskConfigKeyOfClaim(const json& claim) {
  const std::string ns = StringAt(claim, {"metadata", "namespace"});
  std::string name = StringAt(claim, {"metadata", "annotations", admission::kConfigAnnotation});
  if (name.empty()) name = StringAt(claim, {"metadata", "labels", admission::kConfigLabel});
  if (ns.empty() || name.empty()) return {};
  return {kube::ObjectKey(ns, name)};
}

DriverStatus DriverStatusOf(const drivers::Registry* registry, std::string_view provisioner) {
  DriverStatus status;
  status.state = DriverStatus::State::kMissing;
  if (registry == nullptr) return status;
  if (registry->Find(provisioner)) {
    status.state = DriverStatus::State::kLoaded;
    return status;
  }
  for (const auto& entry : registry->Entries()) {
    if (entry.provisioner == provisioner && entry.state == drivers::DriverState::kFailed) {
      status.state = DriverStatus::State::kFailed;
      status.reason = entry.reason;
    }
  }
  return status;
}

std::string DisksKeptNote(std::string_view ns, std::string_view name,
                          const std::vector<std::string>& claims) {
  std::string list;
  for (const auto& claim : claims) list += (list.empty() ? "" : ", ") + claim;
  return fmt::format(
      "DiskConfig deleted; its {} shared disk claim(s) are kept with their data and labelled "
      "{}=true: {}. To delete them: kubectl delete pvc -n {} -l {}={}",
      claims.size(), kOrphanedLabel, list, ns, admission::kConfigLabel,
      admission::FitLabelValue(name));
}

ControllerRegistration DiskConfigController(Manager& manager, const drivers::Registry* registry,
                                            const PvcOperations* operations,
                                            DiskConfigUsage usage) {
  Context context{manager.client(),
                  &manager.Informer(kube::resources::kDiskConfigs),
                  &manager.Informer(kube::resources::kPersistentVolumeClaims),
                  &manager.Informer(kube::resources::kStorageClasses),
                  registry,
                  operations,
                  manager.recorder(),
                  std::move(usage)};
  ControllerRegistration registration;
  registration.name = "diskconfig";
  registration.workers = 2;
  // A StorageClass concerns every DiskConfig that names it.
  const kube::Informer* disk_configs = context.disk_configs;
  MapToKeys by_storage_class = [disk_configs](const json& storage_class) {
    std::vector<std::string> keys;
    const std::string name = StringAt(storage_class, {"metadata", "name"});
    for (const auto& config : disk_configs->List()) {
      const auto named = StorageClassKeyOf(*config);
      if (!named.empty() && named.front() == name) keys.push_back(kube::ObjectKey(*config));
    }
    return keys;
  };
  registration.watches = {{context.disk_configs, nullptr},
                          {context.claims, DiskConfigKeyOfClaim},
                          {context.storage_classes, std::move(by_storage_class)}};
  registration.make_reconciler = [context]() -> Reconciler {
    return [context](const std::string& key) { return Reconcile(context, key); };
  };
  return registration;
}

}  // namespace discoblocks::op
