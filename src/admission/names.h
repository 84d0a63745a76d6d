// The names Discoblocks gives what it creates for pods, and the labels and
// annotations it marks them with (docs/discoblocks.md, "Pods, modes and names").
//
// Every name is deterministic, so that a retried admission, a second replica
// or the controller computes the same one and never creates a second object.
// Kubernetes limits names: a pod volume name is a DNS-1123 label (at most 63
// characters), a PVC or StorageClass name a DNS-1123 subdomain (at most 253),
// a label value at most 63 characters. A DiskConfig or node name may be a
// 253-character subdomain with dots, so a name built from it may not fit. Such
// a name is replaced by its prefix, made valid and cut short, then "-" and the
// first 8 hex digits of the sha256 of the whole name: still deterministic, and
// two names that differ anywhere get different hashes. The whole names are kept
// in the annotations below.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace discoblocks::admission {

// Labels on every PVC (and ephemeral volume claim template) of a DiskConfig.
inline constexpr const char* kConfigLabel = "discoblocks";       // FitLabelValue(config name)
inline constexpr const char* kIndexLabel = "discoblocks-index";  // the disk's index
inline constexpr const char* kNodeLabel =
    "discoblocks-node";  // ReadWriteDaemon: FitLabelValue(node)
// On a disk the autoscaler added: FitLabelValue(the family's first claim).
inline constexpr const char* kParentLabel = "discoblocks-parent";
// Kubernetes' own: the node a WaitForFirstConsumer claim is provisioned for.
inline constexpr const char* kSelectedNodeAnnotation = "volume.kubernetes.io/selected-node";
// The whole names, which labels may only hold hashed.
inline constexpr const char* kConfigAnnotation = "discoblocks.ondat.io/diskconfig";
inline constexpr const char* kNodeAnnotation = "discoblocks.ondat.io/node";
// On a topology-restricted copy of a StorageClass: FitLabelValue(the original's
// name) as a label, the whole name as an annotation.
inline constexpr const char* kTopologyOfKey = "discoblocks.ondat.io/topology-of";

bool IsDns1123Label(std::string_view name);      // [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63
bool IsDns1123Subdomain(std::string_view name);  // such labels (of any length) joined
                                                 // by '.', <= 253 in all
bool IsLabelValue(std::string_view value);       // empty, or alphanumeric at both ends
                                                 // with [-_.A-Za-z0-9] between, <= 63

// `name` when it is valid as the kind says; otherwise the hashed form above.
std::string FitDns1123Label(std::string_view name);
std::string FitDns1123Subdomain(std::string_view name);
std::string FitLabelValue(std::string_view value);

// The pod volume of a DiskConfig's disk: "discoblocks-<config>-<index>".
std::string VolumeName(std::string_view config, int index);
// ReadWriteSame: "discoblocks-<config>-<index>".
std::string SharedPvcName(std::string_view config, int index);
// ReadWriteDaemon: "discoblocks-<config>-<node>-<index>".
std::string DaemonPvcName(std::string_view config, std::string_view node, int index);
// "<storage class>-<first 8 hex digits of the sha256 of the terms' JSON>".
// nlohmann writes object keys sorted, so equal terms give equal JSON.
std::string TopologyStorageClassName(std::string_view storage_class,
                                     const std::vector<nlohmann::json>& terms);

}  // namespace discoblocks::admission
