// Where a DiskConfig's disks are mounted in a pod's containers: the pattern
// rendered for a disk's index, and back from a path to the index
// (docs/discoblocks.md, "Pods, modes and names").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace discoblocks::admission {

// Disks per pod or per family, at most (spec.policy.maximumNumberOfDisks' ceiling).
inline constexpr int kMaxDisks = 150;

// Where a DiskConfig without a pattern of its own mounts its disks, so that two
// DiskConfigs left at the default never share a path:
// "/media/discoblocks/<config name>-%d".
std::string DefaultMountPointPattern(std::string_view config_name);

// The mount point of disk `index` (0 and up). Index 0 is the pattern with its
// `%d` replaced by 0, or the pattern as it is when it has no `%d`; a later
// index replaces `%d`, and a pattern without one gets "-<index>" appended.
// An empty pattern stands for DefaultMountPointPattern(config_name).
std::string RenderMountPoint(std::string_view pattern, std::string_view config_name, int index);

// The index whose rendering is `mount_point`, among the kMaxDisks a pod may
// have; nullopt for a path that no index renders to.
std::optional<int> MountPointIndex(std::string_view pattern, std::string_view config_name,
                                   std::string_view mount_point);

}  // namespace discoblocks::admission
