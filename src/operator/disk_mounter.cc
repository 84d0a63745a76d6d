#include "operator/disk_mounter.h"

#include <memory>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admission/mount_points.h"
#include "admission/names.h"
#include "drivers/typed_calls.h"
#include "kube/objects.h"
#include "operator/cache_indexes.h"
#include "operator/claim_families.h"
#include "operator/disk_mount_plan.h"
#include "operator/diskconfig_controller.h"
#include "operator/mount_job.h"
#include "operator/pod_webhook_sources.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
namespace r = kube::resources;

// What one pod's step came to.
enum class Step { kDone, kWaiting };

// What every pod of one claim shares: the claim (updated by each patch), its
// PV, driver and mount path.
struct ClaimContext {
  json claim;
  json persistent_volume;
  std::shared_ptr<const drivers::Driver> driver;
  std::string provisioner;
  bool attach_required = true;
  std::string metadata_key;  // WaitForVolumeAttachmentMeta's
  std::string mount_path;
};

class Mounter {
 public:
  struct Caches {
    const kube::Informer* claims;
    const kube::Informer* pods;
    const kube::Informer* disk_configs;
  };

  Mounter(const Manager& manager, Caches caches, std::shared_ptr<const DiskMounterOptions> options)
      : client_(manager.client()),
        recorder_(manager.recorder()),
        caches_(caches),
        options_(std::move(options)) {}

  Result<ReconcileOutcome> Reconcile(const std::string& key) {
    const auto [ns, name] = kube::SplitObjectKey(key);
    const auto cached = caches_.claims->Find(ns, name);
    if (cached == nullptr || FindMember(*cached, {"metadata", "deletionTimestamp"}) != nullptr ||
        StringAt(*cached, {"metadata", "labels", admission::kParentLabel}).empty()) {
      return ReconcileOutcome{};
    }
    // Not yet Bound: the claim's own change (to Bound) enqueues it again.
    if (StringAt(*cached, {"status", "phase"}) != "Bound") return ReconcileOutcome{};
    auto config = ConfigOf(*cached);
    if (!config) {
      spdlog::warn("disk mounter: claim {}: {}", key, config.error().message);
      return ReconcileOutcome{};  // the DiskConfig's return enqueues nothing: pods do
    }
    auto pods = caches_.pods->ByIndex(kIndexByNamespace, ns);
    if (!pods) return pods.error();
    const auto wanted =
        PodsToMountInto(*config, *cached, *pods,
                        [this](const std::string& claim_ns, const std::string& claim_name) {
                          return caches_.claims->Find(claim_ns, claim_name);
                        });
    if (wanted.empty()) return ReconcileOutcome{};

    auto context = Prepare(*config, *cached);
    if (!context) return context.error();
    bool waiting = false;
    std::optional<Error> failed;
    for (const auto& pod : wanted) {
      auto step = ForPod(*context, *pod);
      if (!step) {
        spdlog::warn("disk mounter: claim {} into pod {}/{}: {}", key, ns,
                     StringAt(*pod, {"metadata", "name"}), step.error().message);
        failed = step.error();
      } else if (*step == Step::kWaiting) {
        waiting = true;
      }
    }
    if (failed) return *failed;
    if (waiting) return ReconcileOutcome{options_->poll, false};
    return ReconcileOutcome{};
  }

 private:
  Result<admission::DiskConfig> ConfigOf(const json& claim) const {
    const auto keys = DiskConfigKeyOfClaim(claim);
    if (keys.empty()) return MakeError("it names no DiskConfig");
    const auto [config_ns, config_name] = kube::SplitObjectKey(keys.front());
    const auto object = caches_.disk_configs->Find(config_ns, config_name);
    if (object == nullptr) return MakeError(fmt::format("DiskConfig {} is gone", keys.front()));
    return ParseCachedDiskConfig(*object);
  }

  Result<ClaimContext> Prepare(const admission::DiskConfig& config, const json& claim) const {
    ClaimContext context;
    context.claim = claim;
    const int index = ClaimIndex(claim);
    if (index < 0) return MakeError("the claim has no discoblocks-index label");
    context.mount_path =
        admission::RenderMountPoint(config.mount_point_pattern, config.name, index);
    const std::string volume = StringAt(claim, {"spec", "volumeName"});
    auto pv = client_->Get(r::kPersistentVolumes, "", volume);
    if (!pv) return MakeError(fmt::format("PersistentVolume {}: {}", volume, pv.error().message));
    context.persistent_volume = std::move(pv).value();
    context.provisioner = StringAt(context.persistent_volume, {"spec", "csi", "driver"});
    if (context.provisioner.empty()) {
      return MakeError(fmt::format("PersistentVolume {} is not a CSI volume", volume));
    }
    context.driver =
        options_->registry != nullptr ? options_->registry->Find(context.provisioner) : nullptr;
    if (context.driver == nullptr) {
      return MakeError(fmt::format("no driver for provisioner \"{}\"", context.provisioner));
    }
    auto csi_driver = client_->Get(r::kCsiDrivers, "", context.provisioner);
    if (!csi_driver && csi_driver.error().kind != kube::ErrorKind::kNotFound) {
      return MakeError(
          fmt::format("CSIDriver {}: {}", context.provisioner, csi_driver.error().message));
    }
    context.attach_required = AttachRequired(csi_driver ? &*csi_driver : nullptr);
    if (context.attach_required) {
      const auto key =
          drivers::WaitForVolumeAttachmentMeta(*context.driver, options_->call_options);
      if (!key.ok()) {
        return MakeError(fmt::format("driver {}: WaitForVolumeAttachmentMeta: {}",
                                     context.provisioner, key.outcome.reason));
      }
      context.metadata_key = key.value;
    }
    return context;
  }

