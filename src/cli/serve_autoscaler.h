// `serve`'s autoscaler: its flags, and the parts that feed it (the kubelets'
// client, the drivers' resize policies, the new disks' maker), and the disk
// mounter that brings the new disks into running pods. Internal to src/cli/.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "admission/pod_webhook.h"
#include "drivers/registry.h"
#include "kube/kubelet_stats.h"
#include "operator/diskconfig_controller.h"
#include "operator/manager.h"
#include "operator/pod_webhook_sources.h"
#include "util/result.h"

namespace discoblocks::cli {

struct AutoscaleFlags {
  bool disabled = false;
  std::string poll_interval = "30s";
  std::string expansion_stuck_after = "10m";
  std::string kubelet_ca_file;  // empty: the system's CAs
  bool kubelet_insecure_tls = false;
  // Empty: the pod's service account token when it exists.
  std::string kubelet_token_file;
  std::string kubelet_timeout = "10s";
  // The disk mounter's Jobs: their namespace (empty: the leader election
  // namespace's default) and image.
  std::string mount_job_namespace;
  std::string mount_job_image = "busybox:1.37.0";
};
void AddAutoscaleFlags(CLI::App& command, AutoscaleFlags& flags);

// What the autoscaler needs that outlives the manager's registration.
struct AutoscalerParts {
  std::unique_ptr<kube::KubeletStatsClient> kubelets;
  // For the DiskConfig controller: each cycle's usage, and how often it comes
  // (null when the autoscaler is disabled).
  op::DiskConfigUsage usage;
};

struct AutoscalerContext {
  op::Manager* manager = nullptr;
  const drivers::Registry* registry = nullptr;
  drivers::CallOptions call_options;
  admission::ObjectWriter* writer = nullptr;
  const op::PvcOperations* operations = nullptr;
  metrics::Registry* metrics = nullptr;
};

// Registers the autoscaler and the disk mounter with the manager (before
// Start), unless disabled.
// An error names the flag or file at fault.
Result<std::unique_ptr<AutoscalerParts>> AddAutoscaler(const AutoscaleFlags& flags,
                                                       const AutoscalerContext& context);

}  // namespace discoblocks::cli
