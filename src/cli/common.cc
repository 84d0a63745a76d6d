#include "cli/common.h"

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "cli/app.h"
#include "drivers/module_cache.h"
#include "util/byte_size.h"
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
  command.add_flag("--no-preinit", flags.no_preinit,
                   "run a v2 driver's initializer at every call instead of starting calls from "
                   "the snapshot it leaves once at load");
  command
      .add_option("--module-cache-size", flags.module_cache_size,
                  "most bytes the module cache keeps; least recently used entries are "
                  "removed past it")
      ->capture_default_str();
  command
      .add_option("--max-module-size", flags.max_module_size,
                  "largest main.wasm compiled; a larger one fails to load")
      ->capture_default_str();
  command
      .add_option("--driver-memory-limit", flags.memory_limit,
                  "linear memory of one driver call; a driver.yaml may lower it, not raise it")
      ->capture_default_str();
  command
      .add_option("--driver-stdout-limit", flags.stdout_limit,
                  "stdout one driver call may write; a driver.yaml may lower it, not raise it")
      ->capture_default_str();
  command
      .add_option("--driver-stderr-limit", flags.stderr_limit,
                  "stderr one driver call may write; a driver.yaml may lower it, not raise it")
      ->capture_default_str();
}

void AddTextOrJsonFlag(CLI::App& command, std::string& output) {
  command.add_option("-o,--output", output, "text or json")->check(CLI::IsMember({"text", "json"}));
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

std::shared_ptr<drivers::ModuleCache> OpenModuleCache(const DriverFlags& flags,
                                                      std::uint64_t max_bytes) {
  if (flags.no_module_cache) return nullptr;
  const auto dir = flags.module_cache ? std::optional<std::filesystem::path>(*flags.module_cache)
                                      : DefaultModuleCacheDir();
  if (!dir) return nullptr;
  auto cache = drivers::ModuleCache::Open(*dir, {max_bytes});
  if (!cache) {
    spdlog::warn("module cache not used: {}", cache.error().message);
    return nullptr;
  }
  return std::move(cache).value();
}

// A size flag: a whole number of bytes above 0 and at most `most`.
Result<std::uint64_t> SizeFlag(std::string_view name, const std::string& text, std::uint64_t most,
                               std::string_view why_most = {}) {
  auto size = ParseByteSize(text);
  if (!size) return MakeError(fmt::format("{}: {}", name, size.error().message));
  if (*size == 0) return MakeError(fmt::format("{}: must be above 0", name));
  if (*size > most) {
    return MakeError(fmt::format("{}: {} is above the maximum of {}{}", name, text,
                                 FormatByteSize(most), why_most));
  }
  return *size;
}

struct ParsedDriverFlags {
  wasm::Limits limits;
  std::uint64_t max_module_bytes = 0;
  std::uint64_t module_cache_bytes = 0;
};

Result<ParsedDriverFlags> ParseDriverFlags(const DriverFlags& flags,
                                           std::optional<std::chrono::milliseconds> time_limit) {
  constexpr std::uint64_t kAny = std::numeric_limits<std::uint64_t>::max();
  ParsedDriverFlags parsed;
  if (time_limit) {
    if (time_limit->count() <= 0) return MakeError("the driver time limit must be above 0");
    parsed.limits.time = *time_limit;
  }
  auto memory = SizeFlag("--driver-memory-limit", flags.memory_limit, std::uint64_t{4} << 30,
                         " (the most a 32-bit WebAssembly memory can hold)");
  if (!memory) return memory.error();
  parsed.limits.memory_bytes = *memory;
  auto out = SizeFlag("--driver-stdout-limit", flags.stdout_limit, kAny);
  if (!out) return out.error();
  parsed.limits.stdout_bytes = *out;
  auto err = SizeFlag("--driver-stderr-limit", flags.stderr_limit, kAny);
  if (!err) return err.error();
  parsed.limits.stderr_bytes = *err;
  auto module_size = SizeFlag("--max-module-size", flags.max_module_size, kAny);
  if (!module_size) return module_size.error();
  parsed.max_module_bytes = *module_size;
  auto cache_size = SizeFlag("--module-cache-size", flags.module_cache_size, kAny);
  if (!cache_size) return cache_size.error();
  parsed.module_cache_bytes = *cache_size;
  return parsed;
}

}  // namespace

std::unique_ptr<drivers::Registry> LoadRegistry(const DriverFlags& flags,
                                                std::optional<std::string> only,
                                                std::optional<std::chrono::milliseconds> time_limit,
                                                MissingDriversDir missing) {
  auto parsed = ParseDriverFlags(flags, time_limit);
  if (!parsed) {
    Fail(parsed.error().message);
    return nullptr;
  }
  auto engine = wasm::Engine::Create();
  if (!engine) {
    Fail(engine.error().message);
    return nullptr;
  }
  drivers::RegistryOptions options;
  options.directory = drivers::ResolveDriversDir(flags.drivers_dir);
  options.only = std::move(only);
  options.require_digest = flags.require_digests;
  options.module_cache = OpenModuleCache(flags, parsed->module_cache_bytes);
  options.limits = parsed->limits;
  options.max_module_bytes = parsed->max_module_bytes;
  options.preinitialize = !flags.no_preinit;
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
