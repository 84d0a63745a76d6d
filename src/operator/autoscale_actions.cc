#include "operator/autoscale_actions.h"

#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/objects.h"
#include "util/failpoint.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
namespace r = kube::resources;

}  // namespace

AutoscaleActions::AutoscaleActions(std::shared_ptr<const kube::Client> client,
                                   kube::EventRecorder* recorder, metrics::Registry* registry,
                                   const PvcOperations* operations, AddDisk add_disk)
    : client_(std::move(client)),
      recorder_(recorder),
      operations_(operations),
      add_disk_(std::move(add_disk)) {
  if (registry != nullptr) {
    actions_ = &registry->Counter(
        "discoblocks_autoscaler_actions_total",
        "Autoscaler actions by kind (grow, new-disk, at-ceiling, expansion-stuck) and result.");
  }
}

void AutoscaleActions::Carry(const admission::DiskConfig& config, const json& claim,
                             const Decision& decision,
                             const std::vector<kube::Informer::Object>& pods) const {
  switch (decision.action) {
    case AutoscaleAction::kGrow: {
      json patch = {
          {"metadata", {{"annotations", decision.annotations}}},
          {"spec", {{"resources", {{"requests", {{"storage", FormatBytes(decision.to_bytes)}}}}}}}};
      Failpoint("autoscaler-before-grow-patch");
      const bool ok = Patch(claim, std::move(patch), "grow");
      Failpoint("autoscaler-after-grow-patch");
      Count("grow", ok);
      if (operations_ != nullptr) operations_->Count("patch", ok ? "success" : "error");
      if (ok) {
        Report(claim, pods, kube::EventType::kNormal, "Resized", "Resize",
               fmt::format("claim {} grown from {} to {}: {}", decision.pvc,
                           FormatBytes(decision.from_bytes), FormatBytes(decision.to_bytes),
                           decision.reason));
      }
      return;
    }
    case AutoscaleAction::kNewDisk: {
      if (!add_disk_) return;
      auto added = add_disk_(config, claim, decision, pods);
      Count("new-disk", added.ok());
      if (!added) {
        spdlog::warn("autoscaler: a disk after {} could not be added: {}", decision.pvc,
                     added.error().message);
        return;
      }
      // Written only once the new claim exists: should this replica stop in
      // between, the next leader finds the family one disk larger.
      Patch(claim, {{"metadata", {{"annotations", decision.annotations}}}}, "new-disk");
      Report(claim, pods, kube::EventType::kNormal, "DiskAdded", "AddDisk",
             fmt::format("claim {} ({}) added after {}: {}", *added, FormatBytes(decision.to_bytes),
                         decision.pvc, decision.reason));
      return;
    }
    default:
      break;
  }
  if (decision.annotations.empty()) return;
  const bool ok = Patch(claim, {{"metadata", {{"annotations", decision.annotations}}}}, "state");
  if (decision.report_at_ceiling) {
    Count("at-ceiling", ok);
    if (ok) {
      Report(claim, pods, kube::EventType::kWarning, "AtCeiling", "Autoscale",
             fmt::format("claim {} cannot grow further: {}", decision.pvc, decision.reason));
    }
  }
  if (decision.report_stuck) {
    Count("expansion-stuck", ok);
    if (ok) {
      Report(claim, pods, kube::EventType::kWarning, "ExpansionStuck", "Resize",
             fmt::format("claim {}: {}", decision.pvc, decision.reason));
    }
  }
}

bool AutoscaleActions::Patch(const json& claim, json patch, const char* what) const {
  // The resourceVersion makes the patch conditional: a Conflict when the
  // claim changed since it was cached.
  patch["metadata"]["resourceVersion"] = StringAt(claim, {"metadata", "resourceVersion"});
  const std::string ns = StringAt(claim, {"metadata", "namespace"});
  const std::string name = StringAt(claim, {"metadata", "name"});
  auto patched = client_->MergePatch(r::kPersistentVolumeClaims, ns, name, patch);
  if (!patched) {
    spdlog::warn("autoscaler: {} of claim {}/{} not written: {}", what, ns, name,
                 patched.error().message);
    return false;
  }
  return true;
}

void AutoscaleActions::Report(const json& claim, const std::vector<kube::Informer::Object>& pods,
                              kube::EventType type, const char* reason, const char* action,
                              const std::string& note) const {
  spdlog::info("autoscaler: {}: {}", reason, note);
  if (recorder_ == nullptr) return;
  recorder_->Record(kube::ReferenceTo(claim, "v1", "PersistentVolumeClaim"), type, reason, action,
                    note);
  for (const auto& pod : pods)
    recorder_->Record(kube::ReferenceTo(*pod, "v1", "Pod"), type, reason, action, note);
}

void AutoscaleActions::Count(const char* action, bool ok) const {
  if (actions_ != nullptr)
    actions_->Increment({{"action", action}, {"result", ok ? "success" : "error"}});
}

}  // namespace discoblocks::op
