// discoblocks autoscale plan: one monitoring cycle of the autoscaler, offline.
// Given a DiskConfig, its claims and what the kubelets reported, it prints
// what the controller would do about each claim, with the same decision code
// (operator/autoscale_decision.h), so a policy can be tried before it is
// applied.
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "admission/names.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "kube/kubelet_summary.h"
#include "kube/micro_time.h"
#include "kube/objects.h"
#include "operator/autoscale_decision.h"
#include "operator/claim_families.h"
#include "operator/kubelet_usage.h"
#include "operator/resize_policy.h"
#include "util/duration.h"
#include "util/json_fields.h"

namespace discoblocks::cli {
namespace {

using nlohmann::json;

struct PlanFlags {
  std::string diskconfig;
  std::vector<std::string> pvcs;
  std::vector<std::string> summaries;
  std::vector<std::string> storage_classes;
  std::optional<std::string> resize_policy;
  std::optional<std::string> now;
  std::string expansion_stuck_after = "10m";
  bool file_system_not_managed = false;
  std::string output = "text";
};

// A file's objects: one object, or the items of a List (kubectl get -o json).
Result<std::vector<json>> ReadObjects(const std::string& path) {
  auto object = ReadObject(path);
  if (!object) return object.error();
  const json& document = **object;
  if (const json* items = FindMember(document, {"items"}); items != nullptr) {
    if (!items->is_array()) return WrongType(path + ": items", "an array", *items);
    return std::vector<json>(items->begin(), items->end());
  }
  return std::vector<json>{document};
}

// Usage by claim key from saved Summary API answers (GET /stats/summary), read
// as the autoscaler reads the kubelets' (kube/kubelet_summary.h).
Result<std::map<std::string, op::VolumeUsage>> ReadUsage(const std::vector<std::string>& paths) {
  std::map<std::string, op::VolumeUsage> usage;
  for (const std::string& path : paths) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return MakeError(fmt::format("{}: cannot be read", path));
    const std::string body((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    auto summary = kube::ParseSummary(body);
    if (!summary) return MakeError(fmt::format("{}: {}", path, summary.error().message));
    for (const std::string& skipped : summary->skipped) {
      std::cerr << fmt::format("discoblocks: {}: skipped {}\n", path, skipped);
    }
    for (const kube::VolumeUsage& volume : summary->volumes) {
      usage[kube::ObjectKey(volume.pvc_namespace, volume.pvc_name)] = op::UsageOf(volume);
    }
  }
  return usage;
}

void PrintText(const std::vector<op::Decision>& decisions) {
  for (const op::Decision& decision : decisions) {
    std::string sizes = op::FormatBytes(decision.from_bytes);
    if (decision.action == op::AutoscaleAction::kNewDisk) {
      sizes = fmt::format("of {}", op::FormatBytes(decision.to_bytes));
    } else if (decision.to_bytes != decision.from_bytes) {
      sizes += " -> " + op::FormatBytes(decision.to_bytes);
    }
    std::cout << fmt::format("{}: {} {} ({})\n", decision.pvc, op::ActionName(decision.action),
                             sizes, decision.reason);
  }
}

int Plan(const PlanFlags& flags) {
  auto object = ReadObject(flags.diskconfig);
  if (!object) return Fail(object.error().message);
  if (StringAt(**object, {"kind"}) != admission::kDiskConfigKind) {
    return Fail(fmt::format("{}: not a DiskConfig", flags.diskconfig));
  }
  json defaulted = admission::WithDefaults(**object);
  if (StringAt(defaulted, {"metadata", "namespace"}).empty()) {
    defaulted["metadata"]["namespace"] = "default";  // as kubectl would create it
  }
  auto config = admission::ParseDiskConfig(defaulted);
  if (!config) return Fail(fmt::format("{}: {}", flags.diskconfig, config.error().message));

  std::vector<json> claims;
  for (const std::string& path : flags.pvcs) {
    auto objects = ReadObjects(path);
    if (!objects) return Fail(objects.error().message);
    for (json& claim : *objects) {
      if (StringAt(claim, {"kind"}) != "PersistentVolumeClaim") {
        return Fail(
            fmt::format("{}: {} is not a PersistentVolumeClaim", path, kube::ObjectKey(claim)));
      }
      if (StringAt(claim, {"metadata", "namespace"}).empty()) {
        claim["metadata"]["namespace"] = config->ns;
      }
      claims.push_back(std::move(claim));
    }
  }
  auto usage = ReadUsage(flags.summaries);
  if (!usage) return Fail(usage.error().message);
  op::ResizePolicy limits;
  if (flags.resize_policy) {
    auto policy_object = ReadObject(flags.resize_policy);
    if (!policy_object) return Fail(policy_object.error().message);
    auto parsed = op::ParseResizePolicy(**policy_object);
    if (!parsed) return Fail(fmt::format("{}: {}", *flags.resize_policy, parsed.error().message));
    limits = *parsed;
  }
  limits.filesystem_managed = !flags.file_system_not_managed;
  auto now = flags.now
                 ? kube::ParseTime(*flags.now)
                 : Result<std::chrono::system_clock::time_point>(std::chrono::system_clock::now());
  if (!now) return Fail(fmt::format("--now: {}", now.error().message));
  auto stuck_after = ParseDuration(flags.expansion_stuck_after);
  if (!stuck_after)
    return Fail(fmt::format("--expansion-stuck-after: {}", stuck_after.error().message));

  // allowVolumeExpansion by class name; classes not given are assumed to allow it.
  std::map<std::string, bool> expandable;
  for (const std::string& path : flags.storage_classes) {
    auto objects = ReadObjects(path);
    if (!objects) return Fail(objects.error().message);
    for (const json& storage_class : *objects) {
      const json* allowed = FindMember(storage_class, {"allowVolumeExpansion"});
      expandable[StringAt(storage_class, {"metadata", "name"})] =
          allowed != nullptr && allowed->is_boolean() && allowed->get<bool>();
    }
  }

  std::vector<const json*> members;
  members.reserve(claims.size());
  for (const json& claim : claims) members.push_back(&claim);
  const auto families = op::PlaceInFamilies(*config, members);
  std::vector<op::Decision> decisions;
  for (const json& claim : claims) {
    op::DecisionInput input;
    input.config = &*config;
    input.claim = &claim;
    const std::string key = kube::ObjectKey(claim);
    if (const auto found = usage->find(key); found != usage->end()) input.usage = found->second;
    input.resize_policy = limits;
    input.family = families.at(key);
    if (const auto found = expandable.find(StringAt(claim, {"spec", "storageClassName"}));
        found != expandable.end()) {
      input.can_expand = found->second;
    }
    input.now = *now;
    input.expansion_stuck_after = std::chrono::duration_cast<std::chrono::seconds>(*stuck_after);
    decisions.push_back(op::Decide(input));
  }
  if (flags.output == "json") {
    json out = json::array();
    for (const op::Decision& decision : decisions) out.push_back(op::DecisionToJson(decision));
    std::cout << DumpJson(out) << "\n";
  } else {
    PrintText(decisions);
  }
  return kExitOk;
}

}  // namespace

void AddAutoscaleCommands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("autoscale", "the autoscaler, offline");
  group->require_subcommand(1);
  auto flags = std::make_shared<PlanFlags>();
  auto* plan = group->add_subcommand(
      "plan", "what one monitoring cycle would do about each claim (exit 0, or 2 on bad input)");
  plan->add_option("--diskconfig", flags->diskconfig, "the DiskConfig (YAML/JSON)")->required();
  plan->add_option("--pvc", flags->pvcs, "a claim of it, or a List of them (repeatable)")
      ->required();
  plan->add_option(
      "--summary", flags->summaries,
      "a kubelet's /stats/summary response (repeatable; claims in none have no usage)");
  plan->add_option("--storage-class", flags->storage_classes,
                   "the claims' StorageClass, or a List (repeatable; a class not given is taken "
                   "to allow volume expansion)");
  plan->add_option("--resize-policy", flags->resize_policy,
                   "the driver's GetResizePolicy answer (JSON); none: no limits");
  plan->add_flag("--file-system-not-managed", flags->file_system_not_managed,
                 "the driver's IsFileSystemManaged is false: a grow is pending until the claim "
                 "says its file system was grown (fs-grown)");
  plan->add_option("--now", flags->now, "the time of the cycle, RFC 3339 (default: now)");
  plan->add_option("--expansion-stuck-after", flags->expansion_stuck_after,
                   "a pending expansion older than this is reported stuck")
      ->capture_default_str();
  AddTextOrJsonFlag(*plan, flags->output);
  plan->callback([&action, flags] { action = [flags] { return Plan(*flags); }; });
}

}  // namespace discoblocks::cli
