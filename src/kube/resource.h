// Kubernetes resource types by group/version/resource, and their URL paths.
#pragma once

#include <string>
#include <string_view>

namespace discoblocks::kube {

struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "configmaps"
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>"
  [[nodiscard]] std::string ApiPrefix() const;
  // The collection's path; `ns` is ignored for cluster-scoped resources, and an
  // empty `ns` means all namespaces.
  [[nodiscard]] std::string CollectionPath(std::string_view ns) const;
  [[nodiscard]] std::string ObjectPath(std::string_view ns, std::string_view name) const;
  // "configmaps" or "diskconfigs.discoblocks.ondat.io", for messages.
  [[nodiscard]] std::string Name() const;
};

namespace resources {
extern const ResourceType kConfigMaps;
extern const ResourceType kNamespaces;
extern const ResourceType kNodes;
extern const ResourceType kPods;
extern const ResourceType kPersistentVolumeClaims;
extern const ResourceType kPersistentVolumes;
extern const ResourceType kStorageClasses;
extern const ResourceType kVolumeAttachments;
extern const ResourceType kCsiDrivers;  // storage.k8s.io/v1, cluster-scoped
extern const ResourceType kJobs;        // batch/v1
extern const ResourceType kDiskConfigs;
extern const ResourceType kLeases;  // coordination.k8s.io/v1, for leader election
extern const ResourceType kEvents;  // events.k8s.io/v1 (not the core group's older Events)
}  // namespace resources

// Escapes a value for a URL query string (label selectors contain = , ! ( )).
std::string QueryEscape(std::string_view value);

}  // namespace discoblocks::kube
