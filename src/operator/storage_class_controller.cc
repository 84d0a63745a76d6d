#include "operator/storage_class_controller.h"

#include "kube/objects.h"
#include "kube/resource.h"
#include "operator/finalizers.h"
#include "util/json_fields.h"
#include "util/logging.h"

namespace discoblocks::op {

using nlohmann::json;

bool StorageClassInUse(std::string_view storage_class,
                       const std::vector<kube::Informer::Object>& disk_configs) {
  for (const auto& config : disk_configs) {
    if (!config || BeingDeleted(*config)) continue;
    const json* named = FindMember(*config, {"spec", "storageClassName"});
    if (named != nullptr && named->is_string() &&
        named->get_ref<const std::string&>() == storage_class) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> StorageClassKeyOf(const json& disk_config) {
  const json* named = FindMember(disk_config, {"spec", "storageClassName"});
  if (named == nullptr || !named->is_string() || named->get_ref<const std::string&>().empty()) {
    return {};
  }
  return {kube::ObjectKey("", named->get<std::string>())};
}

ControllerRegistration StorageClassFinalizerController(Manager& manager) {
  kube::Informer& storage_classes = manager.Informer(kube::resources::kStorageClasses);
  kube::Informer& disk_configs = manager.Informer(kube::resources::kDiskConfigs);
  ControllerRegistration registration;
  registration.name = "storageclass-finalizer";
  registration.watches = {{&storage_classes, nullptr}, {&disk_configs, StorageClassKeyOf}};
  registration.make_reconciler = [&storage_classes, &disk_configs,
                                  client = manager.client()]() -> Reconciler {
    return [&storage_classes, &disk_configs,
            client](const std::string& key) -> Result<ReconcileOutcome> {
      const auto [ns, name] = kube::SplitObjectKey(key);
      const auto storage_class = storage_classes.Find("", name);
      if (!storage_class) return ReconcileOutcome{};
      const bool in_use = StorageClassInUse(name, disk_configs.List());
      auto written = EnsureFinalizer(*client, kube::resources::kStorageClasses, "", name,
                                     *storage_class, kInUseFinalizer, in_use);
      if (!written) return MakeError(written.error().message);
      if (*written) {
        LogEvent(spdlog::level::info, in_use ? "finalizer added" : "finalizer removed",
                 {{"storageclass", name}, {"finalizer", std::string(kInUseFinalizer)}});
      }
      return ReconcileOutcome{};
    };
  };
  return registration;
}

}  // namespace discoblocks::op
