// The DiskConfig controller (keys "namespace/name"):
//   - every DiskConfig carries the finalizer discoblocks.ondat.io/disks;
//   - when one is deleted, the claims of its shared families (ReadWriteSame,
//     ReadWriteDaemon: those not owned by a pod) are kept, labelled
//     discoblocks.ondat.io/orphaned=true, and a Warning Event (DisksKept) on
//     the DiskConfig names them and says how to delete them; then the
//     finalizer goes. ReadWriteOnce claims belong to their pods, whose
//     deletion deletes them: nothing to do;
//   - status (diskconfig_status.h) through server-side apply of the status
//     subresource, written only when it differs from the cached one, so that
//     its own write (which changes the object and comes back through the
//     informer) settles instead of looping.
// Claims, StorageClasses and DiskConfigs are watched; drivers are not (the
// registry changes on its own), so a DiskConfig whose driver is missing or
// failed is looked at again every kDriverRecheck. Nor is usage (the
// autoscaler's UsageBoard): a DiskConfig with claims is looked at again every
// DiskConfigUsage::refresh, and its status written when a whole percent moved.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/registry.h"
#include "operator/diskconfig_status.h"
#include "operator/manager.h"
#include "operator/pod_webhook_sources.h"
#include "operator/usage_board.h"

namespace discoblocks::op {

inline constexpr std::string_view kDisksFinalizer = "discoblocks.ondat.io/disks";
inline constexpr std::chrono::seconds kDriverRecheck{30};

// The DiskConfig a claim belongs to (its annotation, else its label).
std::vector<std::string> DiskConfigKeyOfClaim(const nlohmann::json& claim);

// The driver's state in `registry` (null: every driver missing).
DriverStatus DriverStatusOf(const drivers::Registry* registry, std::string_view provisioner);

// The Event note for claims kept after their DiskConfig was deleted.
std::string DisksKeptNote(std::string_view ns, std::string_view name,
                          const std::vector<std::string>& claims);

// Where status.disks[].usedPercent comes from; no board: no usage shown.
struct DiskConfigUsage {
  std::shared_ptr<const UsageBoard> board;
  std::chrono::milliseconds refresh{std::chrono::seconds(30)};  // the autoscaler's poll interval
};

// The controller, reading the manager's DiskConfig, claim and StorageClass
// caches; `registry` and `operations` may be null and outlive the manager.
ControllerRegistration DiskConfigController(Manager& manager, const drivers::Registry* registry,
                                            const PvcOperations* operations,
                                            DiskConfigUsage usage = {});

}  // namespace discoblocks::op
