#include "cli/common.h"

#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/app.h"
#include "drivers/module_cache.h"
#include "util/document.h"
#include "util/files.h"

namespace discoblocks::cli {

int Fail(const std::string& message) {
  std::cerr << "discoblocks: " << message << "\n";
  return kExitError;
}

void AddDriverFlags(CLI::App& command, DriverFlags& flags) {
  command.add_option("--drivers-dir", flags.drivers_dir,
                     "drivers directory (default: $DISCOBLOCKS_DRIVERS_DIR, else /drivers)");
  command.add_flag("--require-driver-digests", flags.require_digests,
                   "refuse drivers without a driver.yaml that pins main.wasm's sha256");
  command.add_option("--module-cache", flags.module_cache,
                     "directory for compiled modules, private to this user (default: "
                     "$DISCOBLOCKS_MODULE_CACHE, else $XDG_CACHE_HOME or ~/.cache, "
                     "/discoblocks/modules)");
  command.add_flag("--no-module-cache", flags.no_module_cache,
                   "compile every driver at start instead of using the module cache");
}

namespace {

// Read while the command line is parsed, before any thread starts.
std::optional<std::filesystem::path> DefaultModuleCacheDir() {
  // NOLINTBEGIN(concurrency-mt-unsafe)
  if (const char* dir = std::getenv("DISCOBLOCKS_MODULE_CACHE"); dir != nullptr && *dir != 0) {
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != 0) {
    return std::filesystem::path(xdg) / "discoblocks" / "modules";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0) {
    return std::filesystem::path(home) / ".cache" / "discoblocks" / "modules";
  }
  // NOLINTEND(concurrency-mt-unsafe)
  return std::nullopt;
}

std::shared_ptr<drivers::ModuleCache> OpenModuleCache(const DriverFlags& flags) {
  if (flags.no_module_cache) return nullptr;
  const auto dir = flags.module_cache ? std::optional<std::filesystem::path>(*flags.module_cache)
                                      : DefaultModuleCacheDir();
  if (!dir) return nullptr;
  auto cache = drivers::ModuleCache::Open(*dir);
  if (!cache) {
    spdlog::warn("module cache not used: {}", cache.error().message);
    return nullptr;
  }
  return std::move(cache).value();
}

}  // namespace

std::unique_ptr<drivers::Registry> LoadRegistry(const DriverFlags& flags,
                                                std::optional<std::string> only,
                                                MissingDriversDir missing) {
  auto engine = wasm::Engine::Create();
  if (!engine) {
    Fail(engine.error().message);
    return nullptr;
  }
  drivers::RegistryOptions options;
  options.directory = drivers::ResolveDriversDir(flags.drivers_dir);
  options.only = std::move(only);
  options.require_digest = flags.require_digests;
  options.module_cache = OpenModuleCache(flags);
  auto registry = drivers::Registry::Load(std::move(engine).value(), options);
  if (const auto error = registry->directory_error()) {
    if (missing == MissingDriversDir::kFail) {
      Fail(*error);
      return nullptr;
    }
    spdlog::warn("serving without drivers until the directory can be read: {}", *error);
  }
  return registry;
}

Result<std::optional<nlohmann::json>> ReadObject(const std::optional<std::string>& path) {
  if (!path) return std::optional<nlohmann::json>();
  auto text = ReadFile(*path);
  if (!text) return text.error();
  auto doc = ParseDocument(*text, *path);
  if (!doc) return doc.error();
  if (!doc->is_object()) return MakeError(*path + ": expected a Kubernetes object (a mapping)");
  return std::optional<nlohmann::json>(std::move(doc).value());
}

}  // namespace discoblocks::cli
