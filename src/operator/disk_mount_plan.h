// The pure parts of the disk mounter (disk_mounter.h): which running pods
// still need a disk the autoscaler added, the VolumeAttachment that puts it on
// their node, and the state kept on the claim. No I/O: the controller reads
// the objects and carries out what these say.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "kube/informer.h"
#include "operator/mount_job.h"
#include "util/result.h"

namespace discoblocks::op {

// The pods (space-separated uids) that have the claim mounted: kept on the
// claim, so that a new leader neither mounts twice nor forgets one.
inline constexpr const char* kMountedInAnnotation = "discoblocks.ondat.io/mounted-in";
// The pods whose mount Job failed: reported once (Warning MountFailed), never
// tried again; the pod gets the disk when it is next created.
inline constexpr const char* kMountFailedAnnotation = "discoblocks.ondat.io/mount-failed";

// The uids in the claim's `annotation` (empty when absent).
std::set<std::string> PodUidsIn(const nlohmann::json& claim, const char* annotation);
// The annotation's value with `uid` added: sorted, space-separated.
std::string WithPodUid(const nlohmann::json& claim, const char* annotation, const std::string& uid);

// Finds a cached claim by namespace and name (null when absent).
using FindClaim =
    std::function<kube::Informer::Object(const std::string& ns, const std::string& name)>;

// The claims a pod's volumes name: persistentVolumeClaim volumes, and generic
// ephemeral ones (whose claim Kubernetes names "<pod>-<volume>").
std::vector<std::string> ClaimNamesOf(const nlohmann::json& pod);

// The running pods (phase Running, on a node, not being deleted) among `pods`
// (the claim's namespace) that use another disk of `claim`'s family in
// `config` and do not name `claim` itself: those the autoscaler added it for,
// which Kubernetes will not give it until they are created again. Pods in
// `mounted-in` or `mount-failed` are left out.
std::vector<kube::Informer::Object> PodsToMountInto(const admission::DiskConfig& config,
                                                    const nlohmann::json& claim,
                                                    const std::vector<kube::Informer::Object>& pods,
                                                    const FindClaim& find_claim);

// The name of the VolumeAttachment of a CSI volume on a node, as the kubelet's
// CSI attacher names it ("csi-" and the hex sha256 of handle, driver and
// node): the attach/detach controller takes it over, rather than making a
// second one, when the pod is created again with the claim in its spec.
std::string VolumeAttachmentName(const std::string& volume_handle, const std::string& driver,
                                 const std::string& node);

// On the VolumeAttachments the disk mounter makes: the claim the PV is bound
// to ("namespace/name"), for the attachment reaper (attachment_reaper.h).
inline constexpr const char* kAttachmentClaimAnnotation = "discoblocks.ondat.io/claim";

// The VolumeAttachment for `persistent_volume` (a CSI volume) on `node`,
// labelled app.kubernetes.io/managed-by=discoblocks.
// Errors name what the PV lacks.
Result<nlohmann::json> VolumeAttachmentFor(const nlohmann::json& persistent_volume,
                                           const std::string& node);

// Whether `attachment` (that of VolumeAttachmentFor) is for that PV and node:
// a VolumeAttachment of that name for another volume is not ours to wait on.
bool SameAttachment(const nlohmann::json& attachment, const nlohmann::json& wanted);

// Attached (status.attached true) and, when `metadata_key` is not empty, with
// that key in status.attachmentMetadata.
bool Attached(const nlohmann::json& attachment, const std::string& metadata_key);

// Whether volumes of this CSIDriver object need a VolumeAttachment: false
// only for spec.attachRequired false; null (no CSIDriver object) means
// required, as it does to Kubernetes.
bool AttachRequired(const nlohmann::json* csi_driver);

// Where each of the pod's containers (cached: spec.containers[].name,
// status.containerStatuses[].containerID) gets the disk: `mount_path`. An
// error when a container has no ID yet (it has not started: wait).
Result<std::vector<MountTarget>> MountTargets(const nlohmann::json& pod,
                                              const std::string& mount_path);

}  // namespace discoblocks::op
