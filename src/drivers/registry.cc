#include "drivers/registry.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <system_error>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace discoblocks::drivers {
namespace {

constexpr std::string_view kModuleFile = "main.wasm";

// Lists the provisioner folders, sorted. Entries that are not folders are ignored.
Result<std::vector<DriverEntry>> ScanDirectory(const std::filesystem::path& directory) {
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    if (!std::filesystem::exists(directory)) {
      return MakeError(fmt::format("drivers directory {} does not exist", directory.string()));
    }
    return MakeError(fmt::format("drivers directory {} is not a directory", directory.string()));
  }
  std::vector<DriverEntry> entries;
  std::filesystem::directory_iterator it(directory, ec);
  if (ec) {
    return MakeError(
        fmt::format("cannot read drivers directory {}: {}", directory.string(), ec.message()));
  }
  for (const auto& item : it) {
    if (!item.is_directory(ec)) continue;
    DriverEntry entry;
    entry.provisioner = item.path().filename().string();
    if (!std::filesystem::is_regular_file(item.path() / kModuleFile, ec)) {
      entry.state = DriverState::kSkipped;
      entry.reason = fmt::format("no {} in {}", kModuleFile, item.path().string());
    }
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(), [](const DriverEntry& a, const DriverEntry& b) {
    return a.provisioner < b.provisioner;
  });
  return entries;
}

}  // namespace

std::string_view DriverStateName(DriverState state) {
  switch (state) {
    case DriverState::kLoaded:
      return "loaded";
    case DriverState::kSkipped:
      return "skipped";
    case DriverState::kFailed:
      break;
  }
  return "failed";
}

std::filesystem::path ResolveDriversDir(const std::optional<std::string>& flag) {
  if (flag && !flag->empty()) return *flag;
  // Read once, while the command line is parsed, before any thread starts.
  const char* env = std::getenv("DISCOBLOCKS_DRIVERS_DIR");  // NOLINT(concurrency-mt-unsafe)
  if (env != nullptr && *env != '\0') return env;
  return "/drivers";
}

std::unique_ptr<Registry> Registry::Load(std::shared_ptr<wasm::Engine> engine,
                                         const RegistryOptions& options) {
  auto registry = std::unique_ptr<Registry>(new Registry());
  registry->directory_ = options.directory;
  auto scanned = ScanDirectory(options.directory);
  if (!scanned) {
    registry->directory_error_ = scanned.error().message;
    spdlog::warn("{}", scanned.error().message);
    registry->entries_ = std::make_shared<const std::vector<DriverEntry>>();
    return registry;
  }
  std::vector<DriverEntry> entries = std::move(scanned).value();
  if (options.only) {
    std::erase_if(entries, [&](const DriverEntry& e) { return e.provisioner != *options.only; });
  }

  // Compile in parallel: each worker takes the next folder that has a module.
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < entries.size(); i = next++) {
      DriverEntry& entry = entries[i];
      if (entry.state == DriverState::kSkipped) continue;
      auto driver = Driver::Load(engine, entry.provisioner,
                                 options.directory / entry.provisioner / kModuleFile);
      if (driver) {
        entry.state = DriverState::kLoaded;
        entry.driver = std::move(driver).value();
      } else {
        entry.state = DriverState::kFailed;
        entry.reason = driver.error().message;
      }
    }
  };
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  const std::size_t workers =
      std::min<std::size_t>(options.parallelism != 0 ? options.parallelism : cores, entries.size());
  std::vector<std::jthread> threads;
  for (std::size_t i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  threads.clear();  // joins

  for (const DriverEntry& entry : entries) {
    if (entry.state == DriverState::kFailed) {
      spdlog::warn("driver {} failed to load: {}", entry.provisioner, entry.reason);
    }
  }
  registry->entries_ = std::make_shared<const std::vector<DriverEntry>>(std::move(entries));
  return registry;
}

std::vector<DriverEntry> Registry::Entries() const {
  const std::lock_guard lock(mutex_);
  return *entries_;
}

std::optional<DriverEntry> Registry::Entry(std::string_view provisioner) const {
  std::shared_ptr<const std::vector<DriverEntry>> entries;
  {
    const std::lock_guard lock(mutex_);
    entries = entries_;
  }
  for (const DriverEntry& entry : *entries) {
    if (entry.provisioner == provisioner) return entry;
  }
  return std::nullopt;
}

std::shared_ptr<const Driver> Registry::Find(std::string_view provisioner) const {
  auto entry = Entry(provisioner);
  return entry ? entry->driver : nullptr;
}

Outcome Registry::Call(std::string_view provisioner, Function function, const CallInputs& inputs,
                       const CallOptions& options) const {
  const auto entry = Entry(provisioner);
  if (!entry || !entry->driver) {
    std::string reason = fmt::format("no driver for {}", provisioner);
    if (entry) reason += fmt::format(" ({}: {})", DriverStateName(entry->state), entry->reason);
    return ErrorOutcome(ErrorCause::kNoDriver, std::move(reason));
  }
  return entry->driver->Call(function, inputs, options);
}

}  // namespace discoblocks::drivers
