#include "operator/pod_webhook_sources.h"

#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admission/diskconfig.h"
#include "admission/names.h"
#include "kube/resource.h"
#include "operator/cache_indexes.h"
#include "operator/finalizers.h"
#include "util/json_fields.h"
#include "util/logging.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

// Creates `object`, or returns the one stored under its name.
Result<json> CreateOrGet(const kube::Client& client, const kube::ResourceType& type,
                         const json& object, const PvcOperations* operations) {
  // Only claims are counted (discoblocks_pvc_operations_total).
  const bool is_pvc = type.resource == kube::resources::kPersistentVolumeClaims.resource;
  const json* ns_field = FindMember(object, {"metadata", "namespace"});
  const json* name_field = FindMember(object, {"metadata", "name"});
  const std::string ns =
      ns_field != nullptr && ns_field->is_string() ? ns_field->get<std::string>() : std::string();
  const std::string name =
      name_field != nullptr && name_field->is_string() ? name_field->get<std::string>() : "";
  auto count = [&](std::string_view result) {
    if (is_pvc && operations != nullptr) operations->Count("create", result);
  };
  auto created = client.Create(type, ns, object);
  if (created) {
    count("success");
    return std::move(created).value();
  }
  if (created.error().kind != kube::ErrorKind::kAlreadyExists) {
    count("error");
    return MakeError(created.error().message);
  }
  count("already_exists");
  auto stored = client.Get(type, ns, name);
  if (!stored) return MakeError(stored.error().message);
  return std::move(stored).value();
}

std::string NameOf(const json& object) {
  const json* name = FindMember(object, {"metadata", "name"});
  return name != nullptr && name->is_string() ? name->get<std::string>() : std::string();
}

}  // namespace

PvcOperations::PvcOperations(metrics::Registry* registry) {
  if (registry == nullptr) return;
  counter_ = &registry->Counter("discoblocks_pvc_operations_total",
                                "PersistentVolumeClaim writes by operation and result");
}

void PvcOperations::Count(std::string_view operation, std::string_view result) const {
  if (counter_ == nullptr) return;
  counter_->Increment({{"operation", std::string(operation)}, {"result", std::string(result)}});
}

Result<json> ClientObjectWriter::CreatePvcIfAbsent(const json& pvc) {
  return CreateOrGet(*client_, kube::resources::kPersistentVolumeClaims, pvc, operations_);
}

Result<json> ClientObjectWriter::CreateStorageClassIfAbsent(const json& storage_class) {
  return CreateOrGet(*client_, kube::resources::kStorageClasses, storage_class, operations_);
}

Result<admission::DiskConfig> ParseCachedDiskConfig(const json& object) {
  json typed = object;
  if (typed.is_object()) {
    if (!typed.contains("apiVersion")) typed["apiVersion"] = admission::kDiskConfigApiVersion;
    if (!typed.contains("kind")) typed["kind"] = admission::kDiskConfigKind;
  }
  return admission::ParseDiskConfig(admission::WithDefaults(std::move(typed)));
}

admission::DiskConfigLookup DiskConfigsFromCache(const kube::Informer& disk_configs) {
  return [&disk_configs](std::string_view ns) {
    std::vector<admission::DiskConfig> configs;
    auto objects = disk_configs.ByIndex(kIndexByNamespace, ns);
    if (!objects) return configs;
    for (const auto& object : *objects) {
      if (!object->is_object() || BeingDeleted(*object)) continue;
      auto config = ParseCachedDiskConfig(*object);
      if (!config) {
        LogEvent(spdlog::level::warn, "malformed DiskConfig left out",
                 {{"namespace", std::string(ns)},
                  {"name", NameOf(*object)},
                  {"reason", config.error().message}});
        continue;
      }
      configs.push_back(std::move(config).value());
    }
    return configs;
  };
}

admission::StorageClassLookup StorageClassesFromCache(const kube::Informer& storage_classes) {
  return [&storage_classes](std::string_view name) { return storage_classes.Get("", name); };
}

admission::NodeLookup NodesFromCache(const kube::Informer& nodes) {
  return [&nodes](std::string_view name) { return nodes.Get("", name); };
}

admission::PvcLookup ClaimsFromCache(const kube::Informer& claims) {
  return [&claims](std::string_view ns, const std::map<std::string, std::string>& labels) {
    std::vector<json> found;
    const auto config = labels.find(admission::kConfigLabel);
    auto candidates = config != labels.end() ? claims.ByIndex(kIndexByDiskConfig, config->second)
                                             : claims.ByIndex(kIndexByNamespace, ns);
    if (!candidates) return found;
    for (const auto& claim : *candidates) {
      const json* object_ns = FindMember(*claim, {"metadata", "namespace"});
      if (object_ns == nullptr || *object_ns != ns) continue;
      const json* object_labels = FindMember(*claim, {"metadata", "labels"});
      bool matches = true;
      for (const auto& [key, value] : labels) {
        const json* have = object_labels != nullptr && object_labels->is_object()
                               ? FindMember(*object_labels, {key})
                               : nullptr;
        if (have == nullptr || *have != value) {
          matches = false;
          break;
        }
      }
      if (matches) found.push_back(*claim);
    }
    return found;
  };
}

}  // namespace discoblocks::op
