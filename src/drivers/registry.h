// The driver registry: every folder of the drivers directory, loaded or not, kept
// in step with the directory while the operator runs.
//
// Layout: <drivers-dir>/<provisioner>/main.wasm and optionally driver.yaml
// (manifest.h). At start every module is compiled in parallel. Afterwards
// Rescan() — called by the watch thread on inotify events and on a timer, or by
// hand — applies what changed:
//   - a new folder with main.wasm becomes callable;
//   - a changed main.wasm or driver.yaml is loaded once its files have been
//     unchanged for `settle_time` (so a file still being written is never
//     compiled), and swapped in atomically when it compiled and linked;
//   - a replacement that fails to load leaves the previous version serving and is
//     reported (log, last_load_error, load_failures);
//   - a removed folder (or main.wasm) stops being callable.
// Calls hold the version they started with (shared_ptr), so a swap never
// disturbs a call in progress. A folder without main.wasm is skipped; a module
// that does not load is failed with its reason; neither stops the others, and a
// missing directory is reported, not fatal.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/driver.h"
#include "wasm/engine.h"

namespace discoblocks::drivers {

enum class DriverState { kLoaded, kSkipped, kFailed };
std::string_view DriverStateName(DriverState state);  // "loaded", "skipped", "failed"

struct DriverEntry {
  std::string provisioner;  // the folder name
  DriverState state = DriverState::kFailed;
  std::string reason;                    // why skipped or failed
  std::shared_ptr<const Driver> driver;  // the version serving; set when loaded
  // The latest failed load of this folder while an earlier version kept serving
  // (for a failed entry, the same as reason). Cleared by a successful load.
  std::string last_load_error;
  std::optional<std::chrono::system_clock::time_point> last_load_error_at;
  std::uint64_t load_failures = 0;    // failed loads since the process started
  std::uint64_t versions_loaded = 0;  // successful loads; above 1 means replaced
  std::uint64_t calls = 0;            // calls through Registry::Call, all versions
  std::uint64_t call_failures = 0;    // of which ended in an error outcome
  // About the version serving, e.g. its driver.yaml asking for limits above the
  // operator's (RegistryOptions::limits), which were clamped. Also logged.
  std::vector<std::string> warnings;
};

// Where the drivers are: the flag, else DISCOBLOCKS_DRIVERS_DIR, else /drivers.
std::filesystem::path ResolveDriversDir(const std::optional<std::string>& flag);

struct RegistryOptions {
  std::filesystem::path directory = "/drivers";
  unsigned parallelism = 0;  // compile threads; 0 = one per core
  // Load only this provisioner's folder (for tools that call one driver).
  std::optional<std::string> only;
  // Refuse drivers without a driver.yaml that pins main.wasm's sha256.
  bool require_digest = false;
  // Compiled modules kept between runs; null compiles every time.
  std::shared_ptr<ModuleCache> module_cache;
  // The operator's per-call limits: ceilings that a driver.yaml may lower but
  // not raise (manifest.h). Loads report a manifest asking for more in
  // DriverEntry::warnings; callers pass the same limits in CallOptions, where
  // Driver::Call clamps the manifest's to them.
  wasm::Limits limits;
  // Largest main.wasm compiled; a bigger one fails to load (LoadOptions).
  std::uint64_t max_module_bytes = kDefaultMaxModuleBytes;
  // Serve v2 drivers' calls from a snapshot taken after their initializer,
  // which runs within `limits` (LoadOptions::preinitialize).
  bool preinitialize = false;
};

struct WatchOptions {
  // A full rescan this often, for changes inotify does not report (e.g. the
  // symlink swaps of Kubernetes ConfigMap and Secret volumes, network filesystems).
  std::chrono::milliseconds rescan_interval{10'000};
  // A changed file is loaded only once it has been unchanged this long.
  std::chrono::milliseconds settle_time{1'000};
};

class DirectoryWatcher;
namespace registry_internal {
struct Snapshot;
struct RescanState;
}  // namespace registry_internal

class Registry {
 public:
  static std::unique_ptr<Registry> Load(std::shared_ptr<wasm::Engine> engine,
                                        const RegistryOptions& options);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry();  // stops watching

  [[nodiscard]] const std::filesystem::path& directory() const { return options_.directory; }
  // The operator's per-call limits (RegistryOptions::limits), for CallOptions.
  [[nodiscard]] const wasm::Limits& limits() const { return options_.limits; }
  // The module cache in use, or null.
  [[nodiscard]] const ModuleCache* module_cache() const { return options_.module_cache.get(); }
  // Set while the directory itself cannot be read (missing, not a directory).
  [[nodiscard]] std::optional<std::string> directory_error() const;

  // All folders, sorted by provisioner.
  [[nodiscard]] std::vector<DriverEntry> Entries() const;
  [[nodiscard]] std::optional<DriverEntry> Entry(std::string_view provisioner) const;

  // The current version of a loaded driver, or null. The returned pointer keeps
  // that version alive for as long as the caller holds it.
  [[nodiscard]] std::shared_ptr<const Driver> Find(std::string_view provisioner) const;

  // Finds the driver and calls it; "no driver for <provisioner>" when none is loaded.
  [[nodiscard]] Outcome Call(std::string_view provisioner, Function function,
                             const CallInputs& inputs, const CallOptions& options = {}) const;

  // Looks at the directory and applies what changed (see the top of this file).
  // Returns how soon to look again when a changed file has not settled yet.
  std::optional<std::chrono::milliseconds> Rescan(const WatchOptions& options = {});

  // Starts a thread that calls Rescan on inotify events, when a changed file is
  // due to have settled, and every rescan_interval. Stopped by the destructor.
  Status StartWatching(const WatchOptions& options = {});

 private:
  using Snapshot = registry_internal::Snapshot;
  Registry();
  void Publish(std::shared_ptr<const Snapshot> snapshot, std::optional<std::string> dir_error);
  [[nodiscard]] std::shared_ptr<const Snapshot> Current() const;

  std::shared_ptr<wasm::Engine> engine_;
  RegistryOptions options_;

  mutable std::mutex mutex_;  // guards the two fields below; held only to copy them
  std::shared_ptr<const Snapshot> snapshot_;
  std::optional<std::string> directory_error_;

  std::mutex rescan_mutex_;  // one Rescan at a time; guards rescan_state_
  std::unique_ptr<registry_internal::RescanState> rescan_state_;
  std::unique_ptr<DirectoryWatcher> watcher_;
};

}  // namespace discoblocks::drivers
