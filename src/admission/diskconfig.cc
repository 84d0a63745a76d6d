#include "admission/diskconfig.h"

#include <climits>
#include <cstdint>

#include <fmt/format.h>

#include "admission/diskconfig_crd.h"
#include "admission/mount_points.h"
#include "kube/schema_defaults.h"
#include "util/duration.h"
#include "util/json_fields.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

Error FieldError(std::string_view field, std::string_view why) {
  return MakeError(fmt::format("{}: {}", field, why));
}

// Stands in for an absent object, so that its fields read as absent.
const json& NoObject() {
  static const json kNone = json::object();
  return kNone;
}

Result<int> Integer(const json& object, const char* key, std::string_view field) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) {
    return FieldError(field, found == object.end()
                                 ? "must be an integer"
                                 : fmt::format("must be an integer, got {}", JsonTypeName(*found)));
  }
  // get<int>() would silently wrap a value out of int's range.
  const bool in_range =
      found->is_number_unsigned()
          ? found->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT_MAX)
          : found->get<std::int64_t>() >= INT_MIN && found->get<std::int64_t>() <= INT_MAX;
  if (!in_range) return FieldError(field, fmt::format("{} is out of range", found->dump()));
  return found->get<int>();
}

Result<kube::Quantity> QuantityField(const json& object, const char* key, std::string_view field) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return FieldError(field, "is required");
  // Checked here so that a large array or object is not quoted in the message.
  if (!found->is_string() && !found->is_number_integer()) {
    return WrongType(field, "a quantity string such as 1Gi", *found);
  }
  auto quantity = kube::Quantity::FromJson(*found);
  if (!quantity) return FieldError(field, quantity.error().message);
  return quantity;
}

}  // namespace

json WithDefaults(json object) {
  kube::ApplySchemaDefaults(object, DiskConfigSchema());
  return object;
}

Result<DiskConfig> ParseDiskConfig(const json& object) {
  if (!object.is_object()) return MakeError("not an object");
  auto api_version = OptionalString(object, "apiVersion", "apiVersion", "missing");
  if (!api_version) return api_version.error();
  auto kind = OptionalString(object, "kind", "kind", "missing");
  if (!kind) return kind.error();
  if (*api_version != kDiskConfigApiVersion || *kind != kDiskConfigKind) {
    return MakeError(fmt::format("not a {} {} (apiVersion {}, kind {})", kDiskConfigApiVersion,
                                 kDiskConfigKind, *api_version, *kind));
  }
  DiskConfig config;
  auto metadata_field = OptionalObject(object, "metadata", "metadata");
  if (!metadata_field) return metadata_field.error();
  const json& metadata = *metadata_field != nullptr ? **metadata_field : NoObject();
  auto ns = OptionalString(metadata, "namespace", "metadata.namespace");
  if (!ns) return ns.error();
  config.ns = *ns;
  auto name = OptionalString(metadata, "name", "metadata.name");
  if (!name) return name.error();
  config.name = *name;
  auto spec_field = OptionalObject(object, "spec", "spec");
  if (!spec_field) return spec_field.error();
  if (*spec_field == nullptr) return FieldError("spec", "must be an object");
  const json& spec = **spec_field;

  auto storage_class = OptionalString(spec, "storageClassName", "spec.storageClassName");
  if (!storage_class) return storage_class.error();
  config.storage_class_name = *storage_class;
  auto capacity = QuantityField(spec, "capacity", "spec.capacity");
  if (!capacity) return capacity.error();
  config.capacity = *capacity;
  auto pattern = OptionalString(spec, "mountPointPattern", "spec.mountPointPattern");
  if (!pattern) return pattern.error();
  config.mount_point_pattern_is_default =
      !spec.contains("mountPointPattern") || spec["mountPointPattern"].is_null();
  config.mount_point_pattern =
      config.mount_point_pattern_is_default ? DefaultMountPointPattern(config.name) : *pattern;
  auto availability = OptionalString(spec, "availabilityMode", "spec.availabilityMode");
  if (!availability) return availability.error();
  config.availability_mode = *availability;
  if (const auto modes = spec.find("accessModes"); modes != spec.end() && !modes->is_null()) {
    if (!modes->is_array()) return WrongType("spec.accessModes", "an array", *modes);
    for (const json& mode : *modes) {
      if (!mode.is_string()) return FieldError("spec.accessModes", "items must be strings");
      config.access_modes.push_back(mode.get<std::string>());
    }
  }
  config.node_selector = spec.value("nodeSelector", json());
  config.pod_selector = spec.value("podSelector", json());

  auto policy_field = OptionalObject(spec, "policy", "spec.policy");
  if (!policy_field) return policy_field.error();
  const json& policy = *policy_field != nullptr ? **policy_field : NoObject();
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
  auto cool_down_text = OptionalString(policy, "coolDown", "spec.policy.coolDown");
  if (!cool_down_text) return cool_down_text.error();
  auto cool_down = ParseDuration(*cool_down_text);
  if (!cool_down) return FieldError("spec.policy.coolDown", cool_down.error().message);
  config.policy.cool_down = *cool_down;
  const auto pause = policy.find("pause");
  if (pause != policy.end() && !pause->is_boolean()) {
    return FieldError("spec.policy.pause", "must be true or false");
  }
  config.policy.pause = pause != policy.end() && pause->get<bool>();

  for (const auto& [key, target] :
       {std::pair{"inodesTriggerPercentage", &config.policy.inodes_trigger_percentage},
        std::pair{"extendPercentage", &config.policy.extend_percentage}}) {
    if (const auto found = policy.find(key); found == policy.end() || found->is_null()) continue;
    auto value = Integer(policy, key, fmt::format("spec.policy.{}", key));
    if (!value) return value.error();
    *target = *value;
  }
  auto sustained_text = OptionalString(policy, "sustainedFor", "spec.policy.sustainedFor", "0s");
  if (!sustained_text) return sustained_text.error();
  auto sustained = ParseDuration(*sustained_text);
  if (!sustained) return FieldError("spec.policy.sustainedFor", sustained.error().message);
  config.policy.sustained_for = *sustained;
  return config;
}

}  // namespace discoblocks::admission
