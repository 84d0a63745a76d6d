#include "operator/mount_job.h"

#include <fmt/format.h>

#include "operator/node_job.h"
#include "util/sha256.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

// "containerd://abc" -> "abc": the cgroup paths name the bare ID.
std::string BareId(const std::string& container_id) {
  const auto scheme = container_id.find("://");
  return scheme == std::string::npos ? container_id : container_id.substr(scheme + 3);
}

std::string Script(const MountJobInput& input) {
  std::string script = fmt::format(
      "set -eu\n"
      "# Claim {ns}/{claim} into pod {ns}/{pod} on node {node}.\n"
      "# What the drivers' fragments read: the PV's name and file system type.\n"
      "PV_NAME={pv_name}\n"
      "FS={fstype}\n"
      "# The driver's GetPreMountCommand ({provisioner}): sets DEV.\n"
      "{fragment}\n"
      "[ -n \"${{DEV:-}}\" ] || {{ echo 'discoblocks: the driver set no DEV' >&2; exit 1; }}\n"
      "FSTYPE=$FS\n"
      "# A new disk has no file system yet; one that has keeps its data.\n"
      "chroot /host blkid \"$DEV\" >/dev/null 2>&1 || chroot /host \"mkfs.$FSTYPE\" \"$DEV\"\n"
      "set -- $(chroot /host stat -L -c '%t %T' \"$DEV\")\n"
      "MAJOR=$((0x$1)) MINOR=$((0x$2))\n"
      "NODE=/dev/discoblocks-{claim_uid}\n"
      "mount_into() {{  # container ID, mount path\n"
      "  pid=$(grep -l \"$1\" /proc/[0-9]*/cgroup 2>/dev/null | head -n 1 | cut -d/ -f3)\n"
      "  [ -n \"$pid\" ] || {{ echo \"discoblocks: no process of container $1 here\" >&2; "
      "exit 1; }}\n"
      "  nsenter -t \"$pid\" -m -- sh -c '\n"
      "    mkdir -p \"$1\"\n"
      "    [ -b \"$2\" ] || mknod \"$2\" b \"$3\" \"$4\"\n"
      "    grep -qs \" $1 \" /proc/self/mounts || mount -t \"$5\" \"$2\" \"$1\"\n"
      "  ' mount \"$2\" \"$NODE\" \"$MAJOR\" \"$MINOR\" \"$FSTYPE\"\n"
      "}}\n",
      fmt::arg("ns", input.claim_namespace), fmt::arg("claim", input.claim_name),
      fmt::arg("pod", input.pod_name), fmt::arg("node", input.node),
      fmt::arg("provisioner", input.provisioner), fmt::arg("fragment", input.pre_mount_command),
      fmt::arg("fstype", input.fs_type), fmt::arg("claim_uid", input.claim_uid),
      fmt::arg("pv_name", ShellQuote(input.pv_name)));
  for (const MountTarget& target : input.targets) {
    script += fmt::format("mount_into {} {}  # container {}\n", BareId(target.container_id),
                          ShellQuote(target.mount_path), target.container);
  }
  return script;
}

}  // namespace

std::string MountJobName(const std::string& claim_uid, const std::string& pod_uid) {
  return "discoblocks-mount-" + Sha256Hex(claim_uid + "/" + pod_uid).substr(0, 16);
}

Result<json> MountJob(const MountJobInput& input) {
  for (const auto& [value, what] :
       {std::pair{&input.job_namespace, "the Job's namespace"},
        std::pair{&input.claim_uid, "the claim's uid"}, std::pair{&input.pod_uid, "the pod's uid"},
        std::pair{&input.node, "the pod's node"}, std::pair{&input.pv_name, "the PV's name"},
        std::pair{&input.image, "the Job's image"}}) {
    if (value->empty()) return MakeError(fmt::format("a mount Job needs {}", what));
  }
  if (!PlainName(input.fs_type) || input.fs_type.find('/') != std::string::npos) {
    return MakeError(fmt::format("file system type \"{}\" is not a plain name", input.fs_type));
  }
  if (!PlainName(input.claim_uid)) return MakeError("the claim's uid is not a plain name");
  if (input.targets.empty()) return MakeError("the pod has no running container to mount into");
  for (const MountTarget& target : input.targets) {
    if (!PlainName(target.container_id)) {
      return MakeError(fmt::format("container {} has no usable container ID (\"{}\")",
                                   target.container, target.container_id.substr(0, 64)));
    }
    if (target.mount_path.empty() || target.mount_path.front() != '/') {
      return MakeError(fmt::format("mount path \"{}\" is not absolute", target.mount_path));
    }
  }
  NodeJobSpec spec;
  spec.name = MountJobName(input.claim_uid, input.pod_uid);
  spec.job_namespace = input.job_namespace;
  spec.node = input.node;
  spec.image = input.image;
  spec.kind = "mount";
  spec.script = Script(input);
  spec.annotations = {
      {"discoblocks.ondat.io/claim", input.claim_namespace + "/" + input.claim_name},
      {"discoblocks.ondat.io/pod", input.claim_namespace + "/" + input.pod_name},
      {"discoblocks.ondat.io/pod-uid", input.pod_uid}};
  return NodeJob(spec);
}

}  // namespace discoblocks::op
