// The shapes the conformance suite expects of answers, stricter than what the
// host accepts (interpret.cc): the host only has to use an answer, the suite tells
// an author what the API server or the mount job would refuse later.
// Internal to the conformance suite.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "drivers/conformance.h"

namespace discoblocks::drivers::conformance {

// Each returns "" when the value is fine, else why not (one line).
std::string TopologyProblem(const nlohmann::json& terms);
std::string PvcStubProblem(const nlohmann::json& pvc, const ConformanceInputs& inputs);
std::string LabelsProblem(const nlohmann::json& labels);
std::string NamespaceProblem(std::string_view name);
std::string MetaKeyProblem(std::string_view key);
// GetResizePolicy's object (null: no limits). Stricter than the host, which
// checks JSON types only: quantities must be positive whole byte counts in
// Kubernetes' notation ("1Gi", "500M", 1073741824), maxModifications at most
// 1000, window a Go duration of at least 1s, required with maxModifications.
std::string ResizePolicyProblem(const nlohmann::json& policy);
// One line for people: "no limits", or "granularity 1Gi, at most 4 per 24h".
std::string DescribeResizePolicy(const nlohmann::json& policy);

// Kubernetes' label syntax: a value (at most 63 characters, alphanumerics and
// -_. inside, alphanumeric at both ends; may be empty) and a key ([prefix/]name,
// prefix a DNS subdomain).
bool IsLabelValue(std::string_view value);
bool IsLabelKey(std::string_view key);

}  // namespace discoblocks::drivers::conformance
