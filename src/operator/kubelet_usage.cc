#include "operator/kubelet_usage.h"

#include <limits>

#include <spdlog/spdlog.h>

#include "kube/objects.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

std::optional<std::int64_t> Signed(const std::optional<std::uint64_t>& value) {
  if (!value) return std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(*value, kMax));
}

}  // namespace

VolumeUsage UsageOf(const kube::VolumeUsage& volume) {
  return {Signed(volume.capacity_bytes), Signed(volume.available_bytes), Signed(volume.inodes),
          Signed(volume.inodes_free)};
}

UsageSource KubeletUsage(kube::KubeletStatsClient* client) {
  return [client](const std::vector<nlohmann::json>& nodes) {
    UsageReport report;
    std::vector<kube::KubeletTarget> targets;
    for (const nlohmann::json& node : nodes) {
      auto target = kube::KubeletTargetOf(node);
      if (!target) {
        spdlog::warn("autoscaler: {}", target.error().message);
        report.failed_nodes.push_back(StringAt(node, {"metadata", "name"}));
        continue;
      }
      targets.push_back(*std::move(target));
    }
    for (kube::NodeUsage& node : client->Scrape(targets)) {
      if (!node.summary) {
        spdlog::warn("autoscaler: {}", node.summary.error().message);
        report.failed_nodes.push_back(node.target.node);
        continue;
      }
      for (const kube::VolumeUsage& volume : node.summary->volumes) {
        report.volumes[kube::ObjectKey(volume.pvc_namespace, volume.pvc_name)] = UsageOf(volume);
      }
    }
    return report;
  };
}

}  // namespace discoblocks::op
