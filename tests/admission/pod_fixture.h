// A small cluster for the pod mutation and pod webhook tests: StorageClasses,
// nodes and PVCs the lookups find, DiskConfigs, and the bundled drivers.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "admission/diskconfig.h"
#include "admission/pod_mutation.h"
#include "support/test_support.h"
#include "util/json_fields.h"

namespace discoblocks::admission::testing {

using nlohmann::json;

// A DiskConfig named `name` in "default" selecting app=web, ebs-gp3, mounted
// at /data, with `spec_patch` merged in and the CRD's defaults applied.
inline DiskConfig Config(const std::string& name, const json& spec_patch = json::object()) {
  json object = {{"apiVersion", "discoblocks.ondat.io/v1"},
                 {"kind", "DiskConfig"},
                 {"metadata", {{"name", name}, {"namespace", "default"}}},
                 {"spec",
                  {{"storageClassName", "ebs-gp3"},
                   {"capacity", "10Gi"},
                   {"mountPointPattern", "/data"},
                   {"podSelector", {{"app", "web"}}}}}};
  object["spec"].merge_patch(spec_patch);
  auto config = ParseDiskConfig(WithDefaults(object));
  EXPECT_TRUE(config) << config.error().message;
  return config ? *config : DiskConfig{};
}

// A pod of a Deployment in "default", labelled app=web, with two containers,
// the first mounting a ConfigMap.
inline json WebPod() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
      "containers": [
        {"name": "app", "image": "nginx",
         "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]},
        {"name": "sidecar", "image": "busybox"}],
      "volumes": [{"name": "config", "configMap": {"name": "app"}}]}})");
}

inline constexpr const char* kNode = "ip-10-0-1-23.eu-west-1.compute.internal";

// WebPod as a DaemonSet's pod pinned to kNode.
inline json DaemonPod() {
  json pod = WebPod();
  pod["metadata"]["ownerReferences"] = json::parse(
      R"([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "web", "uid": "u", "controller": true}])");
  pod["spec"]["affinity"] = json::parse(R"({"nodeAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In",
                          "values": ["ip-10-0-1-23.eu-west-1.compute.internal"]}]}]}}})");
  return pod;
}

inline std::string StringAt(const json& object, std::initializer_list<std::string_view> keys) {
  const json* found = FindMember(object, keys);
  return found != nullptr && found->is_string() ? found->get<std::string>() : std::string();
}

class Cluster {
 public:
  Cluster() {
    for (const char* file : {"storageclasses/ebs-gp3.yaml", "storageclasses/storageos.yaml",
                             "storageclasses/local-no-provisioner.yaml"}) {
      storage_classes.push_back(discoblocks::testing::Fixture(file));
    }
    nodes.push_back(discoblocks::testing::Fixture("nodes/node-eu-west-1a.yaml"));
  }

  // Input for `pod`, with the lookups over this cluster (which must outlive it).
  PodMutationInput Input(const json& pod) const {
    PodMutationInput input;
    input.pod = &pod;
    input.ns = "default";
    input.disk_configs = configs;
    input.registry = registry;
    input.call_options = call_options;
    input.storage_class = [this](std::string_view name) { return ByName(storage_classes, name); };
    input.node = [this](std::string_view name) { return ByName(nodes, name); };
    input.pvcs = [this](std::string_view ns, const std::map<std::string, std::string>& labels) {
      std::vector<json> found;
      for (const json& pvc : pvcs) {
        bool matches = StringAt(pvc, {"metadata", "namespace"}) == ns;
        for (const auto& [key, value] : labels) {
          matches = matches && StringAt(pvc, {"metadata", "labels", key}) == value;
        }
        if (matches) found.push_back(pvc);
      }
      return found;
    };
    return input;
  }

  PodMutation Mutate(const json& pod) const { return MutatePod(Input(pod)); }

  // Calls the hostile module `file` (tests/wasm/hostile) as the driver of
  // ebs.csi.aws.com, the provisioner of StorageClass ebs-gp3.
  void UseHostileEbsDriver(const char* file) {
    drivers_dir_ = std::make_shared<discoblocks::testing::TempDir>();
    drivers_dir_->CopyDriver("ebs.csi.aws.com", discoblocks::testing::HostileDir() / file);
    drivers::RegistryOptions options;
    options.directory = drivers_dir_->path();
    owned_registry_ = drivers::Registry::Load(discoblocks::testing::SharedEngine(), options);
    registry = owned_registry_.get();
  }

  std::vector<DiskConfig> configs;
  std::vector<json> storage_classes;
  std::vector<json> nodes;
  std::vector<json> pvcs;
  const drivers::Registry* registry = &discoblocks::testing::BundledDrivers();
  drivers::CallOptions call_options;

 private:
  std::shared_ptr<discoblocks::testing::TempDir> drivers_dir_;
  std::shared_ptr<const drivers::Registry> owned_registry_;

  static std::optional<json> ByName(const std::vector<json>& objects, std::string_view name) {
    for (const json& object : objects) {
      if (StringAt(object, {"metadata", "name"}) == name) return object;
    }
    return std::nullopt;
  }
};

}  // namespace discoblocks::admission::testing
