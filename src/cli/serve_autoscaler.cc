#include "cli/serve_autoscaler.h"

#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "cli/serve_support.h"
#include "drivers/typed_calls.h"
#include "kube/objects.h"
#include "operator/attachment_reaper.h"
#include "operator/autoscale_new_disk.h"
#include "operator/autoscaler.h"
#include "operator/disk_mounter.h"
#include "operator/filesystem_grower.h"
#include "operator/kubelet_usage.h"
#include "operator/resize_policy.h"
#include "util/duration.h"
#include "util/json_fields.h"

namespace discoblocks::cli {
namespace {

using nlohmann::json;
namespace r = kube::resources;

constexpr const char* kServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

Result<std::chrono::milliseconds> PositiveDuration(const std::string& text, const char* flag) {
  auto duration = ParseDuration(text);
  if (!duration) return MakeError(fmt::format("{}: {}", flag, duration.error().message));
  if (duration->count() <= 0) return MakeError(fmt::format("{}: must be positive", flag));
  return std::chrono::ceil<std::chrono::milliseconds>(*duration);
}

// The driver's limits per StorageClass, asked once per driver version and
// class version: a driver answers the same for the same class (the
// conformance suite checks that it is deterministic).
class ResizePolicies {
 public:
  ResizePolicies(const drivers::Registry* registry, drivers::CallOptions options,
                 const kube::Informer* storage_classes)
      : registry_(registry), options_(std::move(options)), storage_classes_(storage_classes) {}

  Result<op::ResizePolicy> For(const std::string& name) {
    const auto storage_class = storage_classes_->Find("", name);
    if (storage_class == nullptr) return op::ResizePolicy{};  // the decision says it cannot grow
    const std::string provisioner = StringAt(*storage_class, {"provisioner"});
    const auto driver = registry_ != nullptr ? registry_->Find(provisioner) : nullptr;
    if (driver == nullptr) {
      return MakeError(
          fmt::format("no driver for provisioner \"{}\" of StorageClass {}", provisioner, name));
    }
    const std::string key = fmt::format("{}\n{}\n{}", driver->sha256(), name,
                                        StringAt(*storage_class, {"metadata", "resourceVersion"}));
    {
      const std::lock_guard lock(mutex_);
      if (const auto found = cache_.find(key); found != cache_.end()) return found->second;
    }
    json object = *storage_class;
    object["apiVersion"] = "storage.k8s.io/v1";
    object["kind"] = "StorageClass";
    const auto answer = drivers::GetResizePolicy(*driver, object, options_);
    if (!answer.ok()) {
      return MakeError(
          fmt::format("the resize policy of driver {}: {}", provisioner, answer.outcome.reason));
    }
    auto policy = answer.value ? op::ParseResizePolicy(*answer.value)
                               : Result<op::ResizePolicy>(op::ResizePolicy{});
    if (!policy) {
      return MakeError(fmt::format("driver {}: {}", provisioner, policy.error().message));
    }
    const auto managed = drivers::IsFileSystemManaged(*driver, options_);
    if (!managed.ok()) {
      return MakeError(
          fmt::format("driver {}: IsFileSystemManaged: {}", provisioner, managed.outcome.reason));
    }
    policy->filesystem_managed = managed.value;
    const std::lock_guard lock(mutex_);
    if (cache_.size() > 1024) cache_.clear();  // old versions of classes and drivers
    cache_.emplace(key, *policy);
    return policy;
  }

