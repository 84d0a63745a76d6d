// One loaded version of one driver: its compiled module and identity. Immutable;
// held through shared_ptr so that a call in progress keeps the version it started
// with alive even if the registry moves on to another.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "drivers/contract.h"
#include "drivers/manifest.h"
#include "drivers/outcome.h"
#include "util/result.h"
#include "wasm/engine.h"
#include "wasm/module.h"

namespace discoblocks::drivers {

// Told about every finished call, e.g. to count calls in metrics.
using CallObserver = std::function<void(std::string_view provisioner, const FunctionSpec& function,
                                        const Outcome& outcome)>;

struct CallOptions {
  // The operator's limits: ceilings. A driver's manifest may lower any of them,
  // never raise one (manifest.h).
  wasm::Limits limits;
  CallObserver observer;
  // Extra variables for driver authors experimenting offline; they are added to
  // (and override) the contract's variables.
  Environment extra_env;
};

class ModuleCache;

// A driver is a folder of the drivers directory: <provisioner>/main.wasm, and
// optionally <provisioner>/driver.yaml (manifest.h).
inline constexpr std::string_view kModuleFile = "main.wasm";

// Real drivers are a few MiB; compiling takes time and memory in proportion to
// the bytes, so a module above the limit is refused before it is even read.
inline constexpr std::uint64_t kDefaultMaxModuleBytes = std::uint64_t{64} << 20;

struct LoadOptions {
  // Refuse a driver without a driver.yaml that pins main.wasm's sha256.
  bool require_digest = false;
  // Where compiled modules are kept between runs; null compiles every time.
  ModuleCache* module_cache = nullptr;
  // A main.wasm larger than this is refused, naming its size and the limit.
  std::uint64_t max_module_bytes = kDefaultMaxModuleBytes;
  // For a v2 driver: run its initializer once, here, and serve every call from
  // the snapshot it leaves (wasm/preinit.h), each call still in a fresh
  // instance. The initializer runs within `initializer_limits` (the operator's
  // per-call limits), lowered by the driver.yaml as a call's are. A driver that
  // cannot be snapshotted runs as before, initializer at every call, and
  // preinit() says why.
  bool preinitialize = false;
  wasm::Limits initializer_limits;
};

// Whether calls start from a snapshot, and if not why.
struct PreinitReport {
  bool preinitialized = false;
  // Empty when preinitialized or not asked for (v1, or LoadOptions::preinitialize
  // false); else the wasm::NoSnapshot name and the reason, e.g.
  // "initializer-failed: cannot snapshot: _initialize trapped: ...".
  std::string not_preinitialized;
  // Making the snapshot, or taking it from the module cache.
  std::chrono::nanoseconds time{0};
};

class Driver {
 public:
  // Reads `<folder>/main.wasm` and the optional `<folder>/driver.yaml`, checks the
  // digest the manifest pins, and compiles (or takes from the cache) the module.
  // The error says which step failed and, for a digest, both digests.
  static Result<std::shared_ptr<const Driver>> Load(std::shared_ptr<wasm::Engine> engine,
                                                    std::string provisioner,
                                                    const std::filesystem::path& folder,
                                                    const LoadOptions& options = {});

  [[nodiscard]] const std::string& provisioner() const { return provisioner_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] const std::string& sha256() const { return sha256_; }
  [[nodiscard]] std::uint64_t size_bytes() const { return size_bytes_; }
  [[nodiscard]] std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }
  [[nodiscard]] const wasm::ModuleInfo& module_info() const { return module_->info(); }
  // The driver.yaml read with this version, if there was one.
  [[nodiscard]] const std::optional<Manifest>& manifest() const { return manifest_; }
  // The limits a call runs under: the operator's (`ceilings`), each lowered to
  // the manifest's where that is lower.
  [[nodiscard]] wasm::Limits EffectiveLimits(const wasm::Limits& ceilings) const;
  // Whether the compiled module came from the on-disk cache.
  [[nodiscard]] bool from_cache() const { return from_cache_; }
  [[nodiscard]] bool Exports(Function function) const;
  // The contract version the module declares (kAbiV2Marker), v1 otherwise.
  [[nodiscard]] Abi abi() const { return abi_; }
  [[nodiscard]] const PreinitReport& preinit() const { return preinit_; }

  // Runs one function per the contract. Never throws.
  [[nodiscard]] Outcome Call(Function function, const CallInputs& inputs,
                             const CallOptions& options = {}) const;

 private:
  Driver() = default;
  std::string provisioner_;
  std::filesystem::path path_;
  std::string sha256_;
  std::uint64_t size_bytes_ = 0;
  std::chrono::system_clock::time_point loaded_at_;
  std::optional<Manifest> manifest_;
  bool from_cache_ = false;
  Abi abi_ = Abi::kV1;
  PreinitReport preinit_;
  std::shared_ptr<const wasm::Module> module_;
};

}  // namespace discoblocks::drivers
