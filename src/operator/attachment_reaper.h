// The attachment reaper: detaches the disks the disk mounter attached once
// nothing uses them. The disk mounter attaches an added disk to a running
// pod's node with a VolumeAttachment of its own (labelled
// app.kubernetes.io/managed-by=discoblocks); no pod's spec names the disk, so
// the attach/detach controller never detaches it, and the PV, held by the
// CSI attacher's finalizer, would outlive its claim. Leader-only, one key
// ("sweep"), every `interval`: each such VolumeAttachment whose node runs no
// live pod (not Succeeded or Failed, not deleted) that
//   - names the claim in its spec (then the attach/detach controller owns
//     the attachment, under the same name), or
//   - is in the claim's mounted-in annotation, or
//   - uses another disk of the claim's DiskConfig (the disk mounter may be
//     about to mount it there)
// is deleted, and the CSI attacher detaches the volume. A claim that no
// longer exists uses nothing.
#pragma once

#include <chrono>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/informer.h"
#include "operator/disk_mount_plan.h"  // FindClaim
#include "operator/manager.h"

namespace discoblocks::op {

inline constexpr const char* kAttachmentSweepKey = "sweep";

// Whether the VolumeAttachment `attachment` of `claim` (null when the claim
// is gone) is still used by one of `pods` (the claim's namespace), by the
// rules above; `find_claim` finds the other claims the pods name.
bool AttachmentInUse(const nlohmann::json& attachment, const nlohmann::json* claim,
                     const std::vector<kube::Informer::Object>& pods, const FindClaim& find_claim);

// The registration, reading the manager's claim and pod caches.
ControllerRegistration AttachmentReaper(
    Manager& manager, std::chrono::milliseconds interval = std::chrono::seconds(30));

}  // namespace discoblocks::op
