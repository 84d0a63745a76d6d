#include "operator/finalizers.h"

#include "kube/conflict_retry.h"
#include "util/json_fields.h"

namespace discoblocks::op {

using nlohmann::json;

bool HasFinalizer(const json& object, std::string_view finalizer) {
  const json* finalizers = FindMember(object, {"metadata", "finalizers"});
  if (finalizers == nullptr || !finalizers->is_array()) return false;
  for (const json& entry : *finalizers) {
    if (entry.is_string() && entry.get_ref<const std::string&>() == finalizer) return true;
  }
  return false;
}

bool BeingDeleted(const json& object) {
  return FindMember(object, {"metadata", "deletionTimestamp"}) != nullptr;
}

std::optional<json> FinalizerPatch(const json& object, std::string_view finalizer, bool present) {
  if (HasFinalizer(object, finalizer) == present) return std::nullopt;
  if (present && BeingDeleted(object)) return std::nullopt;
  json finalizers = json::array();
  const json* current = FindMember(object, {"metadata", "finalizers"});
  if (current != nullptr && current->is_array()) {
    for (const json& entry : *current) {
      if (entry.is_string() && entry.get_ref<const std::string&>() == finalizer) continue;
      finalizers.push_back(entry);
    }
  }
  if (present) finalizers.push_back(std::string(finalizer));
  json patch = {{"metadata", {{"finalizers", std::move(finalizers)}}}};
  const json* version = FindMember(object, {"metadata", "resourceVersion"});
  if (version != nullptr && version->is_string()) {
    patch["metadata"]["resourceVersion"] = *version;
  }
  return patch;
}

kube::KubeResult<bool> EnsureFinalizer(const kube::Client& client, const kube::ResourceType& type,
                                       std::string_view ns, std::string_view name,
                                       const json& cached, std::string_view finalizer,
                                       bool present) {
  bool fresh_read_needed = false;
  return kube::RetryOnConflict([&]() -> kube::KubeResult<bool> {
    json current = cached;
    if (fresh_read_needed) {
      auto read = client.Get(type, ns, name);
      if (!read) {
        if (read.error().kind == kube::ErrorKind::kNotFound) return false;
        return read.error();
      }
      current = std::move(read).value();
    }
    fresh_read_needed = true;  // the next attempt follows a conflict
    const auto patch = FinalizerPatch(current, finalizer, present);
    if (!patch) return false;
    auto patched = client.MergePatch(type, ns, name, *patch);
    if (!patched) {
      if (patched.error().kind == kube::ErrorKind::kNotFound) return false;
      return patched.error();
    }
    return true;
  });
}

}  // namespace discoblocks::op
