#include "admission/pod_disks.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "admission/mount_points.h"
#include "admission/names.h"
#include "util/json_fields.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

Error Deny(const DiskConfig& config, const std::string& why) {
  return MakeError(fmt::format("DiskConfig \"{}\": {}", config.name, why));
}

struct StorageClassInfo {
  json object;
  std::string provisioner;
};

Result<StorageClassInfo> FindStorageClass(const DiskConfig& config, const PodMutationInput& input) {
  auto found = input.storage_class ? input.storage_class(config.storage_class_name) : std::nullopt;
  if (!found) {
    return Deny(config, fmt::format("StorageClass \"{}\" not found", config.storage_class_name));
  }
  // From the API server or a file, so not necessarily well-typed.
  auto provisioner = OptionalString(*found, "provisioner", "provisioner");
  if (!provisioner) {
    return Deny(config, fmt::format("StorageClass \"{}\": {}", config.storage_class_name,
                                    provisioner.error().message));
  }
  return StorageClassInfo{std::move(found).value(), *provisioner};
}

// Calls the StorageClass's driver through the registry (which counts the call
// and says when there is no driver). The result of an ok call, or the denial.
Result<json> CallDriver(const DiskConfig& config, const StorageClassInfo& storage_class,
                        drivers::Function function, const drivers::CallInputs& inputs,
                        const PodMutationInput& input, DiskPlan& plan) {
  const drivers::Outcome outcome =
      input.registry != nullptr
          ? input.registry->Call(storage_class.provisioner, function, inputs, input.call_options)
          : drivers::ErrorOutcome(drivers::ErrorCause::kNoDriver, "no drivers");
  if (outcome.cause == drivers::ErrorCause::kNoDriver) {
    return Deny(config, fmt::format(R"(no driver for provisioner "{}" of StorageClass "{}")",
                                    storage_class.provisioner, config.storage_class_name));
  }
  if (!outcome.ok()) {
    return Deny(config, fmt::format("the disk cannot be provisioned: {}", outcome.reason));
  }
  plan.warnings.insert(plan.warnings.end(), outcome.warnings.begin(), outcome.warnings.end());
  return outcome.result;
}

Status CheckStringMap(const json& object, const char* key, std::string_view path) {
  auto map = OptionalObject(object, key, path);
  if (!map) return map.error();
  if (*map == nullptr) return {};
  for (const auto& [name, value] : (*map)->items()) {
    if (!value.is_string()) return WrongType(fmt::format("{}.{}", path, name), "a string", value);
  }
  return {};
}

// What we build on in a PVC stub has the types we expect.
Status CheckStub(const json& stub) {
  auto metadata = OptionalObject(stub, "metadata", "metadata");
  if (!metadata) return metadata.error();
  if (*metadata != nullptr) {
    if (auto labels = CheckStringMap(**metadata, "labels", "metadata.labels"); !labels) {
      return labels;
    }
    if (auto notes = CheckStringMap(**metadata, "annotations", "metadata.annotations"); !notes) {
      return notes;
    }
  }
  auto spec = OptionalObject(stub, "spec", "spec");
  if (!spec) return spec.error();
  return {};
}

Error MalformedStub(const DiskConfig& config, const StorageClassInfo& storage_class,
                    const std::string& why) {
  return Deny(config, fmt::format("the PVC stub of driver {} is malformed: {}",
                                  storage_class.provisioner, why));
}

Result<json> PvcStub(const DiskConfig& config, const StorageClassInfo& storage_class,
                     const std::string& name, const std::string& ns, const PodMutationInput& input,
                     DiskPlan& plan) {
  drivers::CallInputs inputs;
  inputs.pvc_name = name;
  inputs.pvc_namespace = ns;
  inputs.storage_class_name = config.storage_class_name;
  auto stub =
      CallDriver(config, storage_class, drivers::Function::kGetPVCStub, inputs, input, plan);
  if (!stub) return stub;
  if (auto checked = CheckStub(*stub); !checked) {
    return MalformedStub(config, storage_class, checked.error().message);
  }
  return stub;
}

json ManagedLabels(const DiskConfig& config, int index, const std::optional<std::string>& node) {
  json labels = {{kConfigLabel, FitLabelValue(config.name)}, {kIndexLabel, std::to_string(index)}};
  if (node) labels[kNodeLabel] = FitLabelValue(*node);
  return labels;
}

json ManagedAnnotations(const DiskConfig& config, const std::optional<std::string>& node) {
  json annotations = {{kConfigAnnotation, config.name}};
  if (node) annotations[kNodeAnnotation] = *node;
  return annotations;
}

