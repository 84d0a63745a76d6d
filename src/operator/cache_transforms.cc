#include "operator/cache_transforms.h"

#include <initializer_list>
#include <string_view>

#include "kube/objects.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

// `from[field]` for each field present, into a new object; null when `from`
// is not an object or has none of them.
json Pick(const json& from, std::initializer_list<std::string_view> fields) {
  if (!from.is_object()) return nullptr;
  json picked = json::object();
  for (const std::string_view field : fields) {
    const auto value = from.find(field);
    if (value != from.end()) picked[std::string(field)] = *value;
  }
  return picked.empty() ? json() : picked;
}

const json& Field(const json& object, std::string_view field) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  const auto value = object.find(field);
  return value == object.end() ? kNull : *value;
}

// Sets `object[field]` to `value` unless it is null.
void SetIfAny(json& object, const char* field, json value) {
  if (!value.is_null()) object[field] = std::move(value);
}

// The volumes a disk can be: claims, direct or through a generic ephemeral
// volume's template.
json ClaimVolumes(const json& volumes) {
  if (!volumes.is_array()) return nullptr;
  json kept = json::array();
  for (const json& volume : volumes) {
    if (volume.is_object() &&
        (volume.contains("persistentVolumeClaim") || volume.contains("ephemeral"))) {
      kept.push_back(volume);
    }
  }
  return kept.empty() ? json() : kept;
}

bool Mounts(const json& mount, const json& volumes) {
  const json& name = Field(mount, "name");
  if (!volumes.is_array() || name.is_null()) return false;
  for (const json& volume : volumes) {
    if (Field(volume, "name") == name) return true;
  }
  return false;
}

// Each container's name, and its mounts of `volumes`.
json PodContainers(const json& containers, const json& volumes) {
  if (!containers.is_array()) return nullptr;
  json kept = json::array();
  for (const json& container : containers) {
    json picked = Pick(container, {"name"});
    if (picked.is_null()) picked = json::object();
    const json& mounts = Field(container, "volumeMounts");
    if (mounts.is_array()) {
      json kept_mounts = json::array();
      for (const json& mount : mounts) {
        if (Mounts(mount, volumes)) kept_mounts.push_back(mount);
      }
      if (!kept_mounts.empty()) picked["volumeMounts"] = std::move(kept_mounts);
    }
    kept.push_back(std::move(picked));
  }
  return kept;
}

// Each container's name and ID (where the disk mounter finds its processes);
// null when none has an ID yet.
json ContainerIds(const json& statuses) {
  if (!statuses.is_array()) return nullptr;
  json kept = json::array();
  for (const json& status : statuses) {
    json picked = Pick(status, {"name", "containerID"});
    if (picked.is_object() && picked.contains("containerID")) kept.push_back(std::move(picked));
  }
  return kept.empty() ? json() : kept;
}

}  // namespace

json PodForCache(const json& pod) {
  json kept = json::object();
  SetIfAny(kept, "metadata",
           Pick(Field(pod, "metadata"), {"name", "namespace", "uid", "resourceVersion", "labels",
                                         "ownerReferences", "deletionTimestamp"}));
  const json& spec = Field(pod, "spec");
  json spec_kept = Pick(spec, {"nodeName"});
  if (spec_kept.is_null()) spec_kept = json::object();
  json volumes = ClaimVolumes(Field(spec, "volumes"));
  SetIfAny(spec_kept, "containers", PodContainers(Field(spec, "containers"), volumes));
  SetIfAny(spec_kept, "volumes", std::move(volumes));
  SetIfAny(spec_kept, "affinity", Pick(Field(spec, "affinity"), {"nodeAffinity"}));
  if (!spec_kept.empty()) kept["spec"] = std::move(spec_kept);
  json status = Pick(Field(pod, "status"), {"phase"});
  SetIfAny(status, "containerStatuses",
           ContainerIds(Field(Field(pod, "status"), "containerStatuses")));
  SetIfAny(kept, "status", std::move(status));
  return kept;
}

json PersistentVolumeClaimForCache(const json& claim) {
  json kept = json::object();
  json metadata =
      Pick(Field(claim, "metadata"),
           {"name", "namespace", "uid", "resourceVersion", "generation", "labels", "annotations",
            "ownerReferences", "finalizers", "creationTimestamp", "deletionTimestamp"});
  if (metadata.is_object()) {
    // kube::StripManagedFields on what is left: the last applied annotation.
    json stripped = kube::StripManagedFields(json{{"metadata", std::move(metadata)}});
    kept["metadata"] = std::move(stripped["metadata"]);
  }
  SetIfAny(kept, "spec", Field(claim, "spec"));
  SetIfAny(kept, "status", Field(claim, "status"));
  return kept;
}

json NodeForCache(const json& node) {
  json kept = json::object();
  SetIfAny(kept, "metadata",
           Pick(Field(node, "metadata"), {"name", "uid", "resourceVersion", "labels"}));
  // Where its kubelet answers: the autoscaler reads usage there.
  json status = json::object();
  const json& addresses = Field(Field(node, "status"), "addresses");
  if (addresses.is_array()) {
    json internal = json::array();
    for (const json& address : addresses) {
      if (Field(address, "type") == "InternalIP") internal.push_back(address);
    }
    if (!internal.empty()) status["addresses"] = std::move(internal);
  }
  SetIfAny(status, "daemonEndpoints", Field(Field(node, "status"), "daemonEndpoints"));
  if (!status.empty()) kept["status"] = std::move(status);
  return kept;
}

}  // namespace discoblocks::op
