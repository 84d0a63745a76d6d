#include "drivers/registry.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/directory_watcher.h"
#include "drivers/folder_scan.h"
#include "util/memory.h"
#include "util/parallel.h"

namespace discoblocks::drivers {
namespace {

using Clock = std::chrono::steady_clock;

struct CallCounters {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> failures{0};
};

// One folder's load: what was read, and what came of it.
struct Attempt {
  ScannedFolder folder;
  std::optional<Result<std::shared_ptr<const Driver>>> result;  // unset: no main.wasm
  FolderStamp stamp_after;  // the files once read: another stamp means read mid-write

  [[nodiscard]] bool changed_while_loading() const { return stamp_after != folder.stamp; }
};

std::string ShortDigest(const Driver& driver) { return driver.sha256().substr(0, 12); }

// For searching scanned folders by name.
const std::string& ProvisionerOf(const ScannedFolder& folder) { return folder.provisioner; }
const std::string& ProvisionerOf(const std::string& name) { return name; }

}  // namespace

namespace registry_internal {

struct Slot {
  DriverEntry entry;  // calls and call_failures are read from counters when copied out
  FolderStamp stamp;  // of the files the latest load read
  std::shared_ptr<CallCounters> counters = std::make_shared<CallCounters>();

  [[nodiscard]] DriverEntry Export() const {
    DriverEntry copy = entry;
    copy.calls = counters->calls.load(std::memory_order_relaxed);
    copy.call_failures = counters->failures.load(std::memory_order_relaxed);
    return copy;
  }
};

struct Snapshot {
  std::vector<Slot> slots;  // sorted by provisioner