// The stub's labels or annotations with ours over them.
json Merged(const json& stub, const char* key, const json& ours) {
  const json* theirs = FindMember(stub, {"metadata", key});
  json merged = theirs != nullptr ? *theirs : json::object();
  merged.update(ours);
  return merged;
}

// The stub's spec with the DiskConfig's StorageClass, access modes and capacity.
Result<json> ClaimSpec(const DiskConfig& config, const StorageClassInfo& storage_class,
                       const json& stub, const std::string& storage_class_name) {
  const json* stub_spec = FindMember(stub, {"spec"});
  json spec = stub_spec != nullptr ? *stub_spec : json::object();
  spec["storageClassName"] = storage_class_name;
  spec["accessModes"] = config.access_modes;
  auto resources = ObjectMember(spec, "resources", "spec.resources");
  if (!resources) return MalformedStub(config, storage_class, resources.error().message);
  auto requests = ObjectMember(**resources, "requests", "spec.resources.requests");
  if (!requests) return MalformedStub(config, storage_class, requests.error().message);
  (**requests)["storage"] = config.capacity.text();
  return spec;
}

json TopologyCopy(const StorageClassInfo& storage_class, const std::string& original,
                  const std::string& name, const std::vector<json>& terms) {
  json copy = {{"apiVersion", "storage.k8s.io/v1"},
               {"kind", "StorageClass"},
               {"metadata",
                {{"name", name},
                 {"labels", {{kTopologyOfKey, FitLabelValue(original)}}},
                 {"annotations", {{kTopologyOfKey, original}}}}},
               {"provisioner", storage_class.provisioner},
               {"allowedTopologies", terms}};
  for (const char* key : {"parameters", "reclaimPolicy", "volumeBindingMode",
                          "allowVolumeExpansion", "mountOptions"}) {
    const json* value = FindMember(storage_class.object, {key});
    if (value != nullptr) copy[key] = *value;
  }
  return copy;
}

// The StorageClass a new PVC names: the DiskConfig's, or, when the pod's node
// is known and the driver restricts topology for it, a copy restricted to the
// driver's terms (added to the plan unless it exists).
Result<std::string> StorageClassForPod(const DiskConfig& config,
                                       const StorageClassInfo& storage_class, const PodFacts& pod,
                                       const PodMutationInput& input, DiskPlan& plan) {
  if (!pod.node) return config.storage_class_name;
  auto node = input.node ? input.node(*pod.node) : std::nullopt;
  if (!node) {
    plan.warnings.push_back(
        fmt::format("DiskConfig \"{}\": node \"{}\" not found, so its disk uses StorageClass "
                    "\"{}\" without topology restrictions",
                    config.name, *pod.node, config.storage_class_name));
    return config.storage_class_name;
  }
  drivers::CallInputs inputs;
  inputs.node = std::move(node).value();
  auto terms = CallDriver(config, storage_class, drivers::Function::kGetStorageClassAllowedTopology,
                          inputs, input, plan);
  if (!terms) return terms.error();
  if (!terms->is_array() || terms->empty()) return config.storage_class_name;
  const std::vector<json> term_list(terms->begin(), terms->end());
  const std::string name = TopologyStorageClassName(config.storage_class_name, term_list);
  json wanted = TopologyCopy(storage_class, config.storage_class_name, name, term_list);
  if (auto existing = input.storage_class ? input.storage_class(name) : std::nullopt) {
    if (!SameManagedObject(*existing, wanted)) {
      return Deny(config,
                  fmt::format(R"(StorageClass "{}" exists and is not the topology-restricted )"
                              R"(copy of "{}" that Discoblocks would make)",
                              name, config.storage_class_name));
    }
    return name;
  }
  plan.storage_classes.push_back(std::move(wanted));
  return name;
}

// A new disk's claim: the driver's stub for a PVC named `name`, and its spec
// on the StorageClass the pod's node calls for.
struct Claim {
  json stub;
  json spec;
};

Result<Claim> NewClaim(const DiskConfig& config, const std::string& name, const PodFacts& pod,
                       const PodMutationInput& input, DiskPlan& plan) {
  auto storage_class = FindStorageClass(config, input);
  if (!storage_class) return storage_class.error();
  auto stub = PvcStub(config, *storage_class, name, pod.ns, input, plan);
  if (!stub) return stub.error();
  auto class_name = StorageClassForPod(config, *storage_class, pod, input, plan);
  if (!class_name) return class_name.error();
  auto spec = ClaimSpec(config, *storage_class, *stub, *class_name);
  if (!spec) return spec.error();
  return Claim{*std::move(stub), *std::move(spec)};
}

