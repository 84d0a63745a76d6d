#include "operator/diskconfig_status.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

#include <fmt/format.h>

#include "admission/names.h"
#include "kube/micro_time.h"
#include "kube/quantity.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;

struct Condition {
  const char* type;
  bool status;
  std::string reason;
  std::string message;
};

// The condition as stored, its lastTransitionTime kept from `previous` (the
// current status's conditions) unless its status flipped.
json MakeCondition(const Condition& condition, std::int64_t generation, const json* previous,
                   const std::string& now) {
  const std::string status = condition.status ? "True" : "False";
  std::string since = now;
  if (previous != nullptr && previous->is_array()) {
    for (const json& old : *previous) {
      if (StringAt(old, {"type"}) == condition.type && StringAt(old, {"status"}) == status) {
        const std::string kept = StringAt(old, {"lastTransitionTime"});
        if (!kept.empty()) since = kept;
      }
    }
  }
  return {{"type", condition.type},      {"status", status},
          {"reason", condition.reason},  {"message", condition.message},
          {"lastTransitionTime", since}, {"observedGeneration", generation}};
}

std::string Join(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 5;  // a message names a few, then counts
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) {
    if (i > 0) text += ", ";
    text += names[i];
  }
  if (names.size() > kShown) text += fmt::format(" and {} more", names.size() - kShown);
  return text;
}

// The autoscaler's last action on the claim, from its annotations: each part
// only when it is what the autoscaler writes (annotations can be edited).
std::optional<json> LastActionOf(const json& claim) {
  const std::string action = StringAt(claim, {"metadata", "annotations", kLastActionAnnotation});
  if (action != "grow" && action != "new-disk") return std::nullopt;
  json last = {{"action", action}};
  const std::string time = StringAt(claim, {"metadata", "annotations", kLastActionTimeAnnotation});
  if (kube::ParseTime(time)) last["time"] = time;
  if (action == "grow") {
    const std::string size = StringAt(claim, {"metadata", "annotations", kTargetSizeAnnotation});
    if (kube::Quantity::Parse(size)) last["size"] = size;
  }
  return last;
}

// A percentage as status shows it: whole, rounded down (79.9% full is not
// yet at a trigger of 80%), or nothing when it is not a percentage.
std::optional<int> WholePercent(const std::optional<double>& percent) {
  if (!percent || !(*percent >= 0.0) || *percent > 100.0) return std::nullopt;
  return static_cast<int>(*percent);
}

}  // namespace

bool OwnedByPod(const json& claim) {
  const json* owners = FindMember(claim, {"metadata", "ownerReferences"});
  if (owners == nullptr || !owners->is_array()) return false;
  for (const json& owner : *owners) {
    const json* controller = FindMember(owner, {"controller"});
    if (StringAt(owner, {"kind"}) == "Pod" && controller != nullptr && controller->is_boolean() &&
        controller->get<bool>()) {
      return true;
    }
  }
  return false;
}

json DiskOf(const json& claim, const Fullness* fullness) {
  json disk = {{"pvc", StringAt(claim, {"metadata", "name"})}};
  const json* owners = FindMember(claim, {"metadata", "ownerReferences"});
  if (OwnedByPod(claim) && owners != nullptr) {
    for (const json& owner : *owners) {
      if (StringAt(owner, {"kind"}) == "Pod") disk["pod"] = StringAt(owner, {"name"});
    }
  }
  const std::string node = StringAt(claim, {"metadata", "annotations", admission::kNodeAnnotation});
  if (!node.empty()) disk["node"] = node;
  const std::string index = StringAt(claim, {"metadata", "labels", admission::kIndexLabel});
  if (!index.empty() && index.size() <= 9 &&
      std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    disk["index"] = std::stoi(index);
  }
  const std::string phase = StringAt(claim, {"status", "phase"});
  disk["phase"] = phase.empty() ? "Pending" : phase;
  std::string capacity = StringAt(claim, {"status", "capacity", "storage"});
  if (capacity.empty()) capacity = StringAt(claim, {"spec", "resources", "requests", "storage"});
  if (!capacity.empty()) disk["capacity"] = capacity;
  if (fullness != nullptr) {
    if (const auto bytes = WholePercent(fullness->bytes)) disk["usedPercent"] = *bytes;
    if (const auto inodes = WholePercent(fullness->inodes)) disk["inodesUsedPercent"] = *inodes;
  }
  if (auto last = LastActionOf(claim)) disk["lastAction"] = std::move(*last);
  return disk;
}

std::vector<json> ClaimsOf(std::string_view ns, std::string_view name,
                           const std::vector<std::shared_ptr<const json>>& candidates) {
  std::vector<json> claims;
  for (const auto& claim : candidates) {
    if (!claim || !claim->is_object()) continue;
    if (StringAt(*claim, {"metadata", "namespace"}) != ns) continue;
    if (StringAt(*claim, {"metadata", "annotations", admission::kConfigAnnotation}) != name) {
      continue;
    }
    claims.push_back(*claim);
  }
  std::sort(claims.begin(), claims.end(), [](const json& a, const json& b) {
    return StringAt(a, {"metadata", "name"}) < StringAt(b, {"metadata", "name"});
  });
  return claims;
}

