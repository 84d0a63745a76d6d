#include "kube/resource.h"

#include <fmt/format.h>

namespace discoblocks::kube {

std::string ResourceType::ApiPrefix() const {
  return group.empty() ? "/api/" + version : fmt::format("/apis/{}/{}", group, version);
}

std::string ResourceType::CollectionPath(std::string_view ns) const {
  if (!namespaced || ns.empty()) return fmt::format("{}/{}", ApiPrefix(), resource);
  return fmt::format("{}/namespaces/{}/{}", ApiPrefix(), QueryEscape(ns), resource);
}

std::string ResourceType::ObjectPath(std::string_view ns, std::string_view name) const {
  return fmt::format("{}/{}", CollectionPath(namespaced ? ns : ""), QueryEscape(name));
}

std::string ResourceType::Name() const { return group.empty() ? resource : resource + "." + group; }

std::string QueryEscape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string escaped;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                            (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' ||
                            c == '~';
    if (unreserved) {
      escaped.push_back(c);
    } else {
      escaped.push_back('%');
      escaped.push_back(kHex[byte >> 4]);
      escaped.push_back(kHex[byte & 0xf]);
    }
  }
  return escaped;
}

namespace resources {
const ResourceType kConfigMaps{"", "v1", "configmaps", true};
const ResourceType kNamespaces{"", "v1", "namespaces", false};
const ResourceType kNodes{"", "v1", "nodes", false};
const ResourceType kPods{"", "v1", "pods", true};
const ResourceType kPersistentVolumeClaims{"", "v1", "persistentvolumeclaims", true};
const ResourceType kPersistentVolumes{"", "v1", "persistentvolumes", false};
const ResourceType kStorageClasses{"storage.k8s.io", "v1", "storageclasses", false};
const ResourceType kVolumeAttachments{"storage.k8s.io", "v1", "volumeattachments", false};
const ResourceType kCsiDrivers{"storage.k8s.io", "v1", "csidrivers", false};
const ResourceType kJobs{"batch", "v1", "jobs", true};
const ResourceType kDiskConfigs{"discoblocks.ondat.io", "v1", "diskconfigs", true};
const ResourceType kLeases{"coordination.k8s.io", "v1", "leases", true};
const ResourceType kEvents{"events.k8s.io", "v1", "events", true};
}  // namespace resources

}  // namespace discoblocks::kube
