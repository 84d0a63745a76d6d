// The indexes of the operator's informers (kube::Informer::Options::indexes):
// pods by node and by label, claims by the DiskConfig that made them,
// DiskConfigs by namespace. Each function gives the values an object is filed
// under; objects without the field are filed under none. Nothing throws, whatever
// the object's shape.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace discoblocks::op {

// Pods by spec.nodeName (unscheduled pods: none).
inline constexpr std::string_view kIndexByNode = "node";
std::vector<std::string> NodeNameIndex(const nlohmann::json& object);

// Objects by each of their labels, as LabelIndexValue(key, value): the pods a
// selector's matchLabels may match are under any one of its pairs.
inline constexpr std::string_view kIndexByLabel = "label";
std::vector<std::string> LabelIndex(const nlohmann::json& object);
std::string LabelIndexValue(std::string_view key, std::string_view value);

// Claims by the value of their `discoblocks` label (the DiskConfig's name).
inline constexpr std::string_view kIndexByDiskConfig = "discoblocks";
std::vector<std::string> DiskConfigLabelIndex(const nlohmann::json& object);

// Namespaced objects by metadata.namespace.
inline constexpr std::string_view kIndexByNamespace = "namespace";
std::vector<std::string> NamespaceIndex(const nlohmann::json& object);

}  // namespace discoblocks::op
