// The file system grower: for claims whose driver says its CSI driver does not
// grow file systems (IsFileSystemManaged false), grows the file system once
// the autoscaler's grow has reached the volume. Leader-only, keyed by claim
// ("namespace/name"). A claim is due when:
//   the autoscaler's last action on it is `grow` to target size T
//   (annotations last-action, target-size), its status.capacity is at least
//   T (the CSI resizer is done), and neither fs-grown nor fs-grow-failed says T.
// Then, for each node where a Running pod uses the claim (names it in its
// spec, or had it mounted by the disk mounter):
//   1. the driver's GetPreResizeCommand, given the PV and the node's
//      VolumeAttachment (none when the CSIDriver needs no attachment);
//   2. the resize Job (resize_job.h), created when absent, waited for;
// and when every node's Job is complete: fs-grown=T on the claim and an Event
// FileSystemResized; when one failed: fs-grow-failed=T and a Warning Event
// FileSystemResizeFailed, once. Until then the autoscaler counts the grow as
// pending (autoscale_decision.h), so it never grows the volume again past a
// file system that did not follow. A claim no Running pod uses waits for one.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "drivers/registry.h"
#include "operator/manager.h"

namespace discoblocks::op {

struct FileSystemGrowerOptions {
  const drivers::Registry* registry = nullptr;  // may be null: every driver missing
  drivers::CallOptions call_options;
  std::string job_namespace;  // required
  std::string job_image;      // required: sh, grep, head, cut, chroot
  std::chrono::milliseconds poll{std::chrono::seconds(2)};
};

// Whether `claim` is due for its file system to be grown (above), and T.
std::string FileSystemGrowthDue(const nlohmann::json& claim);

// The registration, reading the manager's claim and pod caches.
// `options.registry` outlives the manager.
ControllerRegistration FileSystemGrower(Manager& manager, FileSystemGrowerOptions options);

}  // namespace discoblocks::op
