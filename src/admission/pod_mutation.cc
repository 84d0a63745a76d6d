#include "admission/pod_mutation.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "admission/names.h"
#include "admission/pod_affinity.h"
#include "admission/pod_disks.h"
#include "util/json_fields.h"

namespace discoblocks::admission {
namespace {

using nlohmann::json;

PodMutation Deny(std::string message) {
  PodMutation mutation;
  mutation.allowed = false;
  mutation.message = std::move(message);
  return mutation;
}

// "/data/" and "/data" are one directory.
std::string NormalPath(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

struct ExistingMount {
  std::string container;
  std::string volume;
};

// What the pod has before we touch it: volume names and containers' mounts,
// with their types checked (so that building on them cannot throw).
struct PodShape {
  std::set<std::string> volumes;
  std::map<std::string, ExistingMount> mounts;  // by NormalPath(mountPath)
};

Result<PodShape> ReadShape(const json& spec) {
  PodShape shape;
  auto volumes = OptionalArray(spec, "volumes", "spec.volumes");
  if (!volumes) return volumes.error();
  if (*volumes != nullptr) {
    for (std::size_t i = 0; i < (*volumes)->size(); ++i) {
      auto name = OptionalString((**volumes)[i], "name", fmt::format("spec.volumes[{}].name", i));
      if (!name) return name.error();
      shape.volumes.insert(*name);
    }
  }
  auto containers = OptionalArray(spec, "containers", "spec.containers");
  if (!containers) return containers.error();
  if (*containers == nullptr) return shape;
  for (std::size_t i = 0; i < (*containers)->size(); ++i) {
    const json& container = (**containers)[i];
    const std::string path = fmt::format("spec.containers[{}]", i);
    if (!container.is_object()) return WrongType(path, "an object", container);
    auto name = OptionalString(container, "name", path + ".name");
    if (!name) return name.error();
    auto mounts = OptionalArray(container, "volumeMounts", path + ".volumeMounts");
    if (!mounts) return mounts.error();
    if (*mounts == nullptr) continue;
    for (std::size_t j = 0; j < (*mounts)->size(); ++j) {
      const json& mount = (**mounts)[j];
      const std::string mount_path = fmt::format("{}.volumeMounts[{}]", path, j);
      if (!mount.is_object()) return WrongType(mount_path, "an object", mount);
      auto at = OptionalString(mount, "mountPath", mount_path + ".mountPath");
      if (!at) return at.error();
      auto volume = OptionalString(mount, "name", mount_path + ".name");
      if (!volume) return volume.error();
      shape.mounts.emplace(NormalPath(*at), ExistingMount{*name, *volume});
    }
  }
  return shape;
}

// The DiskConfigs that apply, by name so that the patch does not depend on
// the order the lookup gave.
std::vector<const DiskConfig*> Matching(const PodMutationInput& input, const json& labels) {
  std::vector<const DiskConfig*> matching;
  for (const DiskConfig& config : input.disk_configs) {
    if (config.ns == input.ns && PodSelectorMatches(config.pod_selector, labels)) {
      matching.push_back(&config);
    }
  }
  std::sort(matching.begin(), matching.end(),
            [](const DiskConfig* a, const DiskConfig* b) { return a->name < b->name; });
  return matching;
}

// Why the plan's disks cannot go into the pod, or nothing. `taken` holds the
// paths of the DiskConfigs applied before, by DiskConfig.
std::optional<std::string> Conflict(const DiskConfig& config, const DiskPlan& plan,
                                    const PodShape& shape,
                                    const std::map<std::string, std::string>& taken) {
  for (const Disk& disk : plan.disks) {
    const std::string path = NormalPath(disk.mount_path);
    if (const auto other = taken.find(path); other != taken.end()) {
      return fmt::format(R"(DiskConfigs "{}" and "{}" both mount a disk at {})", other->second,
                         config.name, path);
    }
    if (const auto mount = shape.mounts.find(path); mount != shape.mounts.end()) {
      return fmt::format(
          R"(DiskConfig "{}" mounts a disk at {}, where container "{}" already mounts volume "{}")",
          config.name, path, mount->second.container, mount->second.volume);
    }
    const std::string volume = disk.volume["name"].get<std::string>();
    if (shape.volumes.contains(volume)) {
      return fmt::format(R"(DiskConfig "{}": the pod already has a volume named "{}")", config.name,
                         volume);
    }
  }
  return std::nullopt;
}

// Adds the disks' volumes to the pod and mounts them in every container
// (spec.containers; init and ephemeral containers are left alone).
void AddDisks(json& pod, const std::vector<Disk>& disks) {
  json& spec = pod["spec"];
  json& volumes = spec["volumes"];
  if (!volumes.is_array()) volumes = json::array();
  const auto containers = spec.find("containers");
  for (const Disk& disk : disks) {
    volumes.push_back(disk.volume);
    if (containers == spec.end() || !containers->is_array()) continue;
    for (json& container : *containers) {
      if (!container["volumeMounts"].is_array()) container["volumeMounts"] = json::array();
      container["volumeMounts"].push_back(
          {{"name", disk.volume["name"]}, {"mountPath", disk.mount_path}});
    }
  }
}

// Whether the pod's node is fixed before scheduling (spec.nodeName, a
// DaemonSet's pod) to one the DiskConfig's nodeSelector excludes. Such a pod
// could never run with the disk: the required affinity would keep it Pending,
// and the disks made for its node unbound, for ever. A node the lookup does
// not know is left to the scheduler, as for topology.
bool NodeExcluded(const std::vector<json>& requirements, const std::optional<std::string>& node,
                  const PodMutationInput& input) {
  if (requirements.empty() || !node || !input.node) return false;
  const std::optional<json> found = input.node(*node);
  if (!found) return false;
  const json* labels = FindMember(*found, {"metadata", "labels"});
  return !NodeLabelsMeet(requirements, labels != nullptr ? *labels : json::object());
}

void Take(PodMutation& mutation, DiskPlan plan) {
  for (json& storage_class : plan.storage_classes) {
    const bool planned = std::any_of(
        mutation.storage_classes.begin(), mutation.storage_classes.end(), [&](const json& other) {
          return other["metadata"]["name"] == storage_class["metadata"]["name"];
        });
    if (!planned) mutation.storage_classes.push_back(std::move(storage_class));
  }
  for (json& pvc : plan.pvcs) mutation.pvcs.push_back(std::move(pvc));
  for (std::string& warning : plan.warnings) mutation.warnings.push_back(std::move(warning));
}

}  // namespace

bool PodSelectorMatches(const json& pod_selector, const json& pod_labels) {
  if (!pod_selector.is_object()) return false;
  return std::ranges::all_of(pod_selector.items(), [&](const auto& item) {
    const json* label = FindMember(pod_labels, {item.key()});
    return item.value().is_string() && label != nullptr && *label == item.value();
  });
}

PodMutation MutatePod(const PodMutationInput& input) {
  if (input.pod == nullptr || !input.pod->is_object()) return Deny("the request carries no pod");
  const json& pod = *input.pod;
  auto metadata = OptionalObject(pod, "metadata", "metadata");
  if (!metadata) return Deny(metadata.error().message);
  const json no_object = json::object();
  const json& meta = *metadata != nullptr ? **metadata : no_object;
  auto labels = OptionalObject(meta, "labels", "metadata.labels");
  if (!labels) return Deny(labels.error().message);
  const std::vector<const DiskConfig*> configs =
      Matching(input, *labels != nullptr ? **labels : no_object);
  if (configs.empty()) return {};

  auto spec = OptionalObject(pod, "spec", "spec");
  if (!spec) return Deny(spec.error().message);
  if (*spec == nullptr) return Deny("spec: is required");
  auto shape = ReadShape(**spec);
  if (!shape) return Deny(shape.error().message);
  auto node = PodNodeName(pod);
  if (!node) return Deny(node.error().message);
  auto name = OptionalString(meta, "name", "metadata.name");
  if (!name) return Deny(name.error().message);
  const PodFacts facts{input.ns, *name, *node, IsDaemonSetPod(pod)};

  PodMutation mutation;
  json mutated = pod;
  std::map<std::string, std::string> taken;  // mount path -> DiskConfig
  for (const DiskConfig* config : configs) {
    // Idempotent: a pod that has the first disk already got this DiskConfig's disks.
    if (shape->volumes.contains(VolumeName(config->name, 0))) continue;
    auto requirements = NodeRequirements(config->node_selector);
    if (!requirements) {
      return Deny(
          fmt::format(R"(DiskConfig "{}": {})", config->name, requirements.error().message));
    }
    if (NodeExcluded(*requirements, *node, input)) {
      // A DaemonSet spans nodes by design, and the nodeSelector says which of
      // them get disks: its pods elsewhere run without this DiskConfig's disks.
      // Denying them would also starve the ones in the selector, as the
      // DaemonSet controller stops each creation round at its first failure
      // and backs off for longer after each. A pod fixed there by hand asked
      // for a node its disk can never reach, and is denied before anything is
      // made.
      if (!facts.daemon_set) {
        return Deny(fmt::format(
            R"(DiskConfig "{}": node "{}" does not match its nodeSelector, and this pod can )"
            "run only there",
            config->name, **node));
      }
      mutation.warnings.push_back(fmt::format(
          R"(DiskConfig "{}": node "{}" does not match its nodeSelector; this DaemonSet pod )"
          "runs there without its disks",
          config->name, **node));
      continue;
    }
    auto plan = PlanDisks(*config, facts, input);
    if (!plan) return Deny(plan.error().message);
    if (auto conflict = Conflict(*config, *plan, *shape, taken)) return Deny(*std::move(conflict));
    if (auto required = RequireNodeAffinity(mutated, *requirements); !required) {
      return Deny(required.error().message);
    }
    AddDisks(mutated, plan->disks);
    for (const Disk& disk : plan->disks) taken.emplace(NormalPath(disk.mount_path), config->name);
    Take(mutation, std::move(plan).value());
    mutation.disk_configs.push_back(config->name);
  }
  mutation.patch = json::diff(pod, mutated);
  return mutation;
}

}  // namespace discoblocks::admission
