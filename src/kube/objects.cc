#include "kube/objects.h"

#include "util/json_fields.h"

namespace discoblocks::kube {

using nlohmann::json;

std::string ObjectKey(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

std::string ObjectKey(const json& object) {
  if (!object.is_object()) return {};
  const auto metadata = object.find("metadata");
  if (metadata == object.end()) return {};
  return ObjectKey(StringOr(*metadata, "namespace"), StringOr(*metadata, "name"));
}

std::pair<std::string, std::string> SplitObjectKey(std::string_view key) {
  const auto slash = key.find('/');
  if (slash == std::string_view::npos) return {std::string(), std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

json StripManagedFields(const json& object) {
  if (!object.is_object()) return object;
  json stripped = json::object();
  for (const auto& [field, value] : object.items()) {
    if (field != "metadata" || !value.is_object()) {
      stripped[field] = value;
      continue;
    }
    json& metadata = stripped[field] = json::object();
    for (const auto& [meta_field, meta_value] : value.items()) {
      if (meta_field == "managedFields") continue;
      if (meta_field != "annotations" || !meta_value.is_object()) {
        metadata[meta_field] = meta_value;
        continue;
      }
      json annotations = json::object();
      for (const auto& [name, annotation] : meta_value.items()) {
        if (name != kLastAppliedAnnotation) annotations[name] = annotation;
      }
      if (!annotations.empty()) metadata[meta_field] = std::move(annotations);
    }
  }
  return stripped;
}

}  // namespace discoblocks::kube