// The PVC: the driver's stub metadata with our name, namespace, and our labels
// and annotations over the stub's (ours whatever the driver wrote: the name is
// what makes the family), and the claim's spec.
json ClaimObject(Claim claim, const std::string& name, const std::string& ns, const json& labels,
                 const json& annotations) {
  const json* stub_metadata = FindMember(claim.stub, {"metadata"});
  json metadata = stub_metadata != nullptr ? *stub_metadata : json::object();
  metadata["name"] = name;
  metadata["namespace"] = ns;
  metadata["labels"] = Merged(claim.stub, "labels", labels);
  metadata["annotations"] = Merged(claim.stub, "annotations", annotations);
  return json{{"apiVersion", "v1"},
              {"kind", "PersistentVolumeClaim"},
              {"metadata", std::move(metadata)},
              {"spec", std::move(claim.spec)}};
}

// ReadWriteOnce: a generic ephemeral volume. Kubernetes names its PVC
// "<pod name>-<volume name>", creates it with the pod as owner and deletes it
// with the pod; the claim template carries what a PVC of ours would.
Result<json> EphemeralVolumeSource(const DiskConfig& config, const PodFacts& pod,
                                   const PodMutationInput& input, DiskPlan& plan) {
  const std::string volume = VolumeName(config.name, 0);
  // The stub's name is not used (a template has none); the driver gets the
  // PVC's name when the pod's is known already.
  const std::string name = pod.name.empty() ? volume : FitDns1123Subdomain(pod.name + "-" + volume);
  auto claim = NewClaim(config, name, pod, input, plan);
  if (!claim) return claim.error();
  const json metadata = {
      {"labels", Merged(claim->stub, "labels", ManagedLabels(config, 0, std::nullopt))},
      {"annotations",
       Merged(claim->stub, "annotations", ManagedAnnotations(config, std::nullopt))}};
  return json{
      {"ephemeral", {{"volumeClaimTemplate", {{"metadata", metadata}, {"spec", claim->spec}}}}}};
}

std::string FamilyPvcName(const DiskConfig& config, const std::optional<std::string>& node,
                          int index) {
  return node ? DaemonPvcName(config.name, *node, index) : SharedPvcName(config.name, index);
}

std::optional<int> ParseIndex(std::string_view text) {
  int index = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (error != std::errc() || end != text.data() + text.size() || index < 0 || index >= kMaxDisks) {
    return std::nullopt;
  }
  return index;
}

// The family's PVCs by index: those carrying its labels, an index, and the
// name that index gets (so that a PVC of another mode or family never counts).
std::map<int, std::string> FamilyMembers(const DiskConfig& config,
                                         const std::optional<std::string>& node,
                                         const PodFacts& pod, const PodMutationInput& input,
                                         DiskPlan& plan) {
  std::map<int, std::string> members;
  if (!input.pvcs) return members;
  std::map<std::string, std::string> labels = {{kConfigLabel, FitLabelValue(config.name)}};
  if (node) labels[kNodeLabel] = FitLabelValue(*node);
  for (const json& pvc : input.pvcs(pod.ns, labels)) {
    const json* index_label = FindMember(pvc, {"metadata", "labels", kIndexLabel});
    const auto index = index_label != nullptr && index_label->is_string()
                           ? ParseIndex(index_label->get<std::string>())
                           : std::nullopt;
    const json* name_field = FindMember(pvc, {"metadata", "name"});
    const std::string name = name_field != nullptr && name_field->is_string()
                                 ? name_field->get<std::string>()
                                 : std::string();
    if (!index || name != FamilyPvcName(config, node, *index)) continue;
    if (FindMember(pvc, {"metadata", "deletionTimestamp"}) != nullptr) {
      plan.warnings.push_back(
          fmt::format(R"(DiskConfig "{}": PVC "{}" is being deleted; the pod waits for it)",
                      config.name, name));
    }
    members.emplace(*index, name);
  }
  return members;
}

// ReadWriteSame and ReadWriteDaemon: a family's first PVC, shared, without owner.
Result<json> FamilyPvc(const DiskConfig& config, const std::optional<std::string>& node,
                       const PodFacts& pod, const PodMutationInput& input, DiskPlan& plan) {
  const std::string name = FamilyPvcName(config, node, 0);
  auto claim = NewClaim(config, name, pod, input, plan);
  if (!claim) return claim.error();
  return ClaimObject(*std::move(claim), name, pod.ns, ManagedLabels(config, 0, node),
                     ManagedAnnotations(config, node));
}

