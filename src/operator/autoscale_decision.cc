#include "operator/autoscale_decision.h"

#include <algorithm>
#include <array>
#include <limits>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "kube/micro_time.h"
#include "kube/objects.h"
#include "kube/quantity.h"
#include "util/duration.h"
#include "util/json_fields.h"

namespace discoblocks::op {
namespace {

using nlohmann::json;
using std::chrono::system_clock;
using TimePoint = system_clock::time_point;

constexpr std::int64_t kMaxBytes = std::numeric_limits<std::int64_t>::max();

// A quantity at `path` of the claim in bytes, or none when absent or malformed
// (the API server validated it; a cache holds what it stored).
std::optional<std::int64_t> BytesAt(const json& claim,
                                    std::initializer_list<std::string_view> path) {
  const json* value = FindMember(claim, path);
  if (value == nullptr) return std::nullopt;
  auto quantity = kube::Quantity::FromJson(*value);
  if (!quantity) return std::nullopt;
  return quantity->CeilUnits();
}

std::string Annotation(const json& claim, const char* key) {
  return StringAt(claim, {"metadata", "annotations", key});
}

std::optional<TimePoint> TimeAnnotation(const json& claim, const char* key) {
  const std::string text = Annotation(claim, key);
  if (text.empty()) return std::nullopt;
  auto time = kube::ParseTime(text);
  if (!time) return std::nullopt;  // hand-edited garbage: as if absent
  return *time;
}

// The size changes recorded on the claim that are still inside the window.
std::vector<TimePoint> RecentResizes(const json& claim, TimePoint now,
                                     std::chrono::seconds window) {
  std::vector<TimePoint> times;
  std::istringstream words(Annotation(claim, kResizedAtAnnotation));
  std::string word;
  while (words >> word) {
    auto time = kube::ParseTime(word);
    if (time && *time > now - window) times.push_back(*time);
  }
  std::sort(times.begin(), times.end());
  return times;
}

// Why an expansion is still under way, or empty when none is.
std::string PendingExpansion(const json& claim, std::int64_t request, std::int64_t capacity,
                             bool* failed) {
  static constexpr std::array kPendingConditions = {"Resizing", "FileSystemResizePending",
                                                    "ControllerResizeError", "NodeResizeError"};
  const json* conditions = FindMember(claim, {"status", "conditions"});
  if (conditions != nullptr && conditions->is_array()) {
    for (const json& condition : *conditions) {
      const std::string type = StringAt(condition, {"type"});
      if (StringAt(condition, {"status"}) != "True") continue;
      if (std::find(kPendingConditions.begin(), kPendingConditions.end(), type) ==
          kPendingConditions.end()) {
        continue;
      }
      *failed = type.ends_with("Error");
      const std::string message = StringAt(condition, {"message"});
      return message.empty() ? fmt::format("condition {}", type)
                             : fmt::format("condition {}: {}", type, message.substr(0, 256));
    }
  }
  const std::string allocated = StringAt(claim, {"status", "allocatedResourceStatuses", "storage"});
  if (!allocated.empty()) {
    *failed = allocated.ends_with("Infeasible");
    return fmt::format("allocatedResourceStatuses {}", allocated);
  }
  if (capacity < request) {
    return fmt::format("capacity {} is below the request {}", FormatBytes(capacity),
                       FormatBytes(request));
  }
  return {};
}

// For a driver whose CSI driver does not grow file systems: the last grow's
// file system not yet grown by the resize Job (filesystem_grower.h).
std::string PendingFileSystem(const json& claim, bool* failed) {
  const std::string target = UngrownFileSystemTarget(claim);
  if (target.empty()) return {};
  *failed = Annotation(claim, kFileSystemGrowFailedAnnotation) == target;
  return fmt::format("the file system is {} grown to {}", *failed ? "not" : "not yet", target);
}

std::int64_t RoundUp(std::int64_t bytes, std::int64_t granularity) {
  if (granularity <= 1) return bytes;
  const std::int64_t remainder = bytes % granularity;
  if (remainder == 0) return bytes;
  return bytes > kMaxBytes - (granularity - remainder) ? kMaxBytes
                                                       : bytes + (granularity - remainder);
}

std::int64_t RoundDown(std::int64_t bytes, std::int64_t granularity) {
  return granularity <= 1 ? bytes : bytes - bytes % granularity;
}

std::int64_t AddSaturated(std::int64_t a, std::int64_t b) {
  return a > kMaxBytes - b ? kMaxBytes : a + b;
}

double Percent(std::int64_t part, std::int64_t whole) {
  return 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

void ReadUsage(const std::optional<VolumeUsage>& usage, Decision& decision) {
  if (!usage) return;
  const Fullness fullness = FullnessOf(*usage);
  decision.used_percent = fullness.bytes;
  decision.inodes_used_percent = fullness.inodes;
}

// The trigger that holds, described, or empty.
std::string TriggerThatHolds(const admission::DiskConfigPolicy& policy, const Decision& decision) {
  if (decision.used_percent && *decision.used_percent >= policy.upscale_trigger_percentage) {
    return fmt::format("{:.1f}% used, at or above upscaleTriggerPercentage {}%",
                       *decision.used_percent, policy.upscale_trigger_percentage);
  }
  if (policy.inodes_trigger_percentage > 0 && decision.inodes_used_percent &&
      *decision.inodes_used_percent >= policy.inodes_trigger_percentage) {
    return fmt::format("{:.1f}% of inodes used, at or above inodesTriggerPercentage {}%",
                       *decision.inodes_used_percent, policy.inodes_trigger_percentage);
  }
  return {};
}

// The size a grow asks for, or none when the claim is at its maximum.
std::optional<std::int64_t> GrownSize(const admission::DiskConfigPolicy& policy,
                                      const ResizePolicy& limits, std::int64_t current) {
  const std::int64_t granularity = std::max<std::int64_t>(limits.granularity_bytes, 1);
  const std::int64_t maximum = RoundDown(policy.maximum_capacity_of_disk.CeilUnits(), granularity);
  if (current >= maximum) return std::nullopt;
  std::int64_t increase = std::max<std::int64_t>(policy.extend_capacity.CeilUnits(), 1);
  if (policy.extend_percentage > 0) {
    const auto share = static_cast<std::int64_t>(static_cast<long double>(current) *
                                                 policy.extend_percentage / 100.0L);
    increase = std::max(increase, share);
  }
  increase = std::max(increase, limits.minimum_increase_bytes);
  const std::int64_t target =
      std::min(RoundUp(AddSaturated(current, increase), granularity), maximum);
  if (target <= current || target - current < limits.minimum_increase_bytes) return std::nullopt;
  return target;
}

}  // namespace

std::string_view ActionName(AutoscaleAction action) {
  switch (action) {
    case AutoscaleAction::kNone:
      return "none";
    case AutoscaleAction::kGrow:
      return "grow";
    case AutoscaleAction::kNewDisk:
      return "new-disk";
    case AutoscaleAction::kAtCeiling:
      return "at-ceiling";
    case AutoscaleAction::kWaitPending:
      return "wait-pending";
    case AutoscaleAction::kCoolingDown:
      return "cooling-down";
  }
  return "none";
}

std::string FormatBytes(std::int64_t bytes) {
  static constexpr std::array kSuffixes = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  if (bytes <= 0) return std::to_string(bytes);
  std::int64_t value = bytes;
  int suffix = -1;
  while (suffix + 1 < static_cast<int>(kSuffixes.size()) && value % 1024 == 0) {
    value /= 1024;
    ++suffix;
  }
  return suffix < 0 ? std::to_string(value) : fmt::format("{}{}", value, kSuffixes[suffix]);
}

std::string UngrownFileSystemTarget(const json& claim) {
  if (Annotation(claim, kLastActionAnnotation) != "grow") return {};
  std::string target = Annotation(claim, kTargetSizeAnnotation);
  if (Annotation(claim, kFileSystemGrownAnnotation) == target) return {};
  return target;
}

Fullness FullnessOf(const VolumeUsage& usage) {
  Fullness fullness;
  if (usage.capacity_bytes && usage.available_bytes && *usage.capacity_bytes > 0) {
    const std::int64_t capacity = *usage.capacity_bytes;
    const std::int64_t available = std::clamp<std::int64_t>(*usage.available_bytes, 0, capacity);
    fullness.bytes = Percent(capacity - available, capacity);
  }
  if (usage.inodes && usage.inodes_free && *usage.inodes > 0) {
    const std::int64_t inodes = *usage.inodes;
    const std::int64_t free = std::clamp<std::int64_t>(*usage.inodes_free, 0, inodes);
    fullness.inodes = Percent(inodes - free, inodes);
  }
  return fullness;
}

Decision Decide(const DecisionInput& input) {
  const admission::DiskConfig& config = *input.config;
  const admission::DiskConfigPolicy& policy = config.policy;
  const json& claim = *input.claim;
  const TimePoint now = input.now;

  Decision decision;
  decision.pvc = kube::ObjectKey(claim);
  const std::int64_t request =
      BytesAt(claim, {"spec", "resources", "requests", "storage"}).value_or(0);
  const std::int64_t capacity = BytesAt(claim, {"status", "capacity", "storage"}).value_or(request);
  decision.from_bytes = capacity;
  decision.to_bytes = capacity;
  ReadUsage(input.usage, decision);
  const auto done = [&](AutoscaleAction action, std::string reason) {
    decision.action = action;
    decision.reason = std::move(reason);
    return decision;
  };

  if (policy.pause) return done(AutoscaleAction::kNone, "the DiskConfig is paused");
  if (FindMember(claim, {"metadata", "deletionTimestamp"}) != nullptr) {
    return done(AutoscaleAction::kNone, "the claim is being deleted");
  }
  if (const std::string phase = StringAt(claim, {"status", "phase"}); phase != "Bound") {
    return done(AutoscaleAction::kNone, fmt::format("the claim is {}, not Bound",
                                                    phase.empty() ? "without a phase" : phase));
  }

  bool failed = false;
  std::string pending = PendingExpansion(claim, request, capacity, &failed);
  if (pending.empty() && !input.resize_policy.filesystem_managed) {
    pending = PendingFileSystem(claim, &failed);
  }
  if (!pending.empty()) {
    const auto last = TimeAnnotation(claim, kLastActionTimeAnnotation);
    const bool overdue = last && now - *last >= input.expansion_stuck_after;
    if ((failed || overdue) && Annotation(claim, kExpansionStuckAnnotation).empty()) {
      decision.report_stuck = true;
      decision.annotations[kExpansionStuckAnnotation] = kube::FormatTime(now);
    }
    return done(AutoscaleAction::kWaitPending,
                fmt::format("an expansion is pending ({}){}", pending,
                            failed || overdue ? "; it looks stuck" : ""));
  }
  if (!Annotation(claim, kExpansionStuckAnnotation).empty()) {
    decision.annotations[kExpansionStuckAnnotation] = nullptr;  // it finished after all
  }

  if (!decision.used_percent && !decision.inodes_used_percent) {
    return done(AutoscaleAction::kNone, "no usage reported by the claim's kubelet");
  }
  const std::string trigger = TriggerThatHolds(policy, decision);
  const bool since_recorded = !Annotation(claim, kAboveTriggerSinceAnnotation).empty();
  if (trigger.empty()) {
    if (since_recorded) decision.annotations[kAboveTriggerSinceAnnotation] = nullptr;
    return done(AutoscaleAction::kNone,
                fmt::format("{:.1f}% used, below upscaleTriggerPercentage {}%",
                            decision.used_percent.value_or(0), policy.upscale_trigger_percentage));
  }
  if (policy.sustained_for.count() > 0) {
    const auto since = TimeAnnotation(claim, kAboveTriggerSinceAnnotation);
    if (!since) {
      decision.annotations[kAboveTriggerSinceAnnotation] = kube::FormatTime(now);
      return done(AutoscaleAction::kNone, fmt::format("{}, for less than sustainedFor {}", trigger,
                                                      FormatDuration(policy.sustained_for)));
    }
    if (now - *since < policy.sustained_for) {
      return done(AutoscaleAction::kNone,
                  fmt::format("{}, since {}: for less than sustainedFor {}", trigger,
                              kube::FormatTime(*since), FormatDuration(policy.sustained_for)));
    }
  }

  if (const auto last = TimeAnnotation(claim, kLastActionTimeAnnotation);
      last && now < *last + policy.cool_down) {
    return done(AutoscaleAction::kCoolingDown,
                fmt::format("{}; the last action was at {}, coolDown {} ends at {}", trigger,
                            kube::FormatTime(*last), FormatDuration(policy.cool_down),
                            kube::FormatTime(*last + policy.cool_down)));
  }

  const ResizePolicy& limits = input.resize_policy;
  const auto grown = input.can_expand ? GrownSize(policy, limits, capacity) : std::nullopt;
  if (grown) {
    std::vector<TimePoint> resizes;
    if (limits.LimitsModifications()) {
      resizes = RecentResizes(claim, now, limits.window);
      if (static_cast<int>(resizes.size()) >= limits.max_modifications) {
        const TimePoint next = resizes[resizes.size() - limits.max_modifications] + limits.window;
        return done(AutoscaleAction::kCoolingDown,
                    fmt::format("{}; the driver allows {} size changes in {}, the next at {}",
                                trigger, limits.max_modifications, FormatDuration(limits.window),
                                kube::FormatTime(next)));
      }
    }
    resizes.push_back(now);
    std::string resized_at;
    for (const TimePoint time : resizes) {
      if (!resized_at.empty()) resized_at += ' ';
      resized_at += kube::FormatTime(time);
    }
    decision.to_bytes = *grown;
    decision.annotations[kLastActionAnnotation] = "grow";
    decision.annotations[kLastActionTimeAnnotation] = kube::FormatTime(now);
    decision.annotations[kTargetSizeAnnotation] = FormatBytes(*grown);
    decision.annotations[kResizedAtAnnotation] = resized_at;
    decision.annotations[kAboveTriggerSinceAnnotation] = nullptr;
    decision.annotations[kAtCeilingAnnotation] = nullptr;
    return done(AutoscaleAction::kGrow, trigger);
  }

  const std::string at_maximum =
      input.can_expand
          ? fmt::format("{}; at maximumCapacityOfDisk {}", trigger,
                        policy.maximum_capacity_of_disk.text())
          : fmt::format("{}; its StorageClass does not allow volume expansion", trigger);
  if (!input.family.newest) {
    return done(AutoscaleAction::kNone,
                fmt::format("{}; the family has a newer disk, which grows next", at_maximum));
  }
  if (input.family.disks < policy.maximum_number_of_disks) {
    decision.to_bytes =
        RoundUp(config.capacity.CeilUnits(), std::max<std::int64_t>(limits.granularity_bytes, 1));
    decision.annotations[kLastActionAnnotation] = "new-disk";
    decision.annotations[kLastActionTimeAnnotation] = kube::FormatTime(now);
    decision.annotations[kAboveTriggerSinceAnnotation] = nullptr;
    return done(AutoscaleAction::kNewDisk,
                fmt::format("{}; disk {} of at most {} is added", at_maximum,
                            input.family.disks + 1, policy.maximum_number_of_disks));
  }
  if (Annotation(claim, kAtCeilingAnnotation).empty()) {
    decision.report_at_ceiling = true;
    decision.annotations[kAtCeilingAnnotation] = kube::FormatTime(now);
  }
  return done(AutoscaleAction::kAtCeiling,
              fmt::format("{}, and the family has maximumNumberOfDisks {}", at_maximum,
                          policy.maximum_number_of_disks));
}

json DecisionToJson(const Decision& decision) {
  return json{{"pvc", decision.pvc},
              {"action", ActionName(decision.action)},
              {"from", FormatBytes(decision.from_bytes)},
              {"to", FormatBytes(decision.to_bytes)},
              {"reason", decision.reason}};
}

}  // namespace discoblocks::op
