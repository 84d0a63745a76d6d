#include "admission/diskconfig.h"

#include <fmt/format.h>

#include "util/duration.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

void Default(json& object, const char* key, json value) {
  if (!object.contains(key) || object[key].is_null()) object[key] = std::move(value);
}

Error FieldError(std::string_view field, std::string_view why) {
  return MakeError(fmt::format("{}: {}", field, why));
}

Result<std::string> String(const json& object, const char* key, std::string_view field) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return std::string();
  if (!found->is_string()) return FieldError(field, "must be a string");
  return found->get<std::string>();
}

Result<int> Integer(const json& object, const char* key, std::string_view field) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) {
    return FieldError(field, "must be an integer");
  }
  return found->get<int>();
}

Result<kube::Quantity> QuantityField(const json& object, const char* key, std::string_view field) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return FieldError(field, "is required");
  auto quantity = kube::Quantity::FromJson(*found);
  if (!quantity) return FieldError(field, quantity.error().message);
  return quantity;
}

}  // namespace

json WithDefaults(json object) {
  if (!object.is_object()) return object;
  Default(object, "spec", json::object());
  json& spec = object["spec"];
  if (!spec.is_object()) return object;
  Default(spec, "capacity", "1Gi");
  Default(spec, "mountPointPattern", "/media/discoblocks/disk-%d");
  Default(spec, "accessModes", json::array({"ReadWriteOnce"}));
  Default(spec, "availabilityMode", "ReadWriteOnce");
  Default(spec, "policy", json::object());
  json& policy = spec["policy"];
  if (!policy.is_object()) return object;
  Default(policy, "upscaleTriggerPercentage", 80);
  Default(policy, "maximumCapacityOfDisk", "1000Gi");
  Default(policy, "maximumNumberOfDisks", 1);
  Default(policy, "extendCapacity", "1Gi");
  Default(policy, "coolDown", "5m");
  Default(policy, "pause", false);
  return object;
}

Result<DiskConfig> ParseDiskConfig(const json& object) {
  if (!object.is_object()) return MakeError("not an object");
  if (object.value("apiVersion", "") != kDiskConfigApiVersion ||
      object.value("kind", "") != kDiskConfigKind) {
    return MakeError(fmt::format("not a {} {} (apiVersion {}, kind {})", kDiskConfigApiVersion,
                                 kDiskConfigKind, object.value("apiVersion", "missing"),
                                 object.value("kind", "missing")));
  }
  DiskConfig config;
  const json metadata = object.value("metadata", json::object());
  if (!metadata.is_object()) return FieldError("metadata", "must be an object");
  config.ns = metadata.value("namespace", "");
  config.name = metadata.value("name", "");
  const json spec = object.value("spec", json());
  if (!spec.is_object()) return FieldError("spec", "must be an object");

  auto storage_class = String(spec, "storageClassName", "spec.storageClassName");
  if (!storage_class) return storage_class.error();
  config.storage_class_name = *storage_class;
  auto capacity = QuantityField(spec, "capacity", "spec.capacity");
  if (!capacity) return capacity.error();
  config.capacity = *capacity;
  auto pattern = String(spec, "mountPointPattern", "spec.mountPointPattern");
  if (!pattern) return pattern.error();
  config.mount_point_pattern = *pattern;
  auto availability = String(spec, "availabilityMode", "spec.availabilityMode");
  if (!availability) return availability.error();
  config.availability_mode = *availability;
  if (const auto modes = spec.find("accessModes"); modes != spec.end() && modes->is_array()) {
    for (const json& mode : *modes) {
      if (!mode.is_string()) return FieldError("spec.accessModes", "items must be strings");
      config.access_modes.push_back(mode.get<std::string>());
    }
  }
  config.node_selector = spec.value("nodeSelector", json());
  config.pod_selector = spec.value("podSelector", json());

  const json policy = spec.value("policy", json::object());
  if (!policy.is_object()) return FieldError("spec.policy", "must be an object");
  auto trigger =
      Integer(policy, "upscaleTriggerPercentage", "spec.policy.upscaleTriggerPercentage");
  if (!trigger) return trigger.error();
  config.policy.upscale_trigger_percentage = *trigger;
  auto maximum =
      QuantityField(policy, "maximumCapacityOfDisk", "spec.policy.maximumCapacityOfDisk");
  if (!maximum) return maximum.error();
  config.policy.maximum_capacity_of_disk = *maximum;
  auto disks = Integer(policy, "maximumNumberOfDisks", "spec.policy.maximumNumberOfDisks");
  if (!disks) return disks.error();
  config.policy.maximum_number_of_disks = *disks;
  auto extend = QuantityField(policy, "extendCapacity", "spec.policy.extendCapacity");
  if (!extend) return extend.error();
  config.policy.extend_capacity = *extend;
  auto cool_down_text = String(policy, "coolDown", "spec.policy.coolDown");
  if (!cool_down_text) return cool_down_text.error();
  auto cool_down = ParseDuration(*cool_down_text);
  if (!cool_down) return FieldError("spec.policy.coolDown", cool_down.error().message);
  config.policy.cool_down = *cool_down;
  const auto pause = policy.find("pause");
  if (pause != policy.end() && !pause->is_boolean()) {
    return FieldError("spec.policy.pause", "must be true or false");
  }
  config.policy.pause = pause != policy.end() && pause->get<bool>();
  return config;
}

}  // namespace discoblocks::admission