json DesiredStatus(const StatusInputs& inputs) {
  const json empty = json::object();
  const json& object = inputs.disk_config != nullptr ? *inputs.disk_config : empty;
  const json* generation_field = FindMember(object, {"metadata", "generation"});
  const std::int64_t generation =
      generation_field != nullptr && generation_field->is_number_integer()
          ? generation_field->get<std::int64_t>()
          : 0;
  const json* previous = FindMember(object, {"status", "conditions"});

  json disks = json::array();
  std::vector<std::string> pending;
  std::vector<std::string> lost;
  std::vector<std::string> stuck;
  std::size_t bound = 0;
  for (const json& claim : inputs.claims) {
    const auto fullness = inputs.fullness.find(StringAt(claim, {"metadata", "name"}));
    json disk = DiskOf(claim, fullness != inputs.fullness.end() ? &fullness->second : nullptr);
    const std::string phase = disk["phase"].get<std::string>();
    const std::string pvc = disk["pvc"].get<std::string>();
    if (phase == "Bound") {
      ++bound;
    } else if (phase == "Lost") {
      lost.push_back(pvc);
    } else {
      pending.push_back(pvc);
    }
    if (!StringAt(claim, {"metadata", "annotations", kExpansionStuckAnnotation}).empty()) {
      stuck.push_back(pvc);
    }
    // The object must stay well under etcd's size limit whatever the number
    // of pods: the first ones are listed, the summary counts them all.
    if (disks.size() < kMaxListedDisks) disks.push_back(std::move(disk));
  }

  // Degraded: the DiskConfig cannot give new disks, or a disk is lost.
  std::string degraded_reason;
  std::string degraded_message;
  if (!inputs.spec_error.empty()) {
    degraded_reason = "InvalidSpec";
    degraded_message = inputs.spec_error;
  } else if (!inputs.storage_class_found) {
    degraded_reason = "StorageClassMissing";
    degraded_message = fmt::format("StorageClass \"{}\" not found", inputs.storage_class_name);
  } else if (inputs.driver.state == DriverStatus::State::kMissing) {
    degraded_reason = "DriverMissing";
    degraded_message = fmt::format("no driver for provisioner \"{}\" of StorageClass \"{}\"",
                                   inputs.provisioner, inputs.storage_class_name);
  } else if (inputs.driver.state == DriverStatus::State::kFailed) {
    degraded_reason = "DriverFailed";
    degraded_message = fmt::format("the driver for provisioner \"{}\" failed to load: {}",
                                   inputs.provisioner, inputs.driver.reason);
  } else if (!lost.empty()) {
    degraded_reason = "DisksLost";
    degraded_message = fmt::format("claims lost their volume: {}", Join(lost));
  }

  Condition ready{"Ready", false, "", ""};
  Condition progressing{"Progressing", false, "", ""};
  Condition degraded{"Degraded", !degraded_reason.empty(), degraded_reason, degraded_message};
  if (degraded.status) {
    ready.reason = degraded_reason;
    ready.message = degraded_message;
  } else {
    degraded.reason = "AsExpected";
    degraded.message = "";
  }
  if (!pending.empty()) {
    progressing = {"Progressing", true, "DisksPending",
                   fmt::format("waiting for claims to be bound: {}", Join(pending))};
    if (!degraded.status) {
      ready.reason = "DisksPending";
      ready.message = progressing.message;
    }
  } else {
    progressing.reason = inputs.claims.empty() ? "NoDisks" : "AllDisksBound";
  }
  if (!degraded.status && pending.empty()) {
    ready.status = true;
    ready.reason = inputs.claims.empty() ? "NoDisks" : "AllDisksBound";
    ready.message = inputs.claims.empty() ? "no pod has a disk of this DiskConfig yet"
                                          : fmt::format("{} disks bound", bound);
  }

  const Condition expansion_stuck =
      stuck.empty()
          ? Condition{"ExpansionStuck", false, "AsExpected", ""}
          : Condition{"ExpansionStuck", true, "ExpansionStuck",
                      fmt::format("the expansion of claims failed or has been pending too long "
                                  "(see their ExpansionStuck Events): {}",
                                  Join(stuck))};

  json status = {{"observedGeneration", generation},
                 {"conditions",
                  {MakeCondition(ready, generation, previous, inputs.now),
                   MakeCondition(progressing, generation, previous, inputs.now),
                   MakeCondition(degraded, generation, previous, inputs.now),
                   MakeCondition(expansion_stuck, generation, previous, inputs.now)}},
                 {"disks", std::move(disks)},
                 {"diskSummary", fmt::format("{}/{}", bound, inputs.claims.size())}};
  return status;
}

std::string NowRfc3339() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace discoblocks::op
