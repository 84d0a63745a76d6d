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

json PodContainers(const json& containers) {
  if (!containers.is_array()) return nullptr;
  json kept = json::array();
  for (const json& container : containers) {
    json picked = Pick(container, {"name", "volumeMounts"});
    kept.push_back(picked.is_null() ? json::object() : std::move(picked));
  }
  return kept;
}

}  // namespace

json PodForCache(const json& pod) {
  json kept = json::object();
  SetIfAny(kept, "metadata",
           Pick(Field(pod, "metadata"), {"name", "namespace", "uid", "resourceVersion", "labels",
                                         "ownerReferences", "deletionTimestamp"}));
  const json& spec = Field(pod, "spec");
  json spec_kept = Pick(spec, {"nodeName", "volumes", "affinity"});
  if (spec_kept.is_null()) spec_kept = json::object();
  SetIfAny(spec_kept, "containers", PodContainers(Field(spec, "containers")));
  if (!spec_kept.empty()) kept["spec"] = std::move(spec_kept);
  SetIfAny(kept, "status", Pick(Field(pod, "status"), {"phase"}));
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
  return kept;
}

}  // namespace discoblocks::op
