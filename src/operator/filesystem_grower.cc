#include "operator/filesystem_grower.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/typed_calls.h"
#include "kube/objects.h"
#include "kube/quantity.h"
#include "operator/autoscale_decision.h"
#include "operator/cache_indexes.h"
#include "operator/disk_mount_plan.h"
#include "operator/node_job.h"
#include "operator/resize_job.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
namespace r = kube::resources;

// The nodes of the Running pods in `pods` that use the claim: by their spec,
// or by the disk mounter's mounted-in annotation.
std::set<std::string> NodesUsing(const json& claim,
                                 const std::vector<kube::Informer::Object>& pods) {
  const std::string name = StringAt(claim, {"metadata", "name"});
  const auto mounted_in = PodUidsIn(claim, kMountedInAnnotation);
  std::set<std::string> nodes;
  for (const auto& pod : pods) {
    if (StringAt(*pod, {"status", "phase"}) != "Running") continue;
    if (FindMember(*pod, {"metadata", "deletionTimestamp"}) != nullptr) continue;
    const std::string node = StringAt(*pod, {"spec", "nodeName"});
    if (node.empty()) continue;
    const auto names = ClaimNamesOf(*pod);
    if (std::find(names.begin(), names.end(), name) != names.end() ||
        mounted_in.contains(StringAt(*pod, {"metadata", "uid"}))) {
      nodes.insert(node);
    }
  }
  return nodes;
}

class Grower {
 public:
  Grower(const Manager& manager, const kube::Informer* claims, const kube::Informer* pods,
         std::shared_ptr<const FileSystemGrowerOptions> options)
      : client_(manager.client()),
        recorder_(manager.recorder()),
        claims_(claims),
        pods_(pods),
        options_(std::move(options)) {}

  Result<ReconcileOutcome> Reconcile(const std::string& key) {
    const auto [ns, name] = kube::SplitObjectKey(key);
    const auto claim = claims_->Find(ns, name);
    if (claim == nullptr || FindMember(*claim, {"metadata", "deletionTimestamp"}) != nullptr) {
      return ReconcileOutcome{};
    }
    const std::string target = FileSystemGrowthDue(*claim);
    if (target.empty()) return ReconcileOutcome{};
    auto pods = pods_->ByIndex(kIndexByNamespace, ns);
    if (!pods) return pods.error();
    const auto nodes = NodesUsing(*claim, *pods);
    if (nodes.empty()) return ReconcileOutcome{};  // a pod that starts enqueues it again

    const std::string volume = StringAt(*claim, {"spec", "volumeName"});
    auto pv = client_->Get(r::kPersistentVolumes, "", volume);
    if (!pv) return MakeError(fmt::format("PersistentVolume {}: {}", volume, pv.error().message));
    const std::string provisioner = StringAt(*pv, {"spec", "csi", "driver"});
    const auto driver =
        options_->registry != nullptr ? options_->registry->Find(provisioner) : nullptr;
    if (driver == nullptr) return MakeError(fmt::format("no driver for \"{}\"", provisioner));
    const auto managed = drivers::IsFileSystemManaged(*driver, options_->call_options);
    if (!managed.ok()) {
      return MakeError(
          fmt::format("driver {}: IsFileSystemManaged: {}", provisioner, managed.outcome.reason));
    }
    if (managed.value) return ReconcileOutcome{};  // the CSI driver grows it

    bool waiting = false;
    bool failed = false;
    for (const std::string& node : nodes) {
      auto outcome = ForNode(*claim, *pv, *driver, provisioner, target, node);
      if (!outcome) return outcome.error();
      if (outcome->empty()) waiting = true;
      if (*outcome == "failed") failed = true;
    }
    if (waiting && !failed) return ReconcileOutcome{options_->poll, false};
    return Finish(*claim, target, failed);
  }

 private:
  // The node's Job's outcome: "complete", "failed", or "" (made or running).
  Result<std::string> ForNode(const json& claim, const json& pv, const drivers::Driver& driver,
                              const std::string& provisioner, const std::string& target,
                              const std::string& node) const {
    const std::string claim_uid = StringAt(claim, {"metadata", "uid"});
    const std::string job_name = ResizeJobName(claim_uid, target, node);
    auto job = client_->Get(r::kJobs, options_->job_namespace, job_name);
    if (job) {
      if (StringAt(*job, {"metadata", "annotations", "discoblocks.ondat.io/claim-uid"}) !=
          claim_uid) {
        return MakeError(fmt::format("Job {}/{} exists and is not this claim's",
                                     options_->job_namespace, job_name));
      }
      return JobOutcome(*job);
    }
    if (job.error().kind != kube::ErrorKind::kNotFound) {
      return MakeError(fmt::format("Job {}: {}", job_name, job.error().message));
    }
    std::optional<json> attachment;
    auto wanted = VolumeAttachmentFor(pv, node);
    if (!wanted) return wanted.error();
    auto found = client_->Get(r::kVolumeAttachments, "", StringAt(*wanted, {"metadata", "name"}));
    if (found && SameAttachment(*found, *wanted)) attachment = std::move(found).value();
    const auto fragment =
        drivers::GetPreResizeCommand(driver, pv, attachment, options_->call_options);
    if (!fragment.ok()) {
      return MakeError(
          fmt::format("driver {}: GetPreResizeCommand: {}", provisioner, fragment.outcome.reason));
    }
    ResizeJobInput input;
    input.job_namespace = options_->job_namespace;
    input.claim_namespace = StringAt(claim, {"metadata", "namespace"});
    input.claim_name = StringAt(claim, {"metadata", "name"});
    input.claim_uid = claim_uid;
    input.node = node;
    input.pv_name = StringAt(pv, {"metadata", "name"});
    input.provisioner = provisioner;
    input.pre_resize_command = fragment.value;
    if (std::string fs_type = StringAt(pv, {"spec", "csi", "fsType"}); !fs_type.empty()) {
      input.fs_type = std::move(fs_type);
    }
    input.target_size = target;
    input.image = options_->job_image;
    auto made = ResizeJob(input);
    if (!made) return made.error();
    auto created = client_->Create(r::kJobs, options_->job_namespace, *made);
    if (!created && created.error().kind != kube::ErrorKind::kAlreadyExists) {
      return MakeError(fmt::format("Job {}: {}", job_name, created.error().message));
    }
    spdlog::info("file system grower: Job {}/{} grows claim {} to {} on node {}",
                 options_->job_namespace, job_name, kube::ObjectKey(claim), target, node);
    return std::string();
  }

