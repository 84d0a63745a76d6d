#include "admission/pod_affinity.h"

#include <algorithm>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "util/json_fields.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

constexpr std::string_view kSelector = "spec.nodeSelector";
constexpr std::string_view kRequired =
    "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution";

// A LabelSelector's operators, which NodeSelectorRequirement shares.
bool TakesValues(std::string_view op) { return op == "In" || op == "NotIn"; }
bool TakesNoValues(std::string_view op) { return op == "Exists" || op == "DoesNotExist"; }

Result<json> NodeRequirement(const json& expression, const std::string& path) {
  if (!expression.is_object()) return WrongType(path, "an object", expression);
  auto key = OptionalString(expression, "key", path + ".key");
  if (!key) return key.error();
  if (key->empty()) return MakeError(path + ".key: is required");
  auto op = OptionalString(expression, "operator", path + ".operator");
  if (!op) return op.error();
  if (!TakesValues(*op) && !TakesNoValues(*op)) {
    return MakeError(
        fmt::format(R"({}.operator: "{}" is not In, NotIn, Exists or DoesNotExist)", path, *op));
  }
  auto values = OptionalArray(expression, "values", path + ".values");
  if (!values) return values.error();
  json requirement = {{"key", *key}, {"operator", *op}};
  const bool has_values = *values != nullptr && !(*values)->empty();
  if (TakesNoValues(*op)) {
    if (has_values) return MakeError(fmt::format("{}.values: must be empty for {}", path, *op));
    return requirement;
  }
  if (!has_values) return MakeError(fmt::format("{}.values: must not be empty for {}", path, *op));
  for (const json& value : **values) {
    if (!value.is_string()) return WrongType(path + ".values", "strings", value);
  }
  requirement["values"] = **values;
  return requirement;
}

// True when the term pins the pod to exactly one node by metadata.name, which
// then is `node`.
bool PinsToOneNode(const json& term, std::string& node) {
  if (!term.is_object()) return false;
  const auto fields = term.find("matchFields");
  if (fields == term.end() || !fields->is_array()) return false;
  for (const json& field : *fields) {
    if (StringOr(field, "key") != "metadata.name" || StringOr(field, "operator") != "In") continue;
    const auto values = field.find("values");
    if (values == field.end() || !values->is_array() || values->size() != 1 ||
        !values->front().is_string()) {
      continue;
    }
    node = values->front().get<std::string>();
    return true;
  }
  return false;
}

bool IsEmptyTerm(const json& term) {
  const auto empty = [&](const char* key) {
    const auto found = term.find(key);
    return found == term.end() || found->is_null() || (found->is_array() && found->empty());
  };
  return empty("matchExpressions") && empty("matchFields");
}

}  // namespace

Result<std::vector<json>> NodeRequirements(const json& label_selector) {
  std::vector<json> requirements;
  if (label_selector.is_null()) return requirements;
  if (!label_selector.is_object()) {
    return WrongType(kSelector, "a LabelSelector (an object)", label_selector);
  }
  auto labels = OptionalObject(label_selector, "matchLabels", "spec.nodeSelector.matchLabels");
  if (!labels) return labels.error();
  if (*labels != nullptr) {
    for (const auto& [key, value] : (*labels)->items()) {
      if (!value.is_string()) {
        return WrongType(fmt::format("{}.matchLabels.{}", kSelector, key), "a string", value);
      }
      requirements.push_back({{"key", key}, {"operator", "In"}, {"values", json::array({value})}});
    }
  }
  auto expressions =
      OptionalArray(label_selector, "matchExpressions", "spec.nodeSelector.matchExpressions");
  if (!expressions) return expressions.error();
  if (*expressions != nullptr) {
    for (std::size_t i = 0; i < (*expressions)->size(); ++i) {
      auto requirement =
          NodeRequirement((**expressions)[i], fmt::format("{}.matchExpressions[{}]", kSelector, i));
      if (!requirement) return requirement.error();
      requirements.push_back(std::move(requirement).value());
    }
  }
  return requirements;
}