  [[nodiscard]] const Slot* Find(std::string_view provisioner) const {
    const auto it = std::lower_bound(
        slots.begin(), slots.end(), provisioner,
        [](const Slot& slot, std::string_view name) { return slot.entry.provisioner < name; });
    return it != slots.end() && it->entry.provisioner == provisioner ? &*it : nullptr;
  }
};

// A folder whose files changed: loaded once they stay as `stamp` for settle_time.
struct Pending {
  FolderStamp stamp;
  Clock::time_point since;
};

struct RescanState {
  std::map<std::string, Pending, std::less<>> pending;
  // The first scan (at start) reports failures quietly: whoever loads the
  // registry reports its entries; later ones are news and logged as warnings.
  bool first = true;
};

}  // namespace registry_internal

using registry_internal::Pending;
using registry_internal::Slot;
using registry_internal::Snapshot;

namespace {

// Loads the folders' drivers on up to `parallelism` threads. A load that throws
// (it should not: errors are values) fails that folder, not the process.
std::vector<Attempt> LoadFolders(const std::shared_ptr<wasm::Engine>& engine,
                                 const RegistryOptions& options,
                                 std::vector<ScannedFolder> folders) {
  std::vector<Attempt> attempts;
  attempts.reserve(folders.size());
  for (auto& folder : folders) {
    const FolderStamp stamp = folder.stamp;
    attempts.push_back({std::move(folder), std::nullopt, stamp});
  }
  LoadOptions load_options;
  load_options.require_digest = options.require_digest;
  load_options.module_cache = options.module_cache.get();
  load_options.max_module_bytes = options.max_module_bytes;
  load_options.preinitialize = options.preinitialize;
  load_options.initializer_limits = options.limits;
  const auto failures = RunInParallel(attempts.size(), options.parallelism, [&](std::size_t i) {
    Attempt& attempt = attempts[i];
    if (!attempt.folder.stamp.module.exists) return;
    attempt.result =
        Driver::Load(engine, attempt.folder.provisioner, attempt.folder.path, load_options);
    // Read while being written: not a version anyone wrote; look again later.
    attempt.stamp_after = {StampOf(attempt.folder.path / kModuleFile),
                           StampOf(attempt.folder.path / kManifestFile)};
  });
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    if (failures[i]) {
      attempts[i].result = MakeError(
          fmt::format("{}: loading failed: {}", attempts[i].folder.path.string(), *failures[i]));
    }
  }
  return attempts;
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

namespace {

// The slot that follows `previous` (null for a new folder) after `attempt`;
// `ceilings` are the operator's limits, for warnings about the manifest's.
Slot Apply(const Slot* previous, Attempt attempt, spdlog::level::level_enum failure_level,
           const wasm::Limits& ceilings) {
  Slot slot;
  if (previous != nullptr) slot = *previous;
  slot.stamp = attempt.folder.stamp;
  DriverEntry& entry = slot.entry;
  entry.provisioner = attempt.folder.provisioner;
  const auto had = entry.driver;
  if (!attempt.result) {
    if (had) spdlog::info("driver {} removed: no {} in its folder", entry.provisioner, kModuleFile);
    entry.state = DriverState::kSkipped;
    entry.reason = fmt::format("no {} in {}", kModuleFile, attempt.folder.path.string());
    entry.driver = nullptr;
    entry.warnings.clear();
    return slot;
  }
  if (*attempt.result) {
    entry.driver = std::move(*attempt.result).value();
    entry.state = DriverState::kLoaded;
    entry.reason.clear();
    entry.last_load_error.clear();
    entry.last_load_error_at.reset();
    ++entry.versions_loaded;
    const Driver& driver = *entry.driver;
    entry.warnings = driver.manifest() ? driver.manifest()->limits.AboveCeilings(ceilings)
                                       : std::vector<std::string>{};
    for (const std::string& warning : entry.warnings) {
      spdlog::warn("driver {}: {}", entry.provisioner, warning);
    }
    // Driver::Load has logged it.
    if (const std::string& why = driver.preinit().not_preinitialized; !why.empty()) {
      entry.warnings.push_back("not pre-initialized, every call runs the initializer: " + why);
    }
    if (had) {
      spdlog::info("driver {} replaced: sha256 {} -> {}{}", entry.provisioner, ShortDigest(*had),
                   ShortDigest(driver), driver.from_cache() ? " (from the module cache)" : "");
    } else {
      spdlog::info("driver {} loaded: sha256 {}{}", entry.provisioner, ShortDigest(driver),
                   driver.from_cache() ? " (from the module cache)" : "");
    }
    return slot;
  }
  const std::string& error = attempt.result->error().message;
  ++entry.load_failures;
  entry.last_load_error = error;
  entry.last_load_error_at = std::chrono::system_clock::now();
  if (had) {
    spdlog::error("driver {}: the new version did not load; sha256 {} keeps serving: {}",
                  entry.provisioner, ShortDigest(*had), error);
  } else {
    entry.state = DriverState::kFailed;
    entry.reason = error;
    entry.warnings.clear();
    spdlog::log(failure_level, "driver {} failed to load: {}", entry.provisioner, error);
  }
  return slot;
}

}  // namespace

Registry::Registry() : rescan_state_(std::make_unique<registry_internal::RescanState>()) {}

std::unique_ptr<Registry> Registry::Load(std::shared_ptr<wasm::Engine> engine,
                                         const RegistryOptions& options) {
  auto registry = std::unique_ptr<Registry>(new Registry());
  registry->engine_ = std::move(engine);
  registry->options_ = options;
  registry->snapshot_ = std::make_shared<const Snapshot>();
  // At start nothing is being replaced, so there is nothing to wait for.
  WatchOptions at_once;
  at_once.settle_time = std::chrono::milliseconds(0);
  (void)registry->Rescan(at_once);
  return registry;
}

Registry::~Registry() { watcher_.reset(); }

std::optional<std::chrono::milliseconds> Registry::Rescan(const WatchOptions& options) {
  const std::lock_guard rescan_lock(rescan_mutex_);
  const auto failure_level = rescan_state_->first ? spdlog::level::info : spdlog::level::warn;
  rescan_state_->first = false;
  auto scanned = ScanDriversDirectory(options_.directory);
  if (!scanned) {
    // Keep serving what is loaded: an unreadable directory is more likely a
    // passing problem (a volume being remounted) than a wish to remove everything.
    if (directory_error() != scanned.error().message)
      spdlog::log(failure_level, "{}", scanned.error().message);
    Publish(Current(), scanned.error().message);
    return std::nullopt;
  }
  if (options_.only) {
    std::erase_if(*scanned,
                  [&](const ScannedFolder& f) { return f.provisioner != *options_.only; });
  }

  const auto current = Current();
  const auto now = Clock::now();
  std::optional<std::chrono::milliseconds> look_again;
  auto due_in = [&](std::chrono::milliseconds delay) {
    look_again = look_again ? std::min(*look_again, delay) : delay;
  };
  std::vector<ScannedFolder> to_load;
  // Each folder's slot before this scan; kept unless the folder is loaded anew.
  std::vector<const Slot*> previous(scanned->size(), nullptr);
  for (std::size_t i = 0; i < scanned->size(); ++i) {
    const ScannedFolder& folder = (*scanned)[i];
    previous[i] = current->Find(folder.provisioner);
    if (previous[i] != nullptr && previous[i]->stamp == folder.stamp) {
      rescan_state_->pending.erase(folder.provisioner);
      continue;
    }
    // Changed (or new): load it once its files have stopped changing.
    auto [it, inserted] =
        rescan_state_->pending.try_emplace(folder.provisioner, Pending{folder.stamp, now});
    if (!inserted && it->second.stamp != folder.stamp) it->second = Pending{folder.stamp, now};
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second.since);
    if (waited >= options.settle_time) {
      to_load.push_back(folder);
    } else {
      due_in(options.settle_time - waited);  // a new folder appears once it has settled
    }
  }

