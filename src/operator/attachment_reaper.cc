#include "operator/attachment_reaper.h"

#include <algorithm>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "admission/names.h"
#include "kube/objects.h"
#include "operator/cache_indexes.h"
#include "operator/disk_mount_plan.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
namespace r = kube::resources;

// The claim a VolumeAttachment of ours is for: the annotation it was made
// with ("namespace/name").
std::string ClaimKeyOf(const json& attachment) {
  return StringAt(attachment, {"metadata", "annotations", kAttachmentClaimAnnotation});
}

bool Live(const json& pod) {
  const std::string phase = StringAt(pod, {"status", "phase"});
  return phase != "Succeeded" && phase != "Failed" &&
         FindMember(pod, {"metadata", "deletionTimestamp"}) == nullptr;
}

class Sweep {
 public:
  Sweep(const Manager& manager, const kube::Informer* claims, const kube::Informer* pods)
      : client_(manager.client()), claims_(claims), pods_(pods) {}

  Result<ReconcileOutcome> Run(std::chrono::milliseconds interval) {
    kube::ListOptions options;
    options.label_selector = "app.kubernetes.io/managed-by=discoblocks";
    auto listed = client_->ListAll(r::kVolumeAttachments, "", options);
    if (!listed) return MakeError("VolumeAttachments: " + listed.error().message);
    const json* items = FindMember(*listed, {"items"});
    if (items != nullptr && items->is_array()) {
      for (const json& attachment : *items) Consider(attachment);
    }
    return ReconcileOutcome{interval, false};
  }

 private:
  void Consider(const json& attachment) const {
    const std::string key = ClaimKeyOf(attachment);
    if (key.empty()) return;  // not the disk mounter's
    const auto [ns, name] = kube::SplitObjectKey(key);
    const auto claim = claims_->Find(ns, name);
    auto pods = pods_->ByIndex(kIndexByNamespace, ns);
    if (!pods) return;
    const FindClaim find = [this](const std::string& claim_ns, const std::string& claim_name) {
      return claims_->Find(claim_ns, claim_name);
    };
    if (AttachmentInUse(attachment, claim.get(), *pods, find)) return;
    const std::string va = StringAt(attachment, {"metadata", "name"});
    auto deleted = client_->Delete(r::kVolumeAttachments, "", va);
    if (!deleted && deleted.error().kind != kube::ErrorKind::kNotFound) {
      spdlog::warn("attachment reaper: VolumeAttachment {}: {}", va, deleted.error().message);
      return;
    }
    spdlog::info(
        "attachment reaper: VolumeAttachment {} of claim {} on node {} deleted: no pod "
        "there uses it",
        va, key, StringAt(attachment, {"spec", "nodeName"}));
  }

  std::shared_ptr<const kube::Client> client_;
  const kube::Informer* claims_;
  const kube::Informer* pods_;
};

}  // namespace

bool AttachmentInUse(const json& attachment, const json* claim,
                     const std::vector<kube::Informer::Object>& pods, const FindClaim& find_claim) {
  if (claim == nullptr) return false;
  const std::string node = StringAt(attachment, {"spec", "nodeName"});
  const std::string name = StringAt(*claim, {"metadata", "name"});
  const std::string config =
      StringAt(*claim, {"metadata", "annotations", admission::kConfigAnnotation});
  const auto mounted_in = PodUidsIn(*claim, kMountedInAnnotation);
  return std::any_of(pods.begin(), pods.end(), [&](const kube::Informer::Object& pod) {
    if (pod == nullptr || !Live(*pod) || StringAt(*pod, {"spec", "nodeName"}) != node) {
      return false;
    }
    if (mounted_in.contains(StringAt(*pod, {"metadata", "uid"}))) return true;
    const std::string ns = StringAt(*pod, {"metadata", "namespace"});
    for (const std::string& used : ClaimNamesOf(*pod)) {
      if (used == name) return true;
      if (config.empty() || !find_claim) continue;
      // Another disk of the same DiskConfig: the pod is of the family.
      const auto other = find_claim(ns, used);
      if (other != nullptr &&
          StringAt(*other, {"metadata", "annotations", admission::kConfigAnnotation}) == config) {
        return true;
      }
    }
    return false;
  });
}

ControllerRegistration AttachmentReaper(Manager& manager, std::chrono::milliseconds interval) {
  const kube::Informer* claims = &manager.Informer(r::kPersistentVolumeClaims);
  const kube::Informer* pods = &manager.Informer(r::kPods);
  ControllerRegistration registration;
  registration.name = "attachment-reaper";
  registration.initial_keys = {kAttachmentSweepKey};
  registration.caches = {claims, pods};
  registration.make_reconciler = [&manager, claims, pods, interval]() -> Reconciler {
    auto sweep = std::make_shared<Sweep>(manager, claims, pods);
    return [sweep, interval](const std::string& key) -> Result<ReconcileOutcome> {
      if (key != kAttachmentSweepKey) return ReconcileOutcome{};
      return sweep->Run(interval);
    };
  };
  return registration;
}

}  // namespace discoblocks::op
