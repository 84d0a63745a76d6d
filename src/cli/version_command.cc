// discoblocks version [-o json], and discoblocks --version
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "drivers/contract.h"
#include "wasm/engine.h"

namespace discoblocks::cli {
namespace {

nlohmann::json VersionJson() {
  return {{"version", BuildVersion()},
          {"commit", BuildCommit()},
          {"wasmtime", wasm::Engine::WasmtimeVersion()},
          {"driver_abi_versions", drivers::kSupportedAbiVersions}};
}

// One line per fact, the same facts as the JSON, for people and bug reports.
std::string VersionText() {
  std::string abi;
  for (const int version : drivers::kSupportedAbiVersions) {
    abi += fmt::format("{}v{}", abi.empty() ? "" : ", ", version);
  }
  return fmt::format("discoblocks {}\ncommit: {}\nwasmtime: {}\ndriver ABI: {}", BuildVersion(),
                     BuildCommit(), wasm::Engine::WasmtimeVersion(), abi);
}

}  // namespace

void AddVersionCommand(CLI::App& app, Action& action) {
  app.set_version_flag(
      "--version", [] { return VersionText(); }, "Print the version and exit");
  auto* command = app.add_subcommand(
      "version", "Print the version, commit, Wasmtime version and driver ABI versions");
  auto output = std::make_shared<std::string>("text");
  AddTextOrJsonFlag(*command, *output);
  command->callback([&action, output] {
    action = [output] {
      if (*output == "json") {
        std::cout << DumpJson(VersionJson()) << "\n";
      } else {
        std::cout << VersionText() << "\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace discoblocks::cli
