// The autoscaler's UsageSource over the kubelets' Summary API
// (kube/kubelet_stats.h): each node's kubelet target from the cached Node, one
// bounded scrape, and the volumes by claim. A node whose target is unknown
// (no InternalIP or port) or whose kubelet failed is reported failed, and its
// claims have no usage this cycle.
#pragma once

#include "kube/kubelet_stats.h"
#include "operator/autoscaler.h"

namespace discoblocks::op {

// What the decision needs of a volume the kubelet reported (figures above
// 2^63-1 are cut to it).
VolumeUsage UsageOf(const kube::VolumeUsage& volume);

// `client` outlives the source.
UsageSource KubeletUsage(kube::KubeletStatsClient* client);

}  // namespace discoblocks::op
