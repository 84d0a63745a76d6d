#include "drivers/conformance_shapes.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "util/duration.h"

namespace discoblocks::drivers {
namespace conformance {
namespace {

using nlohmann::json;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// One label of a DNS name: lower-case alphanumerics and '-', alphanumeric at both
// ends, at most 63 characters (RFC 1123, as Kubernetes checks names).
bool IsDnsLabel(std::string_view text) {
  if (text.empty() || text.size() > 63) return false;
  const auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok(text.front()) || !ok(text.back())) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) { return ok(c) || c == '-'; });
}

bool IsDnsSubdomain(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  while (true) {
    const auto dot = text.find('.');
    if (!IsDnsLabel(text.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    text.remove_prefix(dot + 1);
  }
}

std::string Show(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 60 ? text.substr(0, 60) + "..." : text;
}

std::string StringProblem(const json& object, std::string_view key, std::string_view where,
                          const std::string& expected) {
  const auto found = object.find(std::string(key));
  if (found == object.end() || !found->is_string()) {
    return fmt::format("{}.{} is missing or not a string; expected {}", where, key,
                       json(expected).dump());
  }
  if (*found != expected) {
    return fmt::format("{}.{} is {}; expected {}, from the inputs", where, key, Show(*found),
                       json(expected).dump());
  }
  return {};
}

// A Kubernetes quantity that is a positive whole number of bytes: digits with
// an optional fraction and an optional binary (Ki..Ei) or decimal (k..E)
// suffix. Exponents ("1e9") and milli-units are legal quantities but no sane
// byte count, so they are refused here.
bool IsByteQuantity(const json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>() > 0;
  if (value.is_number_unsigned()) return value.get<std::uint64_t>() > 0;
  if (!value.is_string()) return false;
  static const std::regex kQuantity(R"(([0-9]+)(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?)");
  const std::string text = value.get<std::string>();
  std::smatch match;
  if (!std::regex_match(text, match, kQuantity)) return false;
  const bool whole_zero = match[1].str().find_first_not_of('0') == std::string::npos;
  const bool fraction_zero =
      !match[2].matched || match[2].str().find_first_not_of("0.") == std::string::npos;
  if (whole_zero && fraction_zero) return false;  // zero
  // A fraction of a byte: only a suffix can make a fraction whole.
  return !match[2].matched || match[3].matched;
}

}  // namespace

bool IsLabelValue(std::string_view value) {
  if (value.empty()) return true;
  if (value.size() > 63 || !IsAlnum(value.front()) || !IsAlnum(value.back())) return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

bool IsLabelKey(std::string_view key) {
  const auto slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (!IsDnsSubdomain(key.substr(0, slash))) return false;
    key.remove_prefix(slash + 1);
  }
  return !key.empty() && IsLabelValue(key);
}

std::string TopologyProblem(const json& terms) {
  if (!terms.is_array()) return "not a JSON array";
  for (std::size_t i = 0; i < terms.size(); ++i) {
    const json& term = terms[i];
    const std::string where = fmt::format("term {}", i);
    if (!term.is_object()) return where + " is not an object";
    for (const auto& item : term.items()) {
      if (item.key() != "matchLabelExpressions") {
        return fmt::format("{} has the field {}, which TopologySelectorTerm does not have", where,
                           json(item.key()).dump());
      }
    }
    const auto expressions = term.find("matchLabelExpressions");
    if (expressions == term.end() || !expressions->is_array() || expressions->empty()) {
      // An empty term matches no node at all: the pod could never be scheduled.
      return where + " has no matchLabelExpressions, so it matches no node";
    }
    for (const json& expression : *expressions) {
      if (!expression.is_object()) return where + ": an expression is not an object";
      const auto key = expression.find("key");
      if (key == expression.end() || !key->is_string() || !IsLabelKey(key->get<std::string>())) {
        return fmt::format("{}: key {} is not a label key", where,
                           Show(expression.value("key", json())));
      }
      const auto values = expression.find("values");
      if (values == expression.end() || !values->is_array() || values->empty()) {
        return fmt::format("{}: {} needs a non-empty values list", where, key->dump());
      }
      for (const json& value : *values) {
        if (!value.is_string() || !IsLabelValue(value.get<std::string>())) {
          return fmt::format("{}: {} is not a label value", where, Show(value));
        }
      }
      for (const auto& item : expression.items()) {
        const std::string& field = item.key();
        if (field != "key" && field != "values") {
          return fmt::format(
              "{}: the expression has the field {}, which a "
              "TopologySelectorLabelRequirement does not have",
              where, json(field).dump());
        }
      }
    }
  }
  return {};
}

std::string PvcStubProblem(const json& pvc, const ConformanceInputs& inputs) {
  if (!pvc.is_object()) return "not a JSON object";
  if (auto problem = StringProblem(pvc, "apiVersion", "the PVC", "v1"); !problem.empty()) {
    return problem;
  }
  if (auto problem = StringProblem(pvc, "kind", "the PVC", "PersistentVolumeClaim");
      !problem.empty()) {
    return problem;
  }
  const auto metadata = pvc.find("metadata");
  if (metadata == pvc.end() || !metadata->is_object())
    return "metadata is missing or not an object";
  if (auto problem = StringProblem(*metadata, "name", "metadata", inputs.pvc_name);
      !problem.empty()) {
    return problem + " (PVC_NAME)";
  }
  if (auto problem = StringProblem(*metadata, "namespace", "metadata", inputs.pvc_namespace);
      !problem.empty()) {
    return problem + " (PVC_NAMESACE)";
  }
  const auto spec = pvc.find("spec");
  if (spec == pvc.end() || !spec->is_object()) return "spec is missing or not an object";
  if (auto problem = StringProblem(*spec, "storageClassName", "spec", inputs.storage_class_name);
      !problem.empty()) {
    return problem + " (STORAGE_CLASS_NAME)";
  }
  if (const auto modes = spec->find("accessModes"); modes != spec->end()) {
    static const std::array<std::string_view, 4> kModes{"ReadWriteOnce", "ReadOnlyMany",
                                                        "ReadWriteMany", "ReadWriteOncePod"};
    if (!modes->is_array()) return "spec.accessModes is not a list";
    for (const json& mode : *modes) {
      if (!mode.is_string() ||
          std::find(kModes.begin(), kModes.end(), mode.get<std::string>()) == kModes.end()) {
        return fmt::format("spec.accessModes has {}, not an access mode", Show(mode));
      }
    }
  }
  if (const auto resources = spec->find("resources"); resources != spec->end()) {
    if (!resources->is_object()) return "spec.resources is not an object";
    for (const char* field : {"requests", "limits"}) {
      const auto quantities = resources->find(field);
      if (quantities == resources->end()) continue;
      if (!quantities->is_object()) return fmt::format("spec.resources.{} is not an object", field);
      for (const auto& [name, quantity] : quantities->items()) {
        if (!quantity.is_string() && !quantity.is_number()) {
          return fmt::format("spec.resources.{}.{} is not a quantity", field, name);
        }
      }
    }
  }
  return {};
}

std::string LabelsProblem(const json& labels) {
  if (!labels.is_object()) return "not a JSON object";
  // An empty selector selects every pod of the namespace: never what is meant.
  if (labels.empty()) return "no labels: that selects every pod of the namespace";
  for (const auto& [key, value] : labels.items()) {
    if (!IsLabelKey(key)) return fmt::format("{} is not a label key", json(key).dump());
    if (!value.is_string() || !IsLabelValue(value.get<std::string>())) {
      return fmt::format("{} of {} is not a label value", Show(value), json(key).dump());
    }
  }
  return {};
}

std::string NamespaceProblem(std::string_view name) {
  if (!IsDnsLabel(name)) {
    return fmt::format("{} is not a namespace name (a DNS label: a-z, 0-9, '-', at most 63)",
                       json(std::string(name)).dump());
  }
  return {};
}

std::string MetaKeyProblem(std::string_view key) {
  const bool odd = std::any_of(key.begin(), key.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7F;
  });
  if (odd)
    return fmt::format("{} has white space or control characters", json(std::string(key)).dump());
  return {};
}

