#include "operator/disk_mount_plan.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "kube/objects.h"
#include "operator/claim_families.h"
#include "operator/diskconfig_controller.h"
#include "util/json_fields.h"
#include "util/sha256.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

bool Running(const json& pod) {
  return !StringAt(pod, {"spec", "nodeName"}).empty() &&
         StringAt(pod, {"status", "phase"}) == "Running" &&
         FindMember(pod, {"metadata", "deletionTimestamp"}) == nullptr;
}

// Whether `other` is a disk of `claim`'s family: made by the same DiskConfig
// and placed in the same family (FamilyKey), e.g. disk 0 of the pod that owns
// `claim`.
bool SameFamily(const admission::DiskConfig& config, const json& claim, const json& other) {
  const std::string family = FamilyKey(config, claim);
  if (family.empty() || FamilyKey(config, other) != family) return false;
  const std::string key = kube::ObjectKey(config.ns, config.name);
  const auto configs = DiskConfigKeyOfClaim(other);
  return std::find(configs.begin(), configs.end(), key) != configs.end();
}

}  // namespace

std::set<std::string> PodUidsIn(const json& claim, const char* annotation) {
  std::set<std::string> uids;
  std::istringstream words(StringAt(claim, {"metadata", "annotations", annotation}));
  for (std::string uid; words >> uid;) uids.insert(uid);
  return uids;
}

std::string WithPodUid(const json& claim, const char* annotation, const std::string& uid) {
  std::set<std::string> uids = PodUidsIn(claim, annotation);
  uids.insert(uid);
  std::string value;
  for (const std::string& each : uids) {
    if (!value.empty()) value += ' ';
    value += each;
  }
  return value;
}

std::vector<std::string> ClaimNamesOf(const json& pod) {
  std::vector<std::string> names;
  const json* volumes = FindMember(pod, {"spec", "volumes"});
  if (volumes == nullptr || !volumes->is_array()) return names;
  for (const json& volume : *volumes) {
    std::string claim = StringAt(volume, {"persistentVolumeClaim", "claimName"});
    if (claim.empty() && FindMember(volume, {"ephemeral"}) != nullptr) {
      claim = StringAt(pod, {"metadata", "name"}) + "-" + StringAt(volume, {"name"});
    }
    if (!claim.empty()) names.push_back(std::move(claim));
  }
  return names;
}

std::vector<kube::Informer::Object> PodsToMountInto(const admission::DiskConfig& config,
                                                    const json& claim,
                                                    const std::vector<kube::Informer::Object>& pods,
                                                    const FindClaim& find_claim) {
  const std::string ns = StringAt(claim, {"metadata", "namespace"});
  const std::string name = StringAt(claim, {"metadata", "name"});
  const std::set<std::string> mounted = PodUidsIn(claim, kMountedInAnnotation);
  const std::set<std::string> failed = PodUidsIn(claim, kMountFailedAnnotation);
  std::vector<kube::Informer::Object> wanted;
  for (const auto& pod : pods) {
    if (pod == nullptr || !Running(*pod) || StringAt(*pod, {"metadata", "namespace"}) != ns) {
      continue;
    }
    const std::string uid = StringAt(*pod, {"metadata", "uid"});
    if (uid.empty() || mounted.contains(uid) || failed.contains(uid)) continue;
    const auto names = ClaimNamesOf(*pod);
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;  // it has it
    const bool in_family = std::any_of(names.begin(), names.end(), [&](const std::string& other) {
      const auto found = find_claim(ns, other);
      return found != nullptr && SameFamily(config, claim, *found);
    });
    if (in_family) wanted.push_back(pod);
  }
  return wanted;
}

std::string VolumeAttachmentName(const std::string& volume_handle, const std::string& driver,
                                 const std::string& node) {
  return "csi-" + Sha256Hex(volume_handle + driver + node);
}

Result<json> VolumeAttachmentFor(const json& persistent_volume, const std::string& node) {
  const std::string pv = StringAt(persistent_volume, {"metadata", "name"});
  const std::string driver = StringAt(persistent_volume, {"spec", "csi", "driver"});
  const std::string handle = StringAt(persistent_volume, {"spec", "csi", "volumeHandle"});
  if (pv.empty() || driver.empty() || handle.empty()) {
    return MakeError(
        fmt::format("PersistentVolume \"{}\" is not a CSI volume (no spec.csi.driver "
                    "and volumeHandle)",
                    pv));
  }
  if (node.empty()) return MakeError("a VolumeAttachment needs a node");
  json attachment = {{"apiVersion", "storage.k8s.io/v1"}, {"kind", "VolumeAttachment"}};
  attachment["metadata"] = {{"name", VolumeAttachmentName(handle, driver, node)},
                            {"labels", {{"app.kubernetes.io/managed-by", "discoblocks"}}}};
  const std::string claim_ns = StringAt(persistent_volume, {"spec", "claimRef", "namespace"});
  const std::string claim = StringAt(persistent_volume, {"spec", "claimRef", "name"});
  if (!claim_ns.empty() && !claim.empty()) {
    attachment["metadata"]["annotations"] = {{kAttachmentClaimAnnotation, claim_ns + "/" + claim}};
  }
  attachment["spec"] = {
      {"attacher", driver}, {"nodeName", node}, {"source", {{"persistentVolumeName", pv}}}};
  return attachment;
}

bool SameAttachment(const json& attachment, const json& wanted) {
  return StringAt(attachment, {"spec", "source", "persistentVolumeName"}) ==
             StringAt(wanted, {"spec", "source", "persistentVolumeName"}) &&
         StringAt(attachment, {"spec", "nodeName"}) == StringAt(wanted, {"spec", "nodeName"}) &&
         StringAt(attachment, {"spec", "attacher"}) == StringAt(wanted, {"spec", "attacher"});
}

bool Attached(const json& attachment, const std::string& metadata_key) {
  const json* attached = FindMember(attachment, {"status", "attached"});
  if (attached == nullptr || !attached->is_boolean() || !attached->get<bool>()) return false;
  if (metadata_key.empty()) return true;
  const json* metadata = FindMember(attachment, {"status", "attachmentMetadata"});
  return metadata != nullptr && metadata->is_object() && metadata->contains(metadata_key);
}

bool AttachRequired(const json* csi_driver) {
  if (csi_driver == nullptr) return true;
  const json* required = FindMember(*csi_driver, {"spec", "attachRequired"});
  return required == nullptr || !required->is_boolean() || required->get<bool>();
}

Result<std::vector<MountTarget>> MountTargets(const json& pod, const std::string& mount_path) {
  const json* containers = FindMember(pod, {"spec", "containers"});
  if (containers == nullptr || !containers->is_array() || containers->empty()) {
    return MakeError("the pod has no containers");
  }
  const json* statuses = FindMember(pod, {"status", "containerStatuses"});
  std::vector<MountTarget> targets;
  for (const json& container : *containers) {
    const std::string name = StringAt(container, {"name"});
    std::string id;
    if (statuses != nullptr && statuses->is_array()) {
      for (const json& status : *statuses) {
        if (StringAt(status, {"name"}) == name) id = StringAt(status, {"containerID"});
      }
    }
    if (id.empty()) return MakeError(fmt::format("container {} has not started yet", name));
    targets.push_back({name, std::move(id), mount_path});
  }
  return targets;
}

}  // namespace discoblocks::op
