// The disk mounter: brings a disk the autoscaler added (a claim with the
// `discoblocks-parent` label) into the running pods of its family, which do
// not name it in their spec and so get nothing from the kubelet until they
// are created again (then the pod webhook gives them every disk). Leader-only,
// keyed by claim ("namespace/name"). For each such claim, once Bound, and for
// each running pod of its family that has not got it (disk_mount_plan.h):
//   1. the PV (a client Get) and its CSI driver;
//   2. unless the CSIDriver object says attachRequired: false, the
//      VolumeAttachment of the PV on the pod's node (VolumeAttachmentName),
//      created when absent; then wait until it is attached and, when the
//      driver's WaitForVolumeAttachmentMeta names a key, until
//      status.attachmentMetadata has it;
//   3. the mount Job (mount_job.h) with the driver's GetPreMountCommand,
//      created when absent in the Job namespace, and waited for;
//   4. Job complete: the pod's uid added to the claim's `mounted-in`
//      annotation and a DiskMounted Event on the pod; Job failed: the uid
//      added to `mount-failed` and a Warning MountFailed Event on the pod and
//      the claim, once; that pod is not tried again.
// Every step finds what an earlier run (or another leader) made: the names
// are deterministic, AlreadyExists is success, and the state is on the claim.
// Waits (attachment, Job) look again every `poll`: neither VolumeAttachments
// nor Jobs are watched, which would cost a cluster-wide cache of each.
//
// Not done here: detaching. The VolumeAttachment stays while the claim is
// used; when the pod is created again with the claim in its spec, the
// attach/detach controller takes the same-named VolumeAttachment over.
#pragma once

#include <chrono>
#include <string>

#include "drivers/registry.h"
#include "operator/manager.h"

namespace discoblocks::op {

struct DiskMounterOptions {
  const drivers::Registry* registry = nullptr;  // may be null: every driver missing
  drivers::CallOptions call_options;
  std::string job_namespace;  // required
  std::string job_image;      // required: sh, grep, head, cut, nsenter, chroot
  std::chrono::milliseconds poll{std::chrono::seconds(2)};
};

// The registration, reading the manager's claim, pod and DiskConfig caches.
// `options.registry` outlives the manager.
ControllerRegistration DiskMounter(Manager& manager, DiskMounterOptions options);

}  // namespace discoblocks::op
