// The typed C++ API over the contract functions. Each returns the contract's
// outcome; on success the value is also converted to a C++ type.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/driver.h"
#include "drivers/outcome.h"

namespace discoblocks::drivers {

template <typename T>
struct Typed {
  Outcome outcome;
  T value{};  // meaningful only when outcome.ok()
  [[nodiscard]] bool ok() const { return outcome.ok(); }
};

// kValid, kInvalid (reason = the driver's stderr) or kError.
Outcome IsStorageClassValid(const Driver& driver, const nlohmann::json& storage_class,
                            const CallOptions& options = {});

// Empty when the driver restricts nothing.
Typed<std::vector<nlohmann::json>> GetStorageClassAllowedTopology(const Driver& driver,
                                                                  const nlohmann::json& node,
                                                                  const CallOptions& options = {});

struct PvcStubRequest {
  std::string name;
  std::string namespace_name;
  std::string storage_class_name;
};
Typed<nlohmann::json> GetPVCStub(const Driver& driver, const PvcStubRequest& request,
                                 const CallOptions& options = {});

Typed<std::string> GetCSIDriverNamespace(const Driver& driver, const CallOptions& options = {});
Typed<std::map<std::string, std::string>> GetCSIDriverPodLabels(const Driver& driver,
                                                                const CallOptions& options = {});

// Shell fragments that set DEV, passed on as the driver printed them.
Typed<std::string> GetPreMountCommand(const Driver& driver, const nlohmann::json& persistent_volume,
                                      const nlohmann::json& volume_attachment,
                                      const CallOptions& options = {});
Typed<std::string> GetPreResizeCommand(const Driver& driver,
                                       const nlohmann::json& persistent_volume,
                                       const std::optional<nlohmann::json>& volume_attachment,
                                       const CallOptions& options = {});

Typed<bool> IsFileSystemManaged(const Driver& driver, const CallOptions& options = {});
// Empty when there is nothing to wait for.
Typed<std::string> WaitForVolumeAttachmentMeta(const Driver& driver,
                                               const CallOptions& options = {});

// The optional GetResizePolicy: what the disk type of `storage_class` allows
// when a volume grows. nullopt when the driver does not export the function
// (a driver built before it: no limits; the outcome is then ok without a call)
// or printed nothing; otherwise the object the driver printed, whose known
// fields have their JSON types (docs/driver-abi.md). The values themselves are
// the operator's to judge (operator/resize_policy.h).
Typed<std::optional<nlohmann::json>> GetResizePolicy(const Driver& driver,
                                                     const nlohmann::json& storage_class,
                                                     const CallOptions& options = {});

}  // namespace discoblocks::drivers