  // The VolumeAttachment once attached; nullopt while waiting for it.
  Result<std::optional<json>> Attachment(const ClaimContext& context,
                                         const std::string& node) const {
    auto wanted = VolumeAttachmentFor(context.persistent_volume, node);
    if (!wanted) return wanted.error();
    const std::string name = StringAt(*wanted, {"metadata", "name"});
    auto found = client_->Get(r::kVolumeAttachments, "", name);
    if (!found && found.error().kind == kube::ErrorKind::kNotFound) {
      auto created = client_->Create(r::kVolumeAttachments, "", *wanted);
      if (!created && created.error().kind != kube::ErrorKind::kAlreadyExists) {
        return MakeError(fmt::format("VolumeAttachment {}: {}", name, created.error().message));
      }
      spdlog::info("disk mounter: VolumeAttachment {} of {} on node {}", name,
                   StringAt(context.persistent_volume, {"metadata", "name"}), node);
      return std::optional<json>();
    }
    if (!found)
      return MakeError(fmt::format("VolumeAttachment {}: {}", name, found.error().message));
    if (!SameAttachment(*found, *wanted)) {
      return MakeError(fmt::format("VolumeAttachment {} exists for another volume or node", name));
    }
    if (!Attached(*found, context.metadata_key)) return std::optional<json>();
    return std::optional<json>(std::move(found).value());
  }

  Result<Step> ForPod(ClaimContext& context, const json& pod) {
    const std::string node = StringAt(pod, {"spec", "nodeName"});
    json attachment = json::object();
    if (context.attach_required) {
      auto attached = Attachment(context, node);
      if (!attached) return attached.error();
      if (!*attached) return Step::kWaiting;
      attachment = std::move(**attached);
    }
    const std::string claim_uid = StringAt(context.claim, {"metadata", "uid"});
    const std::string pod_uid = StringAt(pod, {"metadata", "uid"});
    const std::string job_name = MountJobName(claim_uid, pod_uid);
    auto job = client_->Get(r::kJobs, options_->job_namespace, job_name);
    if (!job && job.error().kind == kube::ErrorKind::kNotFound) {
      auto made = NewJob(context, pod, attachment);
      if (!made) return made.error();
      auto created = client_->Create(r::kJobs, options_->job_namespace, *made);
      if (!created && created.error().kind != kube::ErrorKind::kAlreadyExists) {
        return MakeError(fmt::format("Job {}: {}", job_name, created.error().message));
      }
      spdlog::info("disk mounter: Job {}/{} mounts claim {} into pod {}", options_->job_namespace,
                   job_name, kube::ObjectKey(context.claim), kube::ObjectKey(pod));
      return Step::kWaiting;
    }
    if (!job) return MakeError(fmt::format("Job {}: {}", job_name, job.error().message));
    if (StringAt(*job, {"metadata", "annotations", "discoblocks.ondat.io/pod-uid"}) != pod_uid) {
      return MakeError(fmt::format("Job {}/{} exists and is not this pod's mount Job",
                                   options_->job_namespace, job_name));
    }
    const std::string outcome = JobOutcome(*job);
    if (outcome.empty()) return Step::kWaiting;
    const bool complete = outcome == "complete";
    const char* annotation = complete ? kMountedInAnnotation : kMountFailedAnnotation;
    // The state first, then the Event: a run that stops between the two
    // loses an Event rather than raising it twice.
    json patch = {
        {"metadata",
         {{"resourceVersion", StringAt(context.claim, {"metadata", "resourceVersion"})},
          {"annotations", {{annotation, WithPodUid(context.claim, annotation, pod_uid)}}}}}};
    auto patched = client_->MergePatch(r::kPersistentVolumeClaims,
                                       StringAt(context.claim, {"metadata", "namespace"}),
                                       StringAt(context.claim, {"metadata", "name"}), patch);
    if (!patched) {
      return MakeError(fmt::format("annotating claim {}: {}", kube::ObjectKey(context.claim),
                                   patched.error().message));
    }
    context.claim = std::move(patched).value();
    Report(context, pod, job_name, complete);
    return Step::kDone;
  }