std::string ResizePolicyProblem(const json& policy) {
  if (policy.is_null()) return {};
  if (!policy.is_object()) return "not a JSON object";
  for (const char* field : {"granularity", "minimumIncrease"}) {
    const auto found = policy.find(field);
    if (found != policy.end() && !IsByteQuantity(*found)) {
      return fmt::format(
          "{} is {}; expected a positive whole number of bytes as a Kubernetes quantity "
          "(\"1Gi\", \"500M\") or an integer",
          field, Show(*found));
    }
  }
  const auto count = policy.find("maxModifications");
  const bool limited = count != policy.end() && count->is_number() && *count > 0;
  if (count != policy.end() && (!count->is_number_integer() || *count < 0 || *count > 1000)) {
    return fmt::format("maxModifications is {}; expected an integer from 0 to 1000", Show(*count));
  }
  const auto window = policy.find("window");
  if (window != policy.end()) {
    bool fine = false;
    if (window->is_string()) {
      const auto duration = ParseDuration(window->get<std::string>());
      fine = duration.ok() && *duration >= std::chrono::seconds(1);
    }
    if (!fine) {
      return fmt::format("window is {}; expected a Go duration of at least 1s (\"24h\", \"6h30m\")",
                         Show(*window));
    }
  } else if (limited) {
    return "maxModifications without a window: at most that many in what time?";
  }
  return {};
}

std::string DescribeResizePolicy(const json& policy) {
  if (!policy.is_object()) return "no limits";
  std::vector<std::string> parts;
  for (const char* field : {"granularity", "minimumIncrease"}) {
    if (policy.contains(field)) parts.push_back(fmt::format("{} {}", field, Show(policy[field])));
  }
  if (policy.contains("maxModifications")) {
    parts.push_back(fmt::format("at most {} modification(s) per {}",
                                Show(policy["maxModifications"]),
                                Show(policy.value("window", json()))));
  }
  if (parts.empty()) return "no limits";
  std::string line = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) line += ", " + parts[i];
  return line;
}

}  // namespace conformance

bool SetsDev(std::string_view command) {
  // An assignment at the start of a command, possibly exported, or a read into DEV.
  static const std::regex kAssign(R"((^|[\s;&|({`])((export|local|readonly)\s+)?DEV=)");
  static const std::regex kRead(R"((^|[\s;&|({])read(\s+-\w+)*\s+DEV(\s|$|;))");
  const std::string text(command);
  return std::regex_search(text, kAssign) || std::regex_search(text, kRead);
}

}  // namespace discoblocks::drivers
