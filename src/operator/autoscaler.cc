#include "operator/autoscaler.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "admission/names.h"
#include "kube/objects.h"
#include "operator/autoscale_actions.h"
#include "operator/cache_indexes.h"
#include "operator/claim_families.h"
#include "operator/diskconfig_controller.h"
#include "util/json_fields.h"
#include "util/metrics.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
namespace r = kube::resources;

struct AutoscalerMetrics {
  metrics::GaugeFamily* decisions = nullptr;
  metrics::GaugeFamily* volumes_watched = nullptr;
  metrics::GaugeFamily* unreachable_nodes = nullptr;
  metrics::HistogramFamily* cycle_duration = nullptr;

  explicit AutoscalerMetrics(metrics::Registry* registry) {
    if (registry == nullptr) return;
    decisions = &registry->Gauge("discoblocks_autoscaler_decisions",
                                 "Claims by the autoscaler's decision in its last cycle.");
    volumes_watched =
        &registry->Gauge("discoblocks_autoscaler_volumes_watched",
                         "Discoblocks claims whose usage a kubelet reported in the last cycle.");
    unreachable_nodes = &registry->Gauge(
        "discoblocks_autoscaler_unreachable_nodes",
        "Nodes whose kubelet could not be read in the last cycle (their claims wait).");
    cycle_duration =
        &registry->Histogram("discoblocks_autoscaler_cycle_duration_seconds",
                             "One monitoring cycle: reading the kubelets, deciding and acting.",
                             {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
  }
};

// The running pods (with a node) using each Discoblocks claim, by claim key:
// through a persistentVolumeClaim volume, or a generic ephemeral volume
// (whose claim Kubernetes names "<pod>-<volume>").
std::map<std::string, std::vector<kube::Informer::Object>> PodsByClaim(
    const kube::Informer& pods, const std::set<std::string>& claims) {
  std::map<std::string, std::vector<kube::Informer::Object>> users;
  for (const auto& pod : pods.List()) {
    if (StringAt(*pod, {"spec", "nodeName"}).empty() ||
        StringAt(*pod, {"status", "phase"}) != "Running") {
      continue;
    }
    const std::string ns = StringAt(*pod, {"metadata", "namespace"});
    const std::string name = StringAt(*pod, {"metadata", "name"});
    const json* volumes = FindMember(*pod, {"spec", "volumes"});
    if (volumes == nullptr || !volumes->is_array()) continue;
    for (const json& volume : *volumes) {
      std::string claim = StringAt(volume, {"persistentVolumeClaim", "claimName"});
      if (claim.empty() && FindMember(volume, {"ephemeral"}) != nullptr) {
        claim = name + "-" + StringAt(volume, {"name"});
      }
      if (claim.empty()) continue;
      std::string key = kube::ObjectKey(ns, claim);
      if (claims.contains(key)) users[std::move(key)].push_back(pod);
    }
  }
  return users;
}

class Cycle {
 public:
  struct Caches {
    const kube::Informer* disk_configs;
    const kube::Informer* claims;
    const kube::Informer* pods;
    const kube::Informer* nodes;
    const kube::Informer* storage_classes;
  };

  Cycle(const Manager& manager, Caches caches, std::shared_ptr<const AutoscalerOptions> options,
        std::shared_ptr<AutoscalerMetrics> metrics)
      : options_(std::move(options)),
        metrics_(std::move(metrics)),
        disk_configs_(*caches.disk_configs),
        claims_(*caches.claims),
        pods_(*caches.pods),
        nodes_(*caches.nodes),
        storage_classes_(*caches.storage_classes),
        actions_(manager.client(), manager.recorder(), manager.metrics(), options_->operations,
                 options_->add_disk),
        random_(std::random_device{}()) {}

  Result<ReconcileOutcome> Run() {
    const auto started = std::chrono::steady_clock::now();
    std::set<std::string> managed;
    for (const auto& claim : claims_.List()) {
      if (!DiskConfigKeyOfClaim(*claim).empty()) managed.insert(kube::ObjectKey(*claim));
    }
    const auto users = PodsByClaim(pods_, managed);
    std::set<std::string> node_names;
    for (const auto& [claim, pods] : users) {
      for (const auto& pod : pods) node_names.insert(StringAt(*pod, {"spec", "nodeName"}));
    }
    std::vector<json> nodes;
    for (const std::string& name : node_names) {
      if (auto node = nodes_.Find("", name)) nodes.push_back(*node);
    }
    const UsageReport usage = nodes.empty() ? UsageReport{} : options_->usage(nodes);
    if (options_->usage_board) options_->usage_board->Update(usage.volumes, managed);

    std::map<std::string, int> by_action;
    const auto now = options_->now ? options_->now() : std::chrono::system_clock::now();
    for (const auto& object : disk_configs_.List()) {
      auto config = ParseCachedDiskConfig(*object);
      if (!config || config->policy.pause ||
          FindMember(*object, {"metadata", "deletionTimestamp"}) != nullptr) {
        continue;
      }
      DecideAndAct(*config, usage, users, now, by_action);
    }

    if (metrics_->decisions != nullptr) {
      metrics_->decisions->Clear();
      for (const auto& [action, count] : by_action) {
        metrics_->decisions->Set({{"action", action}}, count);
      }
      metrics_->volumes_watched->Set({}, static_cast<double>(usage.volumes.size()));
      metrics_->unreachable_nodes->Set({}, static_cast<double>(usage.failed_nodes.size()));
      metrics_->cycle_duration->Observe(
          {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return ReconcileOutcome{NextWait(), false};
  }

 private:
  void DecideAndAct(const admission::DiskConfig& config, const UsageReport& usage,
                    const std::map<std::string, std::vector<kube::Informer::Object>>& users,
                    std::chrono::system_clock::time_point now,
                    std::map<std::string, int>& by_action) {
    const std::string key = kube::ObjectKey(config.ns, config.name);
    auto candidates = claims_.ByIndex(kIndexByDiskConfig, admission::FitLabelValue(config.name));
    if (!candidates) return;
    std::vector<kube::Informer::Object> claims;
    for (auto& claim : *candidates) {
      const auto owners = DiskConfigKeyOfClaim(*claim);
      if (std::find(owners.begin(), owners.end(), key) != owners.end()) claims.push_back(claim);
    }
    if (claims.empty()) return;
    std::vector<const json*> members;
    members.reserve(claims.size());
    for (const auto& claim : claims) members.push_back(claim.get());
    const auto families = PlaceInFamilies(config, members);

    for (const auto& claim : claims) {
      const std::string claim_key = kube::ObjectKey(*claim);
      DecisionInput input;
      input.config = &config;
      input.claim = claim.get();
      if (const auto found = usage.volumes.find(claim_key); found != usage.volumes.end()) {
        input.usage = found->second;
      }
      if (options_->resize_policy) {
        auto limits = options_->resize_policy(StringAt(*claim, {"spec", "storageClassName"}));
        if (!limits) {
          spdlog::warn("autoscaler: claim {} waits: {}", claim_key, limits.error().message);
          ++by_action["error"];
          continue;
        }
        input.resize_policy = *limits;
      }
      input.family = families.at(claim_key);
      input.can_expand = CanExpand(StringAt(*claim, {"spec", "storageClassName"}));
      input.now = now;
      input.expansion_stuck_after = options_->expansion_stuck_after;
      const Decision decision = Decide(input);
      ++by_action[std::string(ActionName(decision.action))];
      const auto found = users.find(claim_key);
      static const std::vector<kube::Informer::Object> kNoPods;
      actions_.Carry(config, *claim, decision, found != users.end() ? found->second : kNoPods);
    }
  }

  // Whether the API server lets claims of the class grow.
  bool CanExpand(const std::string& storage_class) const {
    const auto found = storage_classes_.Find("", storage_class);
    if (found == nullptr) return false;
    const json* allowed = FindMember(*found, {"allowVolumeExpansion"});
    return allowed != nullptr && allowed->is_boolean() && allowed->get<bool>();
  }

  // Shortened, never lengthened, by the jitter: replicas restarted together
  // drift apart, and no volume waits longer than the poll interval to be read.
  std::chrono::milliseconds NextWait() {
    std::uniform_real_distribution<double> spread(0, std::clamp(options_->jitter, 0.0, 0.5));
    const double factor = 1 - spread(random_);
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(options_->poll_interval.count()) * factor));
  }

  const std::shared_ptr<const AutoscalerOptions> options_;
  const std::shared_ptr<AutoscalerMetrics> metrics_;
  const kube::Informer& disk_configs_;
  const kube::Informer& claims_;
  const kube::Informer& pods_;
  const kube::Informer& nodes_;
  const kube::Informer& storage_classes_;
  AutoscaleActions actions_;
  std::mt19937 random_;
};

}  // namespace

ControllerRegistration Autoscaler(Manager& manager, AutoscalerOptions options) {
  auto shared_options = std::make_shared<const AutoscalerOptions>(std::move(options));
  auto metrics = std::make_shared<AutoscalerMetrics>(manager.metrics());
  ControllerRegistration registration;
  registration.name = "autoscaler";
  registration.workers = 1;
  registration.initial_keys = {kAutoscaleCycleKey};
  const Cycle::Caches caches{&manager.Informer(r::kDiskConfigs),
                             &manager.Informer(r::kPersistentVolumeClaims),
                             &manager.Informer(r::kPods), &manager.Informer(r::kNodes),
                             &manager.Informer(r::kStorageClasses)};
  registration.caches = {caches.disk_configs, caches.claims, caches.pods, caches.nodes,
                         caches.storage_classes};
  registration.make_reconciler = [&manager, caches, shared_options, metrics]() -> Reconciler {
    auto cycle = std::make_shared<Cycle>(manager, caches, shared_options, metrics);
    return [cycle](const std::string& key) -> Result<ReconcileOutcome> {
      if (key != kAutoscaleCycleKey) return ReconcileOutcome{};
      return cycle->Run();
    };
  };
  return registration;
}

}  // namespace discoblocks::op
