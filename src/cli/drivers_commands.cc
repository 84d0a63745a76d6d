// discoblocks drivers list | inspect | call
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/live_registry.h"
#include "cli/output.h"
#include "drivers/registry.h"
#include "drivers/typed_calls.h"
#include "util/document.h"
#include "util/duration.h"
#include "util/files.h"

namespace discoblocks::cli {
namespace {

struct CommonFlags {
  DriverFlags drivers;
  std::string output = "table";
};

void AddCommonFlags(CLI::App& command, CommonFlags& flags, bool table_output) {
  AddDriverFlags(command, flags.drivers);
  if (table_output) {
    command.add_option("-o,--output", flags.output, "table or json")
        ->check(CLI::IsMember({"table", "json"}));
  } else {
    flags.output = "text";
    command.add_option("-o,--output", flags.output, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
  }
}

// The table `drivers list` prints, from the JSON of each entry.
void PrintDriversTable(const nlohmann::json& entries) {
  std::vector<std::vector<std::string>> rows{
      {"PROVISIONER", "STATE", "SHA256", "CALLS", "FAILED", "DETAIL"}};
  for (const auto& entry : entries) {
    std::string detail = entry.value("reason", "");
    if (entry.contains("exports")) {
      // Counted against the required functions: a driver without an
      // optional one (GetResizePolicy) is complete, not 9/10.
      const auto exports = entry["exports"].get<std::vector<std::string>>();
      std::size_t required = 0;
      std::size_t exported = 0;
      for (const auto& spec : drivers::AllFunctions()) {
        if (spec.optional) continue;
        ++required;
        if (std::find(exports.begin(), exports.end(), spec.name) != exports.end()) ++exported;
      }
      detail =
          fmt::format("{}/{} required functions: {}", exported, required, fmt::join(exports, ", "));
    }
    if (entry.contains("last_load_error") && entry.contains("sha256")) {
      detail = "newest files did not load, this version serves: " +
               entry["last_load_error"].get<std::string>();
    }
    if (entry.contains("warnings")) {
      for (const auto& warning : entry["warnings"]) {
        if (warning.is_string()) detail += "; warning: " + warning.get<std::string>();
      }
    }
    rows.push_back(
        {entry.value("provisioner", ""), entry.value("state", ""),
         entry.contains("sha256") ? entry["sha256"].get<std::string>().substr(0, 12) : "-",
         std::to_string(entry.value("calls", 0)), std::to_string(entry.value("call_failures", 0)),
         detail});
  }
  PrintTable(std::cout, rows);
}

int List(const CommonFlags& flags, const std::optional<std::string>& server) {
  nlohmann::json entries = nlohmann::json::array();
  std::string where;
  if (server) {
    auto live = FetchLiveDrivers(*server);
    if (!live) return Fail(live.error().message);
    entries = std::move(live).value();
    where = *server;
  } else {
    auto registry = LoadRegistry(flags.drivers);
    if (!registry) return kExitError;
    for (const auto& entry : registry->Entries()) entries.push_back(DriverEntryJson(entry));
    where = registry->directory().string();
  }
  if (flags.output == "json") {
    std::cout << DumpJson(entries) << "\n";
  } else if (entries.empty()) {
    std::cout << "no drivers in " << where << "\n";
  } else {
    PrintDriversTable(entries);
  }
  return kExitOk;
}

int Inspect(const CommonFlags& flags, const std::string& provisioner) {
  auto registry = LoadRegistry(flags.drivers, provisioner);
  if (!registry) return kExitError;
  const auto entry = registry->Entry(provisioner);
  if (!entry) {
    return Fail(
        fmt::format("no driver folder {} in {}", provisioner, registry->directory().string()));
  }
  nlohmann::json doc = DriverEntryJson(*entry);
  if (entry->driver) {
    const auto& driver = *entry->driver;
    const auto& info = driver.module_info();
    // In force: the operator's limits (the flags; the default time limit, as
    // `drivers call` and `serve` use without --timeout/--driver-timeout), each
    // lowered where this driver's manifest asks for less.
    const wasm::Limits limits = driver.EffectiveLimits(registry->limits());
    doc["path"] = driver.path().string();
    // A snapshot exports no initializer: its `_initialize` ran once, at load.
    doc["initializer"] = driver.preinit().preinitialized
                             ? wasm::InitializerName(wasm::InitializerKind::kInitialize)
                             : wasm::InitializerName(info.initializer);
    doc["all_exports"] = nlohmann::json::array();
    for (const auto& e : info.exports) {
      doc["all_exports"].push_back({{"name", e.name}, {"kind", e.kind}});
    }
    doc["imports"] = nlohmann::json::array();
    for (const auto& i : info.imports) {
      doc["imports"].push_back({{"module", i.module}, {"name", i.name}, {"kind", i.kind}});
    }
    doc["limits"] = {{"time_ms", limits.time.count()},
                     {"memory_bytes", limits.memory_bytes},
                     {"stdout_bytes", limits.stdout_bytes},
                     {"stderr_bytes", limits.stderr_bytes},
                     {"source", driver.manifest() && !driver.manifest()->limits.empty()
                                    ? "operator's limits, lowered by driver.yaml"
                                    : "operator's limits"}};
    doc["wasmtime"] = wasm::Engine::WasmtimeVersion();
  }
  if (flags.output == "json") {
    std::cout << DumpJson(doc) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, value] : doc.items()) {
      if (value.is_array()) {
        std::vector<std::string> items;
        for (const auto& item : value) {
          if (item.is_string()) {
            items.push_back(item.get<std::string>());
          } else if (item.contains("module")) {
            items.push_back(fmt::format("{}::{} ({})", item["module"].get<std::string>(),
                                        item["name"].get<std::string>(),
                                        item["kind"].get<std::string>()));
          } else {
            items.push_back(fmt::format("{} ({})", item["name"].get<std::string>(),
                                        item["kind"].get<std::string>()));
          }
        }
        rows.push_back({key + ":", fmt::format("{}", fmt::join(items, ", "))});
      } else {
        rows.push_back(
            {key + ":", value.is_string() ? value.get<std::string>() : DumpJson(value, -1)});
      }
    }
    PrintTable(std::cout, rows);
  }
  return entry->driver ? kExitOk : kExitError;
}

struct CallFlags {
  std::string provisioner;
  std::string function;
  std::optional<std::string> storage_class, node, persistent_volume, volume_attachment;
  std::optional<std::string> pvc_name, pvc_namespace, storage_class_name;
  std::vector<std::string> env;
  std::optional<std::string> timeout;
};

int Call(const CommonFlags& common, const CallFlags& flags) {
  const auto function = drivers::FunctionByName(flags.function);
  if (!function) {
    std::vector<std::string_view> names;
    for (const auto& spec : drivers::AllFunctions()) names.push_back(spec.name);
    return Fail(
        fmt::format("unknown function {}; one of: {}", flags.function, fmt::join(names, ", ")));
  }
  drivers::CallInputs inputs;
  for (auto [path, target] : {std::pair{&flags.storage_class, &inputs.storage_class},
                              std::pair{&flags.node, &inputs.node},
                              std::pair{&flags.persistent_volume, &inputs.persistent_volume},
                              std::pair{&flags.volume_attachment, &inputs.volume_attachment}}) {
    auto object = ReadObject(*path);
    if (!object) return Fail(object.error().message);
    *target = std::move(object).value();
  }
  inputs.pvc_name = flags.pvc_name;
  inputs.pvc_namespace = flags.pvc_namespace;
  inputs.storage_class_name = flags.storage_class_name;

  drivers::CallOptions options;
  for (const std::string& assignment : flags.env) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      return Fail(fmt::format("--env {}: expected NAME=VALUE", assignment));
    }
    options.extra_env.emplace_back(assignment.substr(0, equals), assignment.substr(equals + 1));
  }
  std::optional<std::chrono::milliseconds> time_limit;
  if (flags.timeout) {
    auto timeout = ParseDuration(*flags.timeout);
    if (!timeout) return Fail("--timeout: " + timeout.error().message);
    if (timeout->count() <= 0) return Fail("--timeout: must be positive");
    time_limit = std::chrono::ceil<std::chrono::milliseconds>(*timeout);
  }

  auto registry = LoadRegistry(common.drivers, flags.provisioner, time_limit);
  if (!registry) return kExitError;
  options.limits = registry->limits();
  const drivers::Outcome outcome = registry->Call(flags.provisioner, *function, inputs, options);
  if (common.output == "json") {
    std::cout << DumpJson(OutcomeJson(flags.provisioner, flags.function, outcome)) << "\n";
  } else {
    PrintOutcome(outcome.kind == drivers::OutcomeKind::kError ? std::cerr : std::cout, outcome);
  }
  return ExitCodeFor(outcome);
}

}  // namespace

