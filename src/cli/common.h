// Helpers shared by the commands. Internal to src/cli/.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "drivers/registry.h"
#include "util/result.h"

namespace discoblocks::cli {

// Prints "discoblocks: <message>" on stderr; returns the error exit status.
int Fail(const std::string& message);

// The flags every command that loads drivers takes. Sizes are written as in
// driver.yaml (128Mi, 64Ki, 1048576).
struct DriverFlags {
  std::optional<std::string> drivers_dir;   // else $DISCOBLOCKS_DRIVERS_DIR, else /drivers
  bool require_digests = false;             // every driver needs a driver.yaml with sha256
  std::optional<std::string> module_cache;  // else $DISCOBLOCKS_MODULE_CACHE, else ~/.cache/...
  bool no_module_cache = false;
  bool no_preinit = false;                  // v2 drivers run their initializer at every call
  std::string module_cache_size = "512Mi";  // the cache's entries together, at most
  std::string max_module_size = "64Mi";     // a larger main.wasm is not compiled
  // The operator's per-call limits, ceilings for every driver.yaml. The time
  // limit is the command's own flag (serve --driver-timeout, drivers call --timeout).
  std::string memory_limit = "128Mi";
  std::string stdout_limit = "1Mi";
  std::string stderr_limit = "64Ki";
};
void AddDriverFlags(CLI::App& command, DriverFlags& flags);

// Adds `-o,--output text|json` (default: what `output` holds).
void AddTextOrJsonFlag(CLI::App& command, std::string& output);

// Whether a drivers directory that cannot be read stops the command. A one-off
// command has nothing to do without it; `serve` keeps serving and picks the
// drivers up when the directory appears.
enum class MissingDriversDir { kFail, kTolerate };

// Loads the drivers (all, or one folder) as the flags say, with `time_limit` as
// the per-call time limit (else the default, 2 s); the registry's limits() are
// then the operator's limits for CallOptions. Null, with a message printed, when
// a flag is invalid, the engine cannot start or (kFail) the directory cannot be
// read. A module cache that cannot be used is reported and loading goes on
// without it.
std::unique_ptr<drivers::Registry> LoadRegistry(
    const DriverFlags& flags, std::optional<std::string> only = std::nullopt,
    std::optional<std::chrono::milliseconds> time_limit = std::nullopt,
    MissingDriversDir missing = MissingDriversDir::kFail);

// Reads a Kubernetes object from a YAML or JSON file; nullopt when no path.
Result<std::optional<nlohmann::json>> ReadObject(const std::optional<std::string>& path);

}  // namespace discoblocks::cli
