// The StorageClass finalizer controller: while any DiskConfig that is not
// being deleted names a StorageClass (spec.storageClassName), that
// StorageClass carries the finalizer discoblocks.ondat.io/in-use, so that
// deleting it waits until no DiskConfig needs it; once none does, the
// finalizer goes. Keys are StorageClass names; a DiskConfig's change
// enqueues the StorageClass it names. Writes are merge patches (finalizers.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/informer.h"
#include "operator/manager.h"

namespace discoblocks::op {

inline constexpr std::string_view kInUseFinalizer = "discoblocks.ondat.io/in-use";

// Whether a DiskConfig of `disk_configs` that is not being deleted names
// `storage_class`.
bool StorageClassInUse(std::string_view storage_class,
                       const std::vector<kube::Informer::Object>& disk_configs);

// The key of the StorageClass a DiskConfig names (none when it names none).
std::vector<std::string> StorageClassKeyOf(const nlohmann::json& disk_config);

// The controller, reading the manager's StorageClass and DiskConfig caches
// and writing through its client.
ControllerRegistration StorageClassFinalizerController(Manager& manager);

}  // namespace discoblocks::op
