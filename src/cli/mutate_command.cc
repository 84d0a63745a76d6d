// discoblocks mutate: the pod webhook, offline. Given a pod and the objects
// the webhook would look up (DiskConfigs, StorageClasses, the node, existing
// PVCs), prints what it would answer and create. Same code and messages as
// the webhook (admission::MutatePod); nothing is created.
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "admission/pod_mutation.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "util/json_fields.h"

namespace discoblocks::cli {
namespace {

using nlohmann::json;

struct MutateFlags {
  std::string pod;
  std::vector<std::string> diskconfigs;
  std::vector<std::string> storage_classes;
  std::optional<std::string> node;
  std::vector<std::string> pvcs;
  std::optional<std::string> ns;
  DriverFlags drivers;
  std::string output = "text";
};

// Reads each file as a Kubernetes object of `kind`.
Result<std::vector<json>> ReadObjects(const std::vector<std::string>& paths,
                                      std::string_view kind) {
  std::vector<json> objects;
  for (const std::string& path : paths) {
    auto object = ReadObject(path);
    if (!object) return object.error();
    const auto found = OptionalString(**object, "kind", "kind", "missing");
    if (!found) return MakeError(fmt::format("{}: {}", path, found.error().message));
    if (*found != kind) {
      return MakeError(fmt::format("{}: not a {} (kind {})", path, kind, *found));
    }
    objects.push_back(std::move(*object).value());
  }
  return objects;
}

// With the CRD's defaults, as the API server stores them. A DiskConfig that
// names no namespace is taken to be in the pod's, as kubectl would put it;
// one being deleted is left out, as the webhook's lookup leaves it out.
Result<std::vector<admission::DiskConfig>> ParseDiskConfigs(const std::vector<json>& objects,
                                                            const std::vector<std::string>& paths,
                                                            const std::string& ns) {
  std::vector<admission::DiskConfig> configs;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if (FindMember(objects[i], {"metadata", "deletionTimestamp"}) != nullptr) continue;
    auto config = admission::ParseDiskConfig(admission::WithDefaults(objects[i]));
    if (!config) return MakeError(fmt::format("{}: {}", paths[i], config.error().message));
    if (config->ns.empty()) config->ns = ns;
    configs.push_back(std::move(config).value());
  }
  return configs;
}

// The one provisioner the StorageClasses share, if they do: only its driver
// is compiled then.
Result<std::optional<std::string>> OnlyProvisioner(const std::vector<json>& storage_classes,
                                                   const std::vector<std::string>& paths) {
  std::set<std::string> provisioners;
  for (std::size_t i = 0; i < storage_classes.size(); ++i) {
    auto provisioner = OptionalString(storage_classes[i], "provisioner", "provisioner");
    if (!provisioner)
      return MakeError(fmt::format("{}: {}", paths[i], provisioner.error().message));
    provisioners.insert(*provisioner);
  }
  if (provisioners.size() != 1) return std::optional<std::string>();
  return std::optional<std::string>(*provisioners.begin());
}

std::optional<json> ByName(const std::vector<json>& objects, std::string_view name) {
  for (const json& object : objects) {
    if (StringAt(object, {"metadata", "name"}) == name) return object;
  }
  return std::nullopt;
}

void PrintText(const admission::PodMutation& mutation) {
  std::cout << (mutation.allowed ? "allowed" : "denied: " + mutation.message) << "\n";
  if (!mutation.disk_configs.empty()) {
    std::cout << "disk configs: " << fmt::format("{}", fmt::join(mutation.disk_configs, ", "))
              << "\n";
  }
  for (const json& storage_class : mutation.storage_classes) {
    std::cout << "create StorageClass " << StringAt(storage_class, {"metadata", "name"}) << "\n";
  }
  for (const json& pvc : mutation.pvcs) {
    std::cout << "create PersistentVolumeClaim " << StringAt(pvc, {"metadata", "namespace"}) << "/"
              << StringAt(pvc, {"metadata", "name"}) << "\n";
  }
  for (const json& operation : mutation.patch) {
    std::cout << "patch: " << StringOr(operation, "op") << " " << StringOr(operation, "path") << " "
              << DumpJson(operation.value("value", json()), -1) << "\n";
  }
  for (const auto& warning : mutation.warnings) std::cout << "warning: " << warning << "\n";
}

int Mutate(const MutateFlags& flags) {
  auto pods = ReadObjects({flags.pod}, "Pod");
  if (!pods) return Fail(pods.error().message);
  const json& pod = pods->front();
  auto objects = ReadObjects(flags.diskconfigs, admission::kDiskConfigKind);
  if (!objects) return Fail(objects.error().message);
  auto storage_classes = ReadObjects(flags.storage_classes, "StorageClass");
  if (!storage_classes) return Fail(storage_classes.error().message);
  auto nodes =
      ReadObjects(flags.node ? std::vector{*flags.node} : std::vector<std::string>{}, "Node");
  if (!nodes) return Fail(nodes.error().message);
  auto pvcs = ReadObjects(flags.pvcs, "PersistentVolumeClaim");
  if (!pvcs) return Fail(pvcs.error().message);

  std::string ns = flags.ns.value_or(StringAt(pod, {"metadata", "namespace"}));
  if (ns.empty()) ns = "default";
  auto configs = ParseDiskConfigs(*objects, flags.diskconfigs, ns);
  if (!configs) return Fail(configs.error().message);
  auto only = OnlyProvisioner(*storage_classes, flags.storage_classes);
  if (!only) return Fail(only.error().message);
  auto registry = LoadRegistry(flags.drivers, *only);
  if (!registry) return kExitError;

  admission::PodMutationInput input;
  input.pod = &pod;
  input.ns = ns;
  input.disk_configs = std::move(configs).value();
  input.registry = registry.get();
  input.call_options.limits = registry->limits();
  input.storage_class = [&](std::string_view name) { return ByName(*storage_classes, name); };
  input.node = [&](std::string_view name) { return ByName(*nodes, name); };
  input.pvcs = [&](std::string_view pvc_ns, const std::map<std::string, std::string>& labels) {
    std::vector<json> found;
    for (const json& pvc : *pvcs) {
      const std::string in = StringAt(pvc, {"metadata", "namespace"});
      bool matches = (in.empty() ? ns : in) == pvc_ns;
      for (const auto& [key, value] : labels) {
        matches = matches && StringAt(pvc, {"metadata", "labels", key}) == value;
      }
      if (matches) found.push_back(pvc);
    }
    return found;
  };
  const admission::PodMutation mutation = admission::MutatePod(input);

  if (flags.output == "json") {
    std::cout << DumpJson({{"allowed", mutation.allowed},
                           {"message", mutation.message},
                           {"patch", mutation.patch},
                           {"pvcs", mutation.pvcs},
                           {"storageClasses", mutation.storage_classes},
                           {"warnings", mutation.warnings}})
              << "\n";
  } else {
    PrintText(mutation);
  }
  return mutation.allowed ? kExitOk : kExitInvalid;
}

}  // namespace

void AddMutateCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<MutateFlags>();
  auto* command = app.add_subcommand(
      "mutate",
      "what the pod webhook would do to a pod being created, offline: the patch and the "
      "objects it would create (exit 0 allowed, 1 denied, 2 error)");
  command->add_option("--pod", flags->pod, "the Pod (YAML/JSON)")->required();
  command
      ->add_option("--diskconfig", flags->diskconfigs,
                   "a DiskConfig (YAML/JSON); repeat for several. Those in the pod's namespace "
                   "whose podSelector matches apply")
      ->required();
  command
      ->add_option("--storage-class", flags->storage_classes,
                   "a StorageClass the DiskConfigs name, or a topology-restricted copy that "
                   "exists already; repeat for several")
      ->required();
  command->add_option("--node", flags->node, "the Node the pod runs on, for topology");
  command->add_option("--pvc", flags->pvcs,
                      "an existing PersistentVolumeClaim (of a ReadWriteSame or ReadWriteDaemon "
                      "family); repeat for several");
  command->add_option("--namespace", flags->ns,
                      "the pod's namespace (default: its metadata.namespace, else default)");
  AddDriverFlags(*command, flags->drivers);
  AddTextOrJsonFlag(*command, flags->output);
  command->callback([&action, flags] { action = [flags] { return Mutate(*flags); }; });
}

}  // namespace discoblocks::cli