// The pod volume of disk `index`, with `source` (e.g. {"persistentVolumeClaim": ...}).
Disk MakeDisk(const DiskConfig& config, int index, const json& source) {
  json volume = {{"name", VolumeName(config.name, index)}};
  volume.update(source);
  return {index, std::move(volume),
          RenderMountPoint(config.mount_point_pattern, config.name, index)};
}

}  // namespace

Result<DiskPlan> PlanDisks(const DiskConfig& config, const PodFacts& pod,
                           const PodMutationInput& input) {
  DiskPlan plan;
  const std::string& mode = config.availability_mode;
  if (mode == kReadWriteOnce) {
    auto source = EphemeralVolumeSource(config, pod, input, plan);
    if (!source) return source.error();
    plan.disks.push_back(MakeDisk(config, 0, *std::move(source)));
    return plan;
  }
  std::optional<std::string> node;
  if (mode == kReadWriteDaemon) {
    if (!pod.daemon_set) {
      return Deny(config,
                  "availabilityMode ReadWriteDaemon gives disks to DaemonSet pods only, and this "
                  "pod's controller is not a DaemonSet");
    }
    if (!pod.node) {
      return Deny(config,
                  "availabilityMode ReadWriteDaemon needs the pod's node, and this DaemonSet pod "
                  "names none (no spec.nodeName, no required node affinity on metadata.name)");
    }
    node = pod.node;
  } else if (mode != kReadWriteSame) {
    return Deny(config, fmt::format("spec.availabilityMode \"{}\" is not ReadWriteOnce, "
                                    "ReadWriteSame or ReadWriteDaemon",
                                    mode));
  }
  auto members = FamilyMembers(config, node, pod, input, plan);
  if (!members.contains(0)) {
    auto pvc = FamilyPvc(config, node, pod, input, plan);
    if (!pvc) return pvc.error();
    members.emplace(0, FamilyPvcName(config, node, 0));
    plan.pvcs.push_back(std::move(pvc).value());
  }
  for (const auto& [index, name] : members) {
    plan.disks.push_back(
        MakeDisk(config, index, {{"persistentVolumeClaim", {{"claimName", name}}}}));
  }
  return plan;
}

Result<DiskPlan> PlanAddedDisk(const DiskConfig& config, const PodFacts& pod, int index,
                               const std::string& first_claim, const PodMutationInput& input) {
  if (index <= 0 || index >= kMaxDisks) {
    return Deny(config, fmt::format("disk index {} is not between 1 and {}", index, kMaxDisks - 1));
  }
  const std::string& mode = config.availability_mode;
  std::optional<std::string> node;
  std::string name;
  if (mode == kReadWriteOnce) {
    if (pod.name.empty()) return Deny(config, "a ReadWriteOnce disk is added to a named pod");
    name = FitDns1123Subdomain(pod.name + "-" + VolumeName(config.name, index));
  } else if (mode == kReadWriteDaemon) {
    if (!pod.node) return Deny(config, "a ReadWriteDaemon disk is added on a known node");
    node = pod.node;
    name = DaemonPvcName(config.name, *node, index);
  } else if (mode == kReadWriteSame) {
    name = SharedPvcName(config.name, index);
  } else {
    return Deny(config, fmt::format("spec.availabilityMode \"{}\" is unknown", mode));
  }
  DiskPlan plan;
  auto claim = NewClaim(config, name, pod, input, plan);
  if (!claim) return claim.error();
  json labels = ManagedLabels(config, index, node);
  labels[kParentLabel] = FitLabelValue(first_claim);
  json annotations = ManagedAnnotations(config, node);
  auto storage_class = FindStorageClass(config, input);
  if (!storage_class) return storage_class.error();
  if (pod.node &&
      StringAt(storage_class->object, {"volumeBindingMode"}) == "WaitForFirstConsumer") {
    annotations[kSelectedNodeAnnotation] = *pod.node;
  }
  plan.pvcs.push_back(ClaimObject(*std::move(claim), name, pod.ns, labels, annotations));
  return plan;
}

bool SameManagedObject(const json& existing, const json& wanted) {
  if (StringOr(existing, "kind") != StringOr(wanted, "kind")) return false;
  const auto same = [&](const char* field, const char* key) {
    const json* theirs = FindMember(existing, {"metadata", field, key});
    const json* ours = FindMember(wanted, {"metadata", field, key});
    return theirs == ours || (theirs != nullptr && ours != nullptr && *theirs == *ours);
  };
  return same("labels", kConfigLabel) && same("labels", kIndexLabel) &&
         same("labels", kNodeLabel) && same("labels", kTopologyOfKey) &&
         same("annotations", kConfigAnnotation) && same("annotations", kNodeAnnotation) &&
         same("annotations", kTopologyOfKey);
}

}  // namespace discoblocks::admission
