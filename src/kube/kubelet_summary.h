// The volume statistics in a kubelet's Summary API answer (GET /stats/summary,
// k8s.io/kubelet/pkg/apis/stats/v1alpha1): for every pod, its podRef and its
// volume[] entries, each with an optional pvcRef and the file system's figures.
//
// A real kubelet's summary is mostly per-container CPU, memory, network and
// file-system stats: hundreds of KB per node, of which we need a few hundred
// bytes per volume. The parser is a SAX handler that keeps only the fields
// below and skips the rest as it reads, so no document tree is ever built.
//
// Shared by the kubelet client (kubelet_stats.h) and by offline tools that
// read a saved summary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace discoblocks::kube {

// One pod volume backed by a PersistentVolumeClaim, as its node's kubelet saw it.
struct VolumeUsage {
  std::string pvc_namespace;  // pvcRef
  std::string pvc_name;
  std::string pod_namespace;  // the pod's podRef
  std::string pod_name;
  std::string pod_uid;
  std::string volume_name;  // the name the pod gives the volume
  // Each is absent when the kubelet left it out (it does so for figures it
  // could not read). used may differ from capacity - available: file systems
  // reserve blocks for root, so decisions use available / capacity.
  std::optional<std::uint64_t> capacity_bytes;
  std::optional<std::uint64_t> available_bytes;
  std::optional<std::uint64_t> used_bytes;
  std::optional<std::uint64_t> inodes;
  std::optional<std::uint64_t> inodes_free;
  std::optional<std::uint64_t> inodes_used;
  std::string time;  // when the kubelet measured it, RFC 3339 as sent; may be empty
};

struct ParsedSummary {
  std::vector<VolumeUsage> volumes;  // in document order
  // Volumes with a pvcRef that were left out because a field had the wrong
  // type (e.g. "usedBytes": "800Mi"), one message each naming the field, at
  // most kMaxSkippedMessages of them; skipped_count counts them all.
  std::vector<std::string> skipped;
  std::size_t skipped_count = 0;
};

struct SummaryLimits {
  // Deeper nesting is refused. A real summary is 6 levels deep.
  std::size_t max_depth = 32;
};

inline constexpr std::size_t kMaxSkippedMessages = 10;

// Parses `body`. Volumes without a pvcRef (emptyDir, configMap, projected
// service-account tokens, ...) are skipped silently. An error names what was
// wrong: not JSON (with the byte offset), too deep, or a wrong type where the
// structure itself is (pods not an array, a pod not an object, ...). Never
// throws.
Result<ParsedSummary> ParseSummary(std::string_view body, const SummaryLimits& limits = {});

}  // namespace discoblocks::kube
