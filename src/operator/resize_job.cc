#include "operator/resize_job.h"

#include <utility>

#include <fmt/format.h>

#include "operator/node_job.h"
#include "util/sha256.h"

namespace discoblocks::op {
namespace {

std::string Script(const ResizeJobInput& input) {
  return fmt::format(
      "set -eu\n"
      "# Grows the file system of claim {ns}/{claim} to {size} on node {node}.\n"
      "PV_NAME={pv_name}\n"
      "FS={fstype}\n"
      "# The driver's GetPreResizeCommand ({provisioner}): sets DEV.\n"
      "{fragment}\n"
      "[ -n \"${{DEV:-}}\" ] || {{ echo 'discoblocks: the driver set no DEV' >&2; exit 1; }}\n"
      "case \"$FS\" in\n"
      "  ext2|ext3|ext4) chroot /host resize2fs \"$DEV\" ;;\n"
      "  xfs)\n"
      "    MOUNTED=$(grep \"^$DEV \" /host/proc/1/mounts | head -n 1 | cut -d' ' -f2)\n"
      "    [ -n \"$MOUNTED\" ] || {{ echo \"discoblocks: $DEV is not mounted on this node\" >&2; "
      "exit 1; }}\n"
      "    chroot /host xfs_growfs \"$MOUNTED\" ;;\n"
      "  *) echo \"discoblocks: cannot grow a $FS file system\" >&2; exit 1 ;;\n"
      "esac\n",
      fmt::arg("ns", input.claim_namespace), fmt::arg("claim", input.claim_name),
      fmt::arg("size", input.target_size), fmt::arg("node", input.node),
      fmt::arg("pv_name", ShellQuote(input.pv_name)), fmt::arg("fstype", input.fs_type),
      fmt::arg("provisioner", input.provisioner), fmt::arg("fragment", input.pre_resize_command));
}

}  // namespace

std::string ResizeJobName(const std::string& claim_uid, const std::string& target_size,
                          const std::string& node) {
  return "discoblocks-resize-" +
         Sha256Hex(claim_uid + "/" + target_size + "/" + node).substr(0, 16);
}

Result<nlohmann::json> ResizeJob(const ResizeJobInput& input) {
  for (const auto& [value, what] :
       {std::pair{&input.job_namespace, "the Job's namespace"},
        std::pair{&input.claim_uid, "the claim's uid"}, std::pair{&input.node, "the node"},
        std::pair{&input.pv_name, "the PV's name"},
        std::pair{&input.target_size, "the target size"},
        std::pair{&input.image, "the Job's image"}}) {
    if (value->empty()) return MakeError(fmt::format("a resize Job needs {}", what));
  }
  if (!PlainName(input.fs_type) || input.fs_type.find('/') != std::string::npos) {
    return MakeError(fmt::format("file system type \"{}\" is not a plain name", input.fs_type));
  }
  if (!PlainName(input.target_size)) return MakeError("the target size is not a plain quantity");
  NodeJobSpec spec;
  spec.name = ResizeJobName(input.claim_uid, input.target_size, input.node);
  spec.job_namespace = input.job_namespace;
  spec.node = input.node;
  spec.image = input.image;
  spec.kind = "resize";
  spec.script = Script(input);
  spec.annotations = {
      {"discoblocks.ondat.io/claim", input.claim_namespace + "/" + input.claim_name},
      {"discoblocks.ondat.io/claim-uid", input.claim_uid},
      {"discoblocks.ondat.io/target-size", input.target_size}};
  return NodeJob(spec);
}

}  // namespace discoblocks::op
