#include "operator/claim_families.h"

#include <charconv>

#include "admission/names.h"
#include "admission/pod_disks.h"
#include "kube/objects.h"
#include "util/json_fields.h"

namespace discoblocks::op {

using nlohmann::json;

std::string FamilyKey(const admission::DiskConfig& config, const json& claim) {
  std::string key = kube::ObjectKey(config.ns, config.name);
  if (config.availability_mode == admission::kReadWriteSame) return key;
  if (config.availability_mode == admission::kReadWriteDaemon) {
    const std::string node =
        StringAt(claim, {"metadata", "annotations", admission::kNodeAnnotation});
    return node.empty() ? std::string() : key + "/node/" + node;
  }
  const json* owners = FindMember(claim, {"metadata", "ownerReferences"});
  if (owners == nullptr || !owners->is_array()) return {};
  for (const json& owner : *owners) {
    if (StringAt(owner, {"kind"}) == "Pod" && StringAt(owner, {"apiVersion"}) == "v1") {
      const std::string uid = StringAt(owner, {"uid"});
      if (!uid.empty()) return key.append("/pod/").append(uid);
    }
  }
  return {};
}

int ClaimIndex(const json& claim) {
  const std::string text = StringAt(claim, {"metadata", "labels", admission::kIndexLabel});
  int index = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || index < 0 ||
      index >= 150) {
    return -1;
  }
  return index;
}

std::map<std::string, ClaimFamily> PlaceInFamilies(const admission::DiskConfig& config,
                                                   const std::vector<const json*>& claims) {
  struct Members {
    int disks = 0;
    int newest_index = -1;
  };
  std::map<std::string, Members> families;
  for (const json* claim : claims) {
    const std::string family = FamilyKey(config, *claim);
    if (family.empty()) continue;
    Members& members = families[family];
    ++members.disks;
    members.newest_index = std::max(members.newest_index, ClaimIndex(*claim));
  }
  std::map<std::string, ClaimFamily> placed;
  for (const json* claim : claims) {
    const std::string family = FamilyKey(config, *claim);
    ClaimFamily& place = placed[kube::ObjectKey(*claim)];
    if (family.empty()) continue;  // a family of its own: the defaults
    const Members& members = families[family];
    place.disks = members.disks;
    place.newest = ClaimIndex(*claim) == members.newest_index;
  }
  return placed;
}

}  // namespace discoblocks::op
