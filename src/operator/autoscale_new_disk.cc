#include "operator/autoscale_new_disk.h"

#include <fmt/format.h>

#include "admission/names.h"
#include "admission/pod_disks.h"
#include "kube/objects.h"
#include "operator/claim_families.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

// The pod the new disk is for: the claim's owner (ReadWriteOnce), else the
// first running user.
const json* PodFor(const admission::DiskConfig& config, const json& claim,
                   const std::vector<kube::Informer::Object>& users) {
  if (config.availability_mode == admission::kReadWriteOnce) {
    const std::string family = FamilyKey(config, claim);
    for (const auto& pod : users) {
      const std::string uid = StringAt(*pod, {"metadata", "uid"});
      if (!uid.empty() && family.ends_with("/pod/" + uid)) return pod.get();
    }
    return nullptr;
  }
  return users.empty() ? nullptr : users.front().get();
}

}  // namespace

AddDisk NewDiskMaker(NewDiskSources sources) {
  return [sources](const admission::DiskConfig& config, const json& claim, const Decision& decision,
                   const std::vector<kube::Informer::Object>& users) -> Result<std::string> {
    const json* pod = PodFor(config, claim, users);
    if (pod == nullptr) return MakeError("no running pod of its family uses it");
    admission::PodFacts facts;
    facts.ns = StringAt(claim, {"metadata", "namespace"});
    facts.name = StringAt(*pod, {"metadata", "name"});
    if (config.availability_mode == admission::kReadWriteDaemon) {
      facts.node = StringAt(claim, {"metadata", "annotations", admission::kNodeAnnotation});
    } else if (std::string node = StringAt(*pod, {"spec", "nodeName"}); !node.empty()) {
      facts.node = std::move(node);
    }
    const int index = ClaimIndex(claim);
    if (index < 0) return MakeError("it has no discoblocks-index label");
    const std::string first =
        index == 0 ? StringAt(claim, {"metadata", "name"})
                   : StringAt(claim, {"metadata", "labels", admission::kParentLabel});

    admission::PodMutationInput input;
    input.ns = facts.ns;
    input.registry = sources.registry;
    input.call_options = sources.call_options;
    input.storage_class = StorageClassesFromCache(*sources.storage_classes);
    input.node = NodesFromCache(*sources.nodes);
    input.pvcs = ClaimsFromCache(*sources.claims);
    auto plan = admission::PlanAddedDisk(config, facts, index + 1, first, input);
    if (!plan) return plan.error();
    for (const json& storage_class : plan->storage_classes) {
      auto created = sources.writer->CreateStorageClassIfAbsent(storage_class);
      if (!created) return created.error();
      if (!admission::SameManagedObject(*created, storage_class)) {
        return MakeError(fmt::format("StorageClass {} exists and is not Discoblocks' copy",
                                     StringAt(storage_class, {"metadata", "name"})));
      }
    }
    json wanted = plan->pvcs.front();
    if (const json* owners = FindMember(claim, {"metadata", "ownerReferences"})) {
      wanted["metadata"]["ownerReferences"] = *owners;
    }
    wanted["spec"]["resources"]["requests"]["storage"] = FormatBytes(decision.to_bytes);
    auto created = sources.writer->CreatePvcIfAbsent(wanted);
    if (!created) return created.error();
    if (!admission::SameManagedObject(*created, wanted)) {
      return MakeError(fmt::format("claim {} exists and is not this family's disk {}",
                                   StringAt(wanted, {"metadata", "name"}), index + 1));
    }
    return StringAt(wanted, {"metadata", "name"});
  };
}

}  // namespace discoblocks::op
