// The pod mutation: what the pod webhook (pod_webhook.h) and `discoblocks
// mutate` do to a pod being created, as one pure function. It reads the
// cluster only through the lookups it is given and writes nothing: the
// objects to create are part of its answer, for the caller to create (or, on
// a dry run, not). docs/discoblocks.md ("Pods, modes and names") describes
// the modes, the names and the denials.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "admission/rules.h"
#include "drivers/registry.h"

namespace discoblocks::admission {

// Finds a Node by name.
using NodeLookup = std::function<std::optional<nlohmann::json>(std::string_view name)>;
// The PersistentVolumeClaims of a namespace that carry all of `labels`.
using PvcLookup = std::function<std::vector<nlohmann::json>(
    std::string_view ns, const std::map<std::string, std::string>& labels)>;

struct PodMutationInput {
  const nlohmann::json* pod = nullptr;  // the pod as the API server sent it
  std::string ns;                       // the request's namespace (the pod may not say)
  // Candidates, e.g. every DiskConfig of the namespace not being deleted; only
  // those of `ns` whose podSelector the pod matches count.
  std::vector<DiskConfig> disk_configs;
  StorageClassLookup storage_class;
  NodeLookup node;
  PvcLookup pvcs;  // for ReadWriteSame and ReadWriteDaemon families
  const drivers::Registry* registry = nullptr;
  drivers::CallOptions call_options;
};

struct PodMutation {
  bool allowed = true;
  std::string message;  // why not, naming the DiskConfig and what failed; empty when allowed
  // RFC 6902 operations that turn the pod into the mutated one; empty when
  // nothing changes.
  nlohmann::json patch = nlohmann::json::array();
  // To create before the pod can run, StorageClasses first. Each is created
  // only if absent; one that exists must carry the same Discoblocks labels
  // and annotations (SameManagedObject) to be the one meant.
  std::vector<nlohmann::json> storage_classes;
  std::vector<nlohmann::json> pvcs;
  std::vector<std::string> warnings;
  std::vector<std::string> disk_configs;  // the DiskConfigs that gave the pod disks
};

// Decides on a pod being created. Never throws; a pod or DiskConfig field of
// the wrong type is a denial naming it.
PodMutation MutatePod(const PodMutationInput& input);

// Whether a pod with `pod_labels` (metadata.labels) carries every label of
// `pod_selector` (a DiskConfig's spec.podSelector). An empty selector matches
// every pod; one that is not a map of strings matches none.
bool PodSelectorMatches(const nlohmann::json& pod_selector, const nlohmann::json& pod_labels);

// Whether `existing` (found under the name of `wanted`) is the object
// Discoblocks meant to create: same kind and the same Discoblocks labels and
// annotations (DiskConfig, index, node, topology-of).
bool SameManagedObject(const nlohmann::json& existing, const nlohmann::json& wanted);

}  // namespace discoblocks::admission