void AddDriversCommands(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand("drivers", "list, inspect, call, test and create drivers");
  group->require_subcommand(1);

  auto list_flags = std::make_shared<CommonFlags>();
  auto server = std::make_shared<std::optional<std::string>>();
  auto* list = group->add_subcommand("list", "every driver folder with its state and functions");
  AddCommonFlags(*list, *list_flags, true);
  list->add_option("--server", *server,
                   "show the live registry of a running `discoblocks serve` instead, from its "
                   "health port, e.g. http://127.0.0.1:8080");
  list->callback([&action, list_flags, server] {
    action = [list_flags, server] { return List(*list_flags, *server); };
  });

  auto inspect_flags = std::make_shared<CommonFlags>();
  auto provisioner = std::make_shared<std::string>();
  auto* inspect = group->add_subcommand(
      "inspect", "exports, imports, size, sha256, initializer and compile time of one driver");
  inspect->add_option("PROVISIONER", *provisioner, "the driver's folder name")->required();
  AddCommonFlags(*inspect, *inspect_flags, true);
  inspect->callback([&action, inspect_flags, provisioner] {
    action = [inspect_flags, provisioner] { return Inspect(*inspect_flags, *provisioner); };
  });

  auto call_common = std::make_shared<CommonFlags>();
  auto call_flags = std::make_shared<CallFlags>();
  auto* call = group->add_subcommand("call", "run one driver function, as the operator would");
  call->add_option("PROVISIONER", call_flags->provisioner, "the driver's folder name")->required();
  call->add_option("FUNCTION", call_flags->function,
                   "one of the contract functions (the nine required ones, or GetResizePolicy)")
      ->required();
  AddCommonFlags(*call, *call_common, false);
  call->add_option("--storage-class", call_flags->storage_class, "StorageClass file (YAML/JSON)");
  call->add_option("--node", call_flags->node, "Node file (YAML/JSON)");
  call->add_option("--persistent-volume", call_flags->persistent_volume,
                   "PersistentVolume file (YAML/JSON)");
  call->add_option("--volume-attachment", call_flags->volume_attachment,
                   "VolumeAttachment file (YAML/JSON)");
  call->add_option("--pvc-name", call_flags->pvc_name, "PVC name for GetPVCStub");
  call->add_option("--pvc-namespace", call_flags->pvc_namespace, "PVC namespace for GetPVCStub");
  call->add_option("--storage-class-name", call_flags->storage_class_name,
                   "StorageClass name for GetPVCStub");
  call->add_option("--env", call_flags->env, "extra environment variable NAME=VALUE (repeatable)");
  call->add_option("--timeout", call_flags->timeout, "time limit, e.g. 500ms or 2s (default 2s)");
  call->callback([&action, call_common, call_flags] {
    action = [call_common, call_flags] { return Call(*call_common, *call_flags); };
  });

  AddDriversTestCommand(*group, action);
  AddDriversNewCommand(*group, action);
}

}  // namespace discoblocks::cli
