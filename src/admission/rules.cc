#include "admission/rules.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "util/duration.h"
#include "util/json_fields.h"

namespace discoblocks::admission {
namespace {

using namespace std::chrono_literals;

// Characters a mount point pattern may not hold (the original's rule).
constexpr std::string_view kForbiddenInPattern = "><|:&.+*!?^$()[]{}";
constexpr auto kMinimumCoolDown = 10s;

class Denials {
 public:
  void Add(std::string_view rule_name, const std::string& why) {
    if (first_rule_.empty()) first_rule_ = std::string(rule_name);
    messages_.push_back(fmt::format("{}: {}", rule_name, why));
  }
  [[nodiscard]] bool empty() const { return messages_.empty(); }
  [[nodiscard]] Decision Deny(Decision decision) const {
    decision.allowed = false;
    decision.rule = first_rule_;
    decision.message = fmt::format("{}", fmt::join(messages_, "; "));
    return decision;
  }

 private:
  std::string first_rule_;
  std::vector<std::string> messages_;
};

Decision DenyOne(std::string_view rule_name, const std::string& why, Decision decision = {}) {
  Denials denials;
  denials.Add(rule_name, why);
  return denials.Deny(std::move(decision));
}

void CheckMountPointPattern(const std::string& pattern, Denials& denials) {
  if (pattern.empty() || pattern[0] != '/') {
    denials.Add(rule::kMountPointPattern,
                fmt::format("spec.mountPointPattern \"{}\" must start with /", pattern));
  }
  std::size_t placeholders = 0;
  for (std::size_t at = pattern.find("%d"); at != std::string::npos;
       at = pattern.find("%d", at + 2)) {
    ++placeholders;
  }
  if (placeholders > 1) {
    denials.Add(rule::kMountPointPattern,
                fmt::format("spec.mountPointPattern \"{}\" has more than one %d", pattern));
  }
  if (const auto bad = pattern.find_first_of(kForbiddenInPattern); bad != std::string::npos) {
    denials.Add(rule::kMountPointPattern,
                fmt::format("spec.mountPointPattern \"{}\" must not contain '{}' (none of {})",
                            pattern, pattern[bad], kForbiddenInPattern));
  }
}

// The rules that need nothing but the object(s).
void CheckLocalRules(const DiskConfig& config, const DiskConfig* old_config, Denials& denials) {
  if (config.storage_class_name.empty()) {
    denials.Add(rule::kStorageClassNameRequired, "spec.storageClassName is required");
  }
  // The default is built from the name, which may hold a '.': the rule is for
  // patterns people write.
  if (!config.mount_point_pattern_is_default) {
    CheckMountPointPattern(config.mount_point_pattern, denials);
  }
  if (config.capacity > config.policy.maximum_capacity_of_disk) {
    denials.Add(rule::kCapacityWithinMaximum,
                fmt::format("spec.capacity {} is above spec.policy.maximumCapacityOfDisk {}",
                            config.capacity.text(), config.policy.maximum_capacity_of_disk.text()));
  }
  if (config.policy.cool_down < kMinimumCoolDown) {
    denials.Add(rule::kCoolDownMinimum,
                fmt::format("spec.policy.coolDown {} is below the minimum of 10s",
                            FormatDuration(config.policy.cool_down)));
  }
  if (old_config == nullptr) return;
  if (config.storage_class_name != old_config->storage_class_name) {
    denials.Add(rule::kStorageClassNameImmutable,
                fmt::format(R"(spec.storageClassName cannot change (from "{}" to "{}"))",
                            old_config->storage_class_name, config.storage_class_name));
  }
  // Compared as mounted: writing out the default the name gives is no change.
  if (config.mount_point_pattern != old_config->mount_point_pattern) {
    denials.Add(rule::kMountPointPatternImmutable,
                fmt::format(R"(spec.mountPointPattern cannot change (from "{}" to "{}"))",
                            old_config->mount_point_pattern, config.mount_point_pattern));
  }
  if (config.capacity < old_config->capacity) {
    denials.Add(rule::kCapacityNoShrink,
                fmt::format("spec.capacity cannot shrink (from {} to {})",
                            old_config->capacity.text(), config.capacity.text()));
  }
}

// The StorageClass must exist, have a driver, and the driver must accept it.
Decision CheckWithDriver(const DiskConfig& config, const RuleContext& context) {
  Decision decision;
  const auto storage_class =
      context.storage_class ? context.storage_class(config.storage_class_name) : std::nullopt;
  if (!storage_class) {
    return DenyOne(rule::kStorageClassExists,
                   fmt::format("StorageClass \"{}\" not found", config.storage_class_name));
  }
  // From the API server or a file, so not necessarily well-typed.
  auto provisioner = OptionalString(*storage_class, "provisioner", "provisioner");
  if (!provisioner) {
    return DenyOne(rule::kStorageClassValid,
                   fmt::format("StorageClass \"{}\": {}", config.storage_class_name,
                               provisioner.error().message));
  }
  decision.provisioner = *provisioner;
  // Through the registry, which counts the call for the driver (drivers list,
  // /drivers) and says when there is no driver.
  drivers::CallInputs inputs;
  inputs.storage_class = *storage_class;
  const drivers::Outcome outcome =
      context.registry != nullptr
          ? context.registry->Call(decision.provisioner, drivers::Function::kIsStorageClassValid,
                                   inputs, context.call_options)
          : drivers::ErrorOutcome(drivers::ErrorCause::kNoDriver, "no drivers");
  // Each message is built before `decision` is moved into the result: argument
  // evaluation order is unspecified.
  if (outcome.cause == drivers::ErrorCause::kNoDriver) {
    std::string why = fmt::format(R"(no driver for provisioner "{}" of StorageClass "{}")",
                                  decision.provisioner, config.storage_class_name);
    return DenyOne(rule::kDriverLoaded, why, std::move(decision));
  }
  decision.warnings = outcome.warnings;
  switch (outcome.kind) {
    case drivers::OutcomeKind::kValid:
      return decision;
    case drivers::OutcomeKind::kInvalid: {
      std::string why =
          fmt::format("StorageClass \"{}\" is not valid for {}: {}", config.storage_class_name,
                      decision.provisioner, outcome.reason);
      return DenyOne(rule::kStorageClassValid, why, std::move(decision));
    }
    default: {
      std::string why = fmt::format("the driver failed, so the DiskConfig cannot be validated: {}",
                                    outcome.reason);
      return DenyOne(rule::kDriverError, why, std::move(decision));
    }
  }
}

const nlohmann::json* SpecOf(const nlohmann::json& object) {
  if (!object.is_object()) return nullptr;
  const auto spec = object.find("spec");
  return spec != object.end() ? &*spec : nullptr;
}

bool SameSpec(const nlohmann::json& object, const nlohmann::json& old_object) {
  const nlohmann::json* spec = SpecOf(object);
  const nlohmann::json* old_spec = SpecOf(old_object);
  if (spec == nullptr || old_spec == nullptr) return spec == old_spec;
  return *spec == *old_spec;
}

bool BeingDeleted(const nlohmann::json& object) {
  if (!object.is_object()) return false;
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return false;
  const auto deletion = metadata->find("deletionTimestamp");
  return deletion != metadata->end() && !deletion->is_null();
}

}  // namespace

Decision Validate(Operation operation, const nlohmann::json* object,
                  const nlohmann::json* old_object, const RuleContext& context) {
  if (operation == Operation::kDelete || operation == Operation::kConnect) return {};
  if (object == nullptr) return DenyOne(rule::kWellFormed, "the request carries no object");
  // The spec was judged when it was written. An update that leaves it as it was
  // (finalizers, labels, annotations, status) is judged only on what it changes,
  // and never by the driver: a broken driver or a deleted StorageClass must not
  // block removing a finalizer, and neither must a flaw the stored object had.
  if (operation == Operation::kUpdate && old_object != nullptr && SameSpec(*object, *old_object)) {
    auto parsed = ParseDiskConfig(*object);
    if (parsed) return {};
    auto parsed_old = ParseDiskConfig(*old_object);
    if (!parsed_old && parsed_old.error().message == parsed.error().message) return {};
    return DenyOne(rule::kWellFormed, parsed.error().message);
  }
  // Nothing new will be provisioned for an object being deleted, so its update
  // gets only the rules that need nothing but the objects, never the driver.
  const bool being_deleted =
      BeingDeleted(*object) || (old_object != nullptr && BeingDeleted(*old_object));
  auto config = ParseDiskConfig(*object);
  if (!config) return DenyOne(rule::kWellFormed, config.error().message);
  std::optional<DiskConfig> old_config;
  if (operation == Operation::kUpdate && old_object != nullptr) {
    auto parsed_old = ParseDiskConfig(*old_object);
    // An old object that no longer parses cannot constrain the update.
    if (parsed_old) old_config = std::move(parsed_old).value();
  }
  Denials denials;
  CheckLocalRules(*config, old_config ? &*old_config : nullptr, denials);
  if (!denials.empty()) return denials.Deny({});
  if (being_deleted) return {};
  return CheckWithDriver(*config, context);
}

}  // namespace discoblocks::admission