  Result<json> NewJob(const ClaimContext& context, const json& pod, const json& attachment) const {
    auto targets = MountTargets(pod, context.mount_path);
    if (!targets) return targets.error();
    const auto fragment = drivers::GetPreMountCommand(*context.driver, context.persistent_volume,
                                                      attachment, options_->call_options);
    if (!fragment.ok()) {
      return MakeError(fmt::format("driver {}: GetPreMountCommand: {}", context.provisioner,
                                   fragment.outcome.reason));
    }
    MountJobInput input;
    input.job_namespace = options_->job_namespace;
    input.claim_namespace = StringAt(context.claim, {"metadata", "namespace"});
    input.claim_name = StringAt(context.claim, {"metadata", "name"});
    input.claim_uid = StringAt(context.claim, {"metadata", "uid"});
    input.pod_name = StringAt(pod, {"metadata", "name"});
    input.pod_uid = StringAt(pod, {"metadata", "uid"});
    input.node = StringAt(pod, {"spec", "nodeName"});
    input.pv_name = StringAt(context.persistent_volume, {"metadata", "name"});
    input.provisioner = context.provisioner;
    input.pre_mount_command = fragment.value;
    if (std::string fs_type = StringAt(context.persistent_volume, {"spec", "csi", "fsType"});
        !fs_type.empty()) {
      input.fs_type = std::move(fs_type);
    }
    input.targets = std::move(targets).value();
    input.image = options_->job_image;
    return MountJob(input);
  }

  void Report(const ClaimContext& context, const json& pod, const std::string& job_name,
              bool complete) const {
    const std::string claim = kube::ObjectKey(context.claim);
    if (complete) {
      const std::string note = fmt::format("claim {} mounted at {} (Job {}/{})", claim,
                                           context.mount_path, options_->job_namespace, job_name);
      spdlog::info("disk mounter: pod {}: {}", kube::ObjectKey(pod), note);
      if (recorder_ != nullptr) {
        recorder_->Record(kube::ReferenceTo(pod, "v1", "Pod"), kube::EventType::kNormal,
                          "DiskMounted", "MountDisk", note);
      }
      return;
    }
    const std::string note = fmt::format(
        "claim {} could not be mounted at {}: Job {}/{} failed (see its pod's log); the pod gets "
        "the disk when it is next created",
        claim, context.mount_path, options_->job_namespace, job_name);
    spdlog::warn("disk mounter: pod {}: {}", kube::ObjectKey(pod), note);
    if (recorder_ != nullptr) {
      recorder_->Record(kube::ReferenceTo(pod, "v1", "Pod"), kube::EventType::kWarning,
                        "MountFailed", "MountDisk", note);
      recorder_->Record(kube::ReferenceTo(context.claim, "v1", "PersistentVolumeClaim"),
                        kube::EventType::kWarning, "MountFailed", "MountDisk", note);
    }
  }

  std::shared_ptr<const kube::Client> client_;
  kube::EventRecorder* recorder_;
  const Caches caches_;
  const std::shared_ptr<const DiskMounterOptions> options_;
};

bool Added(const json& claim) {
  return !StringAt(claim, {"metadata", "labels", admission::kParentLabel}).empty();
}

}  // namespace

ControllerRegistration DiskMounter(Manager& manager, DiskMounterOptions options) {
  auto shared_options = std::make_shared<const DiskMounterOptions>(std::move(options));
  const Mounter::Caches caches{&manager.Informer(r::kPersistentVolumeClaims),
                               &manager.Informer(r::kPods), &manager.Informer(r::kDiskConfigs)};
  ControllerRegistration registration;
  registration.name = "disk-mounter";
  registration.workers = 2;
  // The added claims themselves (Bound, annotated), and the pods of their
  // namespace: a pod that starts running, or whose containers get their IDs,
  // may be one that needs a disk.
  registration.watches.push_back({&manager.Informer(r::kPersistentVolumeClaims),
                                  [](const json& claim) -> std::vector<std::string> {
                                    if (!Added(claim)) return {};
                                    return {kube::ObjectKey(claim)};
                                  }});
  const kube::Informer* claims = caches.claims;
  registration.watches.push_back(
      {&manager.Informer(r::kPods), [claims](const json& pod) -> std::vector<std::string> {
         std::vector<std::string> keys;
         if (StringAt(pod, {"status", "phase"}) != "Running") return keys;
         auto in_namespace =
             claims->ByIndex(kIndexByNamespace, StringAt(pod, {"metadata", "namespace"}));
         if (!in_namespace) return keys;
         for (const auto& claim : *in_namespace) {
           if (Added(*claim)) keys.push_back(kube::ObjectKey(*claim));
         }
         return keys;
       }});
  registration.caches = {caches.disk_configs};
  registration.make_reconciler = [&manager, caches, shared_options]() -> Reconciler {
    auto mounter = std::make_shared<Mounter>(manager, caches, shared_options);
    return [mounter](const std::string& key) { return mounter->Reconcile(key); };
  };
  return registration;
}

}  // namespace discoblocks::op