  // The state first, then the Event: a run that stops between the two loses
  // an Event rather than raising it twice.
  Result<ReconcileOutcome> Finish(const json& claim, const std::string& target, bool failed) {
    const char* annotation = failed ? kFileSystemGrowFailedAnnotation : kFileSystemGrownAnnotation;
    const json patch = {{"metadata",
                         {{"resourceVersion", StringAt(claim, {"metadata", "resourceVersion"})},
                          {"annotations", {{annotation, target}}}}}};
    auto patched =
        client_->MergePatch(r::kPersistentVolumeClaims, StringAt(claim, {"metadata", "namespace"}),
                            StringAt(claim, {"metadata", "name"}), patch);
    if (!patched) {
      return MakeError(
          fmt::format("annotating claim {}: {}", kube::ObjectKey(claim), patched.error().message));
    }
    const auto reference = kube::ReferenceTo(claim, "v1", "PersistentVolumeClaim");
    const std::string note =
        failed ? fmt::format(
                     "the file system could not be grown to {}: a resize Job in {} "
                     "failed (see its pod's log); the autoscaler will not grow it again",
                     target, options_->job_namespace)
               : fmt::format("file system grown to {}", target);
    if (failed) {
      spdlog::warn("file system grower: claim {}: {}", kube::ObjectKey(claim), note);
    } else {
      spdlog::info("file system grower: claim {}: {}", kube::ObjectKey(claim), note);
    }
    if (recorder_ != nullptr) {
      recorder_->Record(reference, failed ? kube::EventType::kWarning : kube::EventType::kNormal,
                        failed ? "FileSystemResizeFailed" : "FileSystemResized", "GrowFileSystem",
                        note);
    }
    return ReconcileOutcome{};
  }

  std::shared_ptr<const kube::Client> client_;
  kube::EventRecorder* recorder_;
  const kube::Informer* claims_;
  const kube::Informer* pods_;
  const std::shared_ptr<const FileSystemGrowerOptions> options_;
};

}  // namespace

std::string FileSystemGrowthDue(const json& claim) {
  std::string target = UngrownFileSystemTarget(claim);
  if (target.empty() ||
      StringAt(claim, {"metadata", "annotations", kFileSystemGrowFailedAnnotation}) == target) {
    return {};
  }
  const auto wanted = kube::Quantity::Parse(target);
  const json* capacity = FindMember(claim, {"status", "capacity", "storage"});
  if (!wanted || capacity == nullptr) return {};
  const auto reached = kube::Quantity::FromJson(*capacity);
  if (!reached || *reached < *wanted) return {};
  return target;
}

ControllerRegistration FileSystemGrower(Manager& manager, FileSystemGrowerOptions options) {
  auto shared_options = std::make_shared<const FileSystemGrowerOptions>(std::move(options));
  kube::Informer* claims = &manager.Informer(r::kPersistentVolumeClaims);
  kube::Informer* pods = &manager.Informer(r::kPods);
  ControllerRegistration registration;
  registration.name = "filesystem-grower";
  // The claims that are due, and those of a pod's namespace when it runs.
  registration.watches.push_back({claims, [](const json& claim) -> std::vector<std::string> {
                                    if (FileSystemGrowthDue(claim).empty()) return {};
                                    return {kube::ObjectKey(claim)};
                                  }});
  registration.watches.push_back({pods, [claims](const json& pod) -> std::vector<std::string> {
                                    std::vector<std::string> keys;
                                    if (StringAt(pod, {"status", "phase"}) != "Running")
                                      return keys;
                                    const std::string ns = StringAt(pod, {"metadata", "namespace"});
                                    for (const std::string& name : ClaimNamesOf(pod)) {
                                      const auto claim = claims->Find(ns, name);
                                      if (claim != nullptr &&
                                          !FileSystemGrowthDue(*claim).empty()) {
                                        keys.push_back(kube::ObjectKey(ns, name));
                                      }
                                    }
                                    return keys;
                                  }});
  registration.make_reconciler = [&manager, claims, pods, shared_options]() -> Reconciler {
    auto grower = std::make_shared<Grower>(manager, claims, pods, shared_options);
    return [grower](const std::string& key) { return grower->Reconcile(key); };
  };
  return registration;
}

}  // namespace discoblocks::op
