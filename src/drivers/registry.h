// The driver registry: every folder of the drivers directory, loaded or not.
//
// Layout: <drivers-dir>/<provisioner>/main.wasm. Each module is compiled once,
// in parallel, and shared by all threads. A folder without main.wasm is skipped;
// a module that does not compile or link is failed with its reason; neither stops
// the others from loading, and a missing directory is reported, not fatal.
#pragma once

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
  std::shared_ptr<const Driver> driver;  // set when loaded
};

// Where the drivers are: the flag, else DISCOBLOCKS_DRIVERS_DIR, else /drivers.
std::filesystem::path ResolveDriversDir(const std::optional<std::string>& flag);

struct RegistryOptions {
  std::filesystem::path directory = "/drivers";
  unsigned parallelism = 0;  // compile threads; 0 = one per core
  // Load only this provisioner's folder (for tools that call one driver).
  std::optional<std::string> only;
};

class Registry {
 public:
  static std::unique_ptr<Registry> Load(std::shared_ptr<wasm::Engine> engine,
                                        const RegistryOptions& options);

  [[nodiscard]] const std::filesystem::path& directory() const { return directory_; }
  // Set when the directory itself could not be read (missing, not a directory).
  [[nodiscard]] const std::optional<std::string>& directory_error() const {
    return directory_error_;
  }

  // All folders, sorted by provisioner.
  [[nodiscard]] std::vector<DriverEntry> Entries() const;
  [[nodiscard]] std::optional<DriverEntry> Entry(std::string_view provisioner) const;

  // The current version of a loaded driver, or null. The returned pointer keeps
  // that version alive for as long as the caller holds it.
  [[nodiscard]] std::shared_ptr<const Driver> Find(std::string_view provisioner) const;

  // Finds the driver and calls it; "no driver for <provisioner>" when none is loaded.
  [[nodiscard]] Outcome Call(std::string_view provisioner, Function function,
                             const CallInputs& inputs, const CallOptions& options = {}) const;

 private:
  Registry() = default;

  std::filesystem::path directory_;
  std::optional<std::string> directory_error_;
  mutable std::mutex mutex_;  // guards entries_, which a later reload replaces
  std::shared_ptr<const std::vector<DriverEntry>> entries_;
};

}  // namespace discoblocks::drivers
