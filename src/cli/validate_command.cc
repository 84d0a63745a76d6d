// discoblocks validate: the admission rules, offline, for CI pipelines and
// driver authors. Same rules and messages as the webhook.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "admission/diskconfig.h"
#include "admission/rules.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "util/json_fields.h"

namespace discoblocks::cli {
namespace {

struct ValidateFlags {
  std::string diskconfig;
  std::string storage_class;
  std::optional<std::string> old_diskconfig;
  DriverFlags drivers;
  std::string output = "text";
};

int Validate(const ValidateFlags& flags) {
  auto object = ReadObject(flags.diskconfig);
  if (!object) return Fail(object.error().message);
  auto storage_class = ReadObject(flags.storage_class);
  if (!storage_class) return Fail(storage_class.error().message);
  auto old_object = ReadObject(flags.old_diskconfig);
  if (!old_object) return Fail(old_object.error().message);
  const auto kind = OptionalString(**object, "kind", "kind", "missing");
  if (!kind) return Fail(fmt::format("{}: {}", flags.diskconfig, kind.error().message));
  if (*kind != admission::kDiskConfigKind) {
    return Fail(fmt::format("{}: not a DiskConfig (kind {})", flags.diskconfig, *kind));
  }
  const auto provisioner = OptionalString(**storage_class, "provisioner", "provisioner");
  if (!provisioner) {
    return Fail(fmt::format("{}: {}", flags.storage_class, provisioner.error().message));
  }

  // Only the driver this StorageClass needs is compiled.
  auto registry = LoadRegistry(flags.drivers, *provisioner);
  if (!registry) return kExitError;
  admission::RuleContext context;
  context.registry = registry.get();
  context.call_options.limits = registry->limits();
  const nlohmann::json& the_class = **storage_class;
  context.storage_class = [&](std::string_view name) -> std::optional<nlohmann::json> {
    const auto metadata = the_class.find("metadata");
    if (metadata != the_class.end() && StringOr(*metadata, "name") == name) {
      return the_class;
    }
    return std::nullopt;
  };
  // As the API server does before admission.
  const nlohmann::json current = admission::WithDefaults(**object);
  const std::optional<nlohmann::json> previous =
      *old_object ? std::optional(admission::WithDefaults(**old_object)) : std::nullopt;
  const admission::Decision decision =
      admission::Validate(previous ? admission::Operation::kUpdate : admission::Operation::kCreate,
                          &current, previous ? &*previous : nullptr, context);

  if (flags.output == "json") {
    nlohmann::json doc = {{"allowed", decision.allowed}, {"warnings", decision.warnings}};
    if (!decision.allowed) {
      doc["rule"] = decision.rule;
      doc["message"] = decision.message;
    }
    if (!decision.provisioner.empty()) doc["provisioner"] = decision.provisioner;
    std::cout << DumpJson(doc) << "\n";
  } else {
    std::cout << (decision.allowed ? "allowed" : "denied: " + decision.message) << "\n";
    for (const auto& warning : decision.warnings) std::cout << "warning: " << warning << "\n";
  }
  return decision.allowed ? kExitOk : kExitInvalid;
}

}  // namespace

void AddValidateCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ValidateFlags>();
  auto* command =
      app.add_subcommand("validate",
                         "check a DiskConfig against the admission rules, offline (exit 0 allowed, "
                         "1 denied, 2 error)");
  command->add_option("--diskconfig", flags->diskconfig, "DiskConfig file (YAML/JSON)")->required();
  command
      ->add_option("--storage-class", flags->storage_class, "the StorageClass it names (YAML/JSON)")
      ->required();
  command->add_option("--old-diskconfig", flags->old_diskconfig,
                      "the previous DiskConfig, to check an update");
  AddDriverFlags(*command, flags->drivers);
  AddTextOrJsonFlag(*command, flags->output);
  command->callback([&action, flags] { action = [flags] { return Validate(*flags); }; });
}

}  // namespace discoblocks::cli
