// How many CPUs this process may use: the container's CPU quota (cgroup v2
// `cpu.max`) when there is one, else the cores the machine has. Kubernetes
// turns `resources.limits.cpu` into that quota, so a pod limited to 2 CPUs on
// a 64-core node gets pools sized for 2, not 64.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace discoblocks {

// The CPUs a `cpu.max` file allows ("200000 100000" is 2), rounded up; nullopt
// for "max" (no quota) or text that is not a quota.
std::optional<double> ParseCpuMax(std::string_view text);

// The tightest `cpu.max` from this process's cgroup up to the root of the
// hierarchy, read through `proc_self_cgroup` ("0::/path", cgroup v2) and the
// hierarchy mounted at `cgroup_root`. nullopt when there is no quota or no
// cgroup v2 (then the machine's cores are the limit).
std::optional<double> CgroupCpuLimit(
    const std::filesystem::path& proc_self_cgroup = "/proc/self/cgroup",
    const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

// Whole CPUs to size a pool by: the quota rounded up, at most the machine's
// cores, at least 1.
unsigned UsableCpus(std::optional<double> cgroup_limit = CgroupCpuLimit());

}  // namespace discoblocks