 private:
  const drivers::Registry* registry_;
  const drivers::CallOptions options_;
  const kube::Informer* storage_classes_;
  std::mutex mutex_;
  std::map<std::string, op::ResizePolicy> cache_;
};

}  // namespace

void AddAutoscaleFlags(CLI::App& command, AutoscaleFlags& flags) {
  command.add_flag("--no-autoscale", flags.disabled,
                   "do not grow disks or add disks (the webhooks and other controllers run)");
  command
      .add_option("--usage-poll-interval", flags.poll_interval,
                  "how often the kubelets are asked for volume usage (each wait less up to 10% "
                  "jitter: never longer)")
      ->capture_default_str();
  command
      .add_option("--expansion-stuck-after", flags.expansion_stuck_after,
                  "an expansion pending this long is reported (Event ExpansionStuck)")
      ->capture_default_str();
  command.add_option("--kubelet-ca-file", flags.kubelet_ca_file,
                     "CA of the kubelets' serving certificates (default: the system's CAs)");
  command.add_flag("--kubelet-insecure-tls", flags.kubelet_insecure_tls,
                   "do not check the kubelets' certificates (test clusters only)");
  command.add_option("--kubelet-token-file", flags.kubelet_token_file,
                     fmt::format("bearer token for the kubelets (default: {} when it exists)",
                                 kServiceAccountToken));
  command
      .add_option("--kubelet-timeout", flags.kubelet_timeout,
                  "per node: connecting, TLS and the whole answer")
      ->capture_default_str();
  command.add_option("--mount-job-namespace", flags.mount_job_namespace,
                     "namespace of the Jobs that mount added disks into running pods (default: "
                     "the leader election namespace's default)");
  command
      .add_option("--mount-job-image", flags.mount_job_image,
                  "image of those Jobs: needs sh, grep, head, cut, nsenter and chroot")
      ->capture_default_str();
}

Result<std::unique_ptr<AutoscalerParts>> AddAutoscaler(const AutoscaleFlags& flags,
                                                       const AutoscalerContext& context) {
  auto parts = std::make_unique<AutoscalerParts>();
  if (flags.disabled) return parts;
  auto poll = PositiveDuration(flags.poll_interval, "--usage-poll-interval");
  if (!poll) return poll.error();
  auto stuck = PositiveDuration(flags.expansion_stuck_after, "--expansion-stuck-after");
  if (!stuck) return stuck.error();
  auto timeout = PositiveDuration(flags.kubelet_timeout, "--kubelet-timeout");
  if (!timeout) return timeout.error();

  kube::KubeletStatsClient::Options kubelet_options;
  kubelet_options.ca_file = flags.kubelet_ca_file;
  kubelet_options.insecure_skip_verify = flags.kubelet_insecure_tls;
  kubelet_options.token_file = flags.kubelet_token_file;
  if (kubelet_options.token_file.empty() && std::filesystem::exists(kServiceAccountToken)) {
    kubelet_options.token_file = kServiceAccountToken;
  }
  kubelet_options.timeout = *timeout;
  kubelet_options.metrics = context.metrics;
  auto kubelets = kube::KubeletStatsClient::Create(kubelet_options);
  if (!kubelets) return MakeError("kubelets: " + kubelets.error().message);
  parts->kubelets = std::move(kubelets).value();

  op::Manager& manager = *context.manager;
  auto policies = std::make_shared<ResizePolicies>(context.registry, context.call_options,
                                                   &manager.Informer(r::kStorageClasses));
  op::AutoscalerOptions options;
  options.poll_interval = *poll;
  options.expansion_stuck_after = std::chrono::ceil<std::chrono::seconds>(*stuck);
  options.usage = op::KubeletUsage(parts->kubelets.get());
  options.resize_policy = [policies](const std::string& name) { return policies->For(name); };
  options.operations = context.operations;
  options.usage_board = std::make_shared<op::UsageBoard>();
  parts->usage = {options.usage_board, *poll};
  op::NewDiskSources disks;
  disks.registry = context.registry;
  disks.call_options = context.call_options;
  disks.storage_classes = &manager.Informer(r::kStorageClasses);
  disks.nodes = &manager.Informer(r::kNodes);
  disks.claims = &manager.Informer(r::kPersistentVolumeClaims);
  disks.writer = context.writer;
  options.add_disk = op::NewDiskMaker(disks);
  manager.AddController(op::Autoscaler(manager, std::move(options)));

  if (flags.mount_job_image.empty()) return MakeError("--mount-job-image: must not be empty");
  op::DiskMounterOptions mounter;
  mounter.registry = context.registry;
  mounter.call_options = context.call_options;
  mounter.job_namespace = flags.mount_job_namespace.empty() ? DefaultLeaderElectionNamespace()
                                                            : flags.mount_job_namespace;
  mounter.job_image = flags.mount_job_image;
  op::FileSystemGrowerOptions grower;
  grower.registry = context.registry;
  grower.call_options = context.call_options;
  grower.job_namespace = mounter.job_namespace;
  grower.job_image = flags.mount_job_image;
  manager.AddController(op::DiskMounter(manager, std::move(mounter)));
  manager.AddController(op::FileSystemGrower(manager, std::move(grower)));
  manager.AddController(op::AttachmentReaper(manager, *poll));
  return parts;
}

}  // namespace discoblocks::cli