  std::vector<Attempt> attempts = LoadFolders(engine_, options_, std::move(to_load));
  auto next = std::make_shared<Snapshot>();
  auto attempt = attempts.begin();
  for (std::size_t i = 0; i < scanned->size(); ++i) {
    const ScannedFolder& folder = (*scanned)[i];
    if (attempt != attempts.end() && attempt->folder.provisioner == folder.provisioner) {
      if (attempt->changed_while_loading()) {
        rescan_state_->pending[folder.provisioner] = Pending{attempt->stamp_after, now};
        due_in(std::max(options.settle_time, std::chrono::milliseconds(1)));
        if (previous[i] != nullptr) next->slots.push_back(*previous[i]);
      } else {
        rescan_state_->pending.erase(folder.provisioner);
        next->slots.push_back(
            Apply(previous[i], std::move(*attempt), failure_level, options_.limits));
      }
      ++attempt;
    } else if (previous[i] != nullptr) {
      next->slots.push_back(*previous[i]);
    }
  }
  for (const Slot& slot : current->slots) {
    // `scanned` is sorted by provisioner, like the slots.
    if (!std::binary_search(
            scanned->begin(), scanned->end(), slot.entry.provisioner,
            [](const auto& a, const auto& b) { return ProvisionerOf(a) < ProvisionerOf(b); })) {
      rescan_state_->pending.erase(slot.entry.provisioner);
      spdlog::info("driver {} removed: its folder is gone", slot.entry.provisioner);
    }
  }
  Publish(std::move(next), std::nullopt);
  // Compiling a module leaves tens of MiB of freed memory in the allocator's arenas.
  if (!attempts.empty()) ReleaseFreedMemory();
  return look_again;
}

Status Registry::StartWatching(const WatchOptions& options) {
  if (watcher_) return {};
  auto watcher = DirectoryWatcher::Start(options_.directory, options.rescan_interval,
                                         [this, options] { return Rescan(options); });
  if (!watcher) return watcher.error();
  watcher_ = std::move(watcher).value();
  return {};
}

void Registry::Publish(std::shared_ptr<const Snapshot> snapshot,
                       std::optional<std::string> dir_error) {
  const std::lock_guard lock(mutex_);
  snapshot_ = std::move(snapshot);
  directory_error_ = std::move(dir_error);
}

std::shared_ptr<const Registry::Snapshot> Registry::Current() const {
  const std::lock_guard lock(mutex_);
  return snapshot_;
}

std::optional<std::string> Registry::directory_error() const {
  const std::lock_guard lock(mutex_);
  return directory_error_;
}

std::vector<DriverEntry> Registry::Entries() const {
  const auto snapshot = Current();
  std::vector<DriverEntry> entries;
  entries.reserve(snapshot->slots.size());
  for (const Slot& slot : snapshot->slots) entries.push_back(slot.Export());
  return entries;
}

std::optional<DriverEntry> Registry::Entry(std::string_view provisioner) const {
  const auto snapshot = Current();
  const Slot* slot = snapshot->Find(provisioner);
  return slot != nullptr ? std::optional(slot->Export()) : std::nullopt;
}

std::shared_ptr<const Driver> Registry::Find(std::string_view provisioner) const {
  const auto snapshot = Current();
  const Slot* slot = snapshot->Find(provisioner);
  return slot != nullptr ? slot->entry.driver : nullptr;
}

Outcome Registry::Call(std::string_view provisioner, Function function, const CallInputs& inputs,
                       const CallOptions& options) const {
  const auto snapshot = Current();
  const Slot* slot = snapshot->Find(provisioner);
  if (slot == nullptr || !slot->entry.driver) {
    std::string reason = fmt::format("no driver for {}", provisioner);
    if (slot != nullptr) {
      reason += fmt::format(" ({}: {})", DriverStateName(slot->entry.state), slot->entry.reason);
    }
    return ErrorOutcome(ErrorCause::kNoDriver, std::move(reason));
  }
  Outcome outcome = slot->entry.driver->Call(function, inputs, options);
  slot->counters->calls.fetch_add(1, std::memory_order_relaxed);
  if (outcome.kind == OutcomeKind::kError) {
    slot->counters->failures.fetch_add(1, std::memory_order_relaxed);
  }
  return outcome;
}

}  // namespace discoblocks::drivers
