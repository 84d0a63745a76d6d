#include "kube/conflict_retry.h"

namespace discoblocks::kube {

KubeResult<nlohmann::json> UpdateWithRetry(const Client& client, const ResourceType& type,
                                           std::string_view ns, std::string_view name,
                                           const std::function<void(nlohmann::json&)>& change,
                                           bool status, ConflictRetry policy) {
  return RetryOnConflict(
      [&]() -> KubeResult<nlohmann::json> {
        auto current = client.Get(type, ns, name);
        if (!current) return current;
        nlohmann::json changed = *current;
        change(changed);
        if (changed == *current) return current;
        return status ? client.UpdateStatus(type, ns, changed) : client.Update(type, ns, changed);
      },
      policy);
}

}  // namespace discoblocks::kube
