#include "operator/cache_indexes.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

// object[field] as the one value, when it is a non-empty string.
std::vector<std::string> NonEmptyString(const json* object, std::string_view field) {
  if (object == nullptr || !object->is_object()) return {};
  const auto value = object->find(field);
  if (value == object->end() || !value->is_string() ||
      value->get_ref<const std::string&>().empty()) {
    return {};
  }
  return {value->get<std::string>()};
}

const json* Section(const json& object, std::string_view section) {
  if (!object.is_object()) return nullptr;
  const auto part = object.find(section);
  return part != object.end() ? &*part : nullptr;
}

const json* Labels(const json& object) {
  const json* metadata = Section(object, "metadata");
  if (metadata == nullptr) return nullptr;
  const json* labels = Section(*metadata, "labels");
  return labels != nullptr && labels->is_object() ? labels : nullptr;
}

}  // namespace

std::vector<std::string> NodeNameIndex(const json& object) {
  return NonEmptyString(Section(object, "spec"), "nodeName");
}

std::string LabelIndexValue(std::string_view key, std::string_view value) {
  std::string joined;
  joined.reserve(key.size() + 1 + value.size());
  joined.append(key).append("=").append(value);
  return joined;
}

std::vector<std::string> LabelIndex(const json& object) {
  const json* labels = Labels(object);
  if (labels == nullptr) return {};
  std::vector<std::string> values;
  values.reserve(labels->size());
  for (const auto& [key, value] : labels->items()) {
    if (value.is_string())
      values.push_back(LabelIndexValue(key, value.get_ref<const std::string&>()));
  }
  return values;
}

std::vector<std::string> DiskConfigLabelIndex(const json& object) {
  return NonEmptyString(Labels(object), "discoblocks");
}

std::vector<std::string> NamespaceIndex(const json& object) {
  return NonEmptyString(Section(object, "metadata"), "namespace");
}

}  // namespace discoblocks::op
