// Carrying out the autoscaler's decisions (autoscaler.h says what each does).
// Each write is conditional on the claim's resourceVersion the decision was
// made on: a claim changed since (by a new leader, a user, the resizer) is
// decided again next cycle rather than acted on from a stale view.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "kube/client.h"
#include "kube/event_recorder.h"
#include "kube/informer.h"
#include "operator/autoscale_decision.h"
#include "operator/pod_webhook_sources.h"

namespace discoblocks::metrics {
class CounterFamily;
class Registry;
}  // namespace discoblocks::metrics

namespace discoblocks::op {

// Makes the next disk of the claim's family (a new claim, index one above the
// newest), for pods `users`. Returns the new claim's name.
using AddDisk = std::function<Result<std::string>(
    const admission::DiskConfig& config, const nlohmann::json& claim, const Decision& decision,
    const std::vector<kube::Informer::Object>& users)>;

class AutoscaleActions {
 public:
  // `recorder`, `registry` and `operations` may be null; all outlive this.
  AutoscaleActions(std::shared_ptr<const kube::Client> client, kube::EventRecorder* recorder,
                   metrics::Registry* registry, const PvcOperations* operations, AddDisk add_disk);

  // Carries out `decision` about `claim` (as cached), whose users are `pods`.
  void Carry(const admission::DiskConfig& config, const nlohmann::json& claim,
             const Decision& decision, const std::vector<kube::Informer::Object>& pods) const;

 private:
  // Merge-patches the claim (conditional on its resourceVersion); true on success.
  bool Patch(const nlohmann::json& claim, nlohmann::json patch, const char* what) const;
  void Report(const nlohmann::json& claim, const std::vector<kube::Informer::Object>& pods,
              kube::EventType type, const char* reason, const char* action,
              const std::string& note) const;
  void Count(const char* action, bool ok) const;

  std::shared_ptr<const kube::Client> client_;
  kube::EventRecorder* recorder_;
  metrics::CounterFamily* actions_ = nullptr;
  const PvcOperations* operations_;
  AddDisk add_disk_;
};

}  // namespace discoblocks::op
