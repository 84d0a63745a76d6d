// A pod's node: where it runs, and where a DiskConfig lets its disks be.
// Part of the pod mutation (pod_mutation.h); pure functions over JSON.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::admission {

// A DiskConfig's spec.nodeSelector (a LabelSelector: matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist) as the
// NodeSelectorRequirements that say the same of a node's labels: a label
// k=v becomes {key: k, operator: In, values: [v]}, an expression is copied.
// Null or an empty selector gives none. The error names the field that is
// malformed, e.g. "spec.nodeSelector.matchExpressions[0].operator: ...".
Result<std::vector<nlohmann::json>> NodeRequirements(const nlohmann::json& label_selector);

// Whether a node with `labels` meets every one of `requirements` (as made by
// NodeRequirements: In, NotIn, Exists, DoesNotExist), as the scheduler would
// judge a nodeSelectorTerm's matchExpressions.
bool NodeLabelsMeet(const std::vector<nlohmann::json>& requirements, const nlohmann::json& labels);

// ANDs `requirements` into the pod's required node affinity
// (spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution):
// appended to the matchExpressions of each of its nodeSelectorTerms (the terms
// are ORed, so each must carry them), or as one new term when it has none.
// An empty term matches no node and is left so. A requirement a term already
// has is not added twice. The error names a field of the wrong type; the pod
// is then unchanged.
Status RequireNodeAffinity(nlohmann::json& pod, const std::vector<nlohmann::json>& requirements);

// The node the pod will run on, when known before scheduling: spec.nodeName,
// or else the one node its required node affinity pins it to with
// `matchFields` `metadata.name In [node]` (as the DaemonSet controller writes
// it). Nullopt when neither says; an error for a field of the wrong type.
Result<std::optional<std::string>> PodNodeName(const nlohmann::json& pod);

// Whether the pod's controller (the ownerReference with controller: true) is
// a DaemonSet.
bool IsDaemonSetPod(const nlohmann::json& pod);

}  // namespace discoblocks::admission
