// Small helpers over Kubernetes objects as JSON: the "namespace/name" keys that
// work queues carry, and trimming what caches need not keep.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace discoblocks::kube {

// client-go's key for an object: "namespace/name", or "name" when it has no
// namespace (cluster-scoped).
std::string ObjectKey(const nlohmann::json& object);
std::string ObjectKey(std::string_view ns, std::string_view name);

// The namespace and name in a key made by ObjectKey ("" for the namespace of
// "name"). Splits at the first '/', since names have none.
std::pair<std::string, std::string> SplitObjectKey(std::string_view key);

// A copy of the object without what only the API server's bookkeeping needs:
// metadata.managedFields and the annotation
// kubectl.kubernetes.io/last-applied-configuration (a whole copy of the
// object as last applied), and without `annotations` when nothing else is
// left in it. What is dropped is not copied. Usable as an informer's transform
// (Informer::Options::transform).
nlohmann::json StripManagedFields(const nlohmann::json& object);

// The annotation kubectl apply keeps the last applied object in.
inline constexpr std::string_view kLastAppliedAnnotation =
    "kubectl.kubernetes.io/last-applied-configuration";

}  // namespace discoblocks::kube