bool NodeLabelsMeet(const std::vector<json>& requirements, const json& labels) {
  return std::ranges::all_of(requirements, [&](const json& requirement) {
    const std::string key = requirement.value("key", "");
    const std::string op = requirement.value("operator", "");
    const json* value = labels.is_object() ? FindMember(labels, {key}) : nullptr;
    const bool has = value != nullptr && value->is_string();
    if (op == "Exists") return has;
    if (op == "DoesNotExist") return !has;
    const json values = requirement.value("values", json::array());
    const bool listed = has && std::find(values.begin(), values.end(), *value) != values.end();
    if (op == "In") return listed;
    if (op == "NotIn") return !listed;
    return false;  // NodeRequirements makes no other operator
  });
}

Status RequireNodeAffinity(json& pod, const std::vector<json>& requirements) {
  if (requirements.empty()) return {};
  auto spec_field = OptionalObject(pod, "spec", "spec");
  if (!spec_field) return spec_field.error();
  if (*spec_field == nullptr) return MakeError("spec: is required");
  auto affinity_field = OptionalObject(**spec_field, "affinity", "spec.affinity");
  if (!affinity_field) return affinity_field.error();
  // Built on a copy, so that a malformed term leaves the pod as it was.
  json affinity = *affinity_field != nullptr ? **affinity_field : json::object();
  auto node_affinity = ObjectMember(affinity, "nodeAffinity", "spec.affinity.nodeAffinity");
  if (!node_affinity) return node_affinity.error();
  auto required =
      ObjectMember(**node_affinity, "requiredDuringSchedulingIgnoredDuringExecution", kRequired);
  if (!required) return required.error();
  auto terms =
      ArrayMember(**required, "nodeSelectorTerms", fmt::format("{}.nodeSelectorTerms", kRequired));
  if (!terms) return terms.error();
  if ((*terms)->empty()) {
    (*terms)->push_back({{"matchExpressions", requirements}});
  } else {
    for (std::size_t i = 0; i < (*terms)->size(); ++i) {
      json& term = (**terms)[i];
      const std::string path = fmt::format("{}.nodeSelectorTerms[{}]", kRequired, i);
      if (!term.is_object()) return WrongType(path, "an object", term);
      if (IsEmptyTerm(term)) continue;
      auto expressions = ArrayMember(term, "matchExpressions", path + ".matchExpressions");
      if (!expressions) return expressions.error();
      for (const json& requirement : requirements) {
        if (std::find((*expressions)->begin(), (*expressions)->end(), requirement) ==
            (*expressions)->end()) {
          (*expressions)->push_back(requirement);
        }
      }
    }
  }
  pod["spec"]["affinity"] = std::move(affinity);
  return {};
}

Result<std::optional<std::string>> PodNodeName(const json& pod) {
  const json* spec = FindMember(pod, {"spec"});
  if (spec == nullptr) return std::optional<std::string>();
  auto node_name = OptionalString(*spec, "nodeName", "spec.nodeName");
  if (!node_name) return node_name.error();
  if (!node_name->empty()) return std::optional<std::string>(*node_name);
  const json* terms =
      FindMember(*spec, {"affinity", "nodeAffinity",
                         "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"});
  if (terms == nullptr || !terms->is_array() || terms->empty()) return std::optional<std::string>();
  // Terms are ORed: the pod is pinned only when every term pins it to the same node.
  std::set<std::string> nodes;
  for (const json& term : *terms) {
    std::string node;
    if (!PinsToOneNode(term, node)) return std::optional<std::string>();
    nodes.insert(std::move(node));
  }
  if (nodes.size() != 1) return std::optional<std::string>();
  return std::optional<std::string>(*nodes.begin());
}

bool IsDaemonSetPod(const json& pod) {
  const json* owners = FindMember(pod, {"metadata", "ownerReferences"});
  if (owners == nullptr || !owners->is_array()) return false;
  return std::any_of(owners->begin(), owners->end(), [](const json& owner) {
    const json* controller = FindMember(owner, {"controller"});
    return controller != nullptr && *controller == true && StringOr(owner, "kind") == "DaemonSet";
  });
}

}  // namespace discoblocks::admission
