// Compiled driver modules kept on disk between runs, so that start-up and reloads
// deserialize machine code instead of compiling every driver again.
//
// Deserializing maps the bytes as executable code after only a compatibility
// check, so an entry is trusted only because (1) the directory is private to this
// process's user (Open refuses anything else) and (2) every entry carries a header
// with the module's and the engine's identity and the payload's sha256, all checked
// before Wasmtime sees a byte. Anything unusable is rebuilt from the wasm bytes: the
// cache may make loading faster, never make it fail.
//
// The entries together stay within a size limit: after every entry written (and
// when the cache is opened) the least recently used are removed until the rest
// fit. "Used" means loaded or written by this process, in that order; entries
// this process has not used rank before all it has, oldest modification time
// first, and a hit sets the entry's modification time, so that the order carries
// over to the next process. Removing an entry never disturbs a module loaded from
// it: Wasmtime deserializes from a copy in memory, not from the file. Leftover
// temporary files of writes that never finished are removed after an hour.
//
// Wasmtime's own cache (wasmtime_config_cache_config_load) is not used: it trusts
// whatever it finds in its directory (no ownership or permission check, no
// checksum before the machine code is mapped), reports no hit or miss, and keeps
// its size only as a soft limit, trimmed by a background thread at most once per
// cleanup interval (an hour by default) after a write.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/result.h"
#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/preinit.h"

namespace discoblocks::drivers {

enum class CacheResult {
  kHit,      // a valid entry was deserialized
  kMiss,     // no entry: compiled, entry written
  kRebuilt,  // an entry existed but was unusable: compiled, entry rewritten
};
std::string_view CacheResultName(CacheResult result);  // "hit", "miss", "rebuilt"

// A few drivers, each compiled to a few MiB to tens of MiB, for a few engine
// settings and versions: far below this.
inline constexpr std::uint64_t kDefaultModuleCacheBytes = std::uint64_t{512} << 20;

struct ModuleCacheOptions {
  // The entries' total size (their file sizes) is kept at or below this; an
  // entry larger than the whole limit is not written at all.
  std::uint64_t max_bytes = kDefaultModuleCacheBytes;
};

struct CacheLoad {
  std::shared_ptr<const wasm::Module> module;
  CacheResult result = CacheResult::kMiss;
  bool from_cache = false;  // result == kHit
  // For kRebuilt, why the entry was not used: starts with "corrupt", "different
  // engine settings", "not a regular file", "unreadable" or "does not deserialize".
  std::string reason;
};

class ModuleCache {
 public:
  // Opens (creating it and its missing parents with mode 0700) the cache
  // directory. Refuses a symbolic link, a non-directory, a directory owned by
  // another uid, or one with any group/other permission bit, naming the reason.
  // Removes least recently used entries at once if they are above the limit.
  static Result<std::unique_ptr<ModuleCache>> Open(std::filesystem::path dir,
                                                   const ModuleCacheOptions& options = {});

  ModuleCache(const ModuleCache&) = delete;
  ModuleCache& operator=(const ModuleCache&) = delete;
  ~ModuleCache();

  // Returns the module for `wasm_bytes`, from the cache when a valid entry for this
  // module and engine exists, else compiled (and the entry written; a failed write
  // is logged, not returned). Fails only when the wasm bytes themselves do not
  // compile or link. `wasm_sha256_hex` must be Sha256Hex(wasm_bytes): the caller
  // has it already, and it names the entry. Safe to call from several threads,
  // also for the same module: those calls are serialized, so one compiles and the
  // others hit.
  Result<CacheLoad> LoadOrCompile(std::shared_ptr<wasm::Engine> engine, std::string_view wasm_bytes,
                                  std::string_view wasm_sha256_hex);

  // Makes a module's pre-initialized snapshot (wasm::PreInitialize) on a miss.
  using Preinitializer = std::function<Result<wasm::Preinitialized, wasm::PreinitError>()>;

  // Like LoadOrCompile, for the pre-initialized snapshot of the module whose
  // wasm has `wasm_sha256_hex`: an entry of its own, whose header also keeps
  // the extras the snapshot needs (its monotonic clock base). On a miss,
  // `preinitialize` makes it; its refusal is returned as it is and nothing is
  // written, so a module that cannot be snapshotted is tried again at its next
  // load (refusals are quick: the module's layout, or its initializer failing).
  Result<CacheLoad, wasm::PreinitError> LoadOrPreinitialize(std::shared_ptr<wasm::Engine> engine,
                                                            std::string_view wasm_sha256_hex,
                                                            const Preinitializer& preinitialize);

  // Which entry: the module compiled from the wasm, or its snapshot. Defined
  // and used in module_cache.cc only.
  struct EntryIdentity;

  [[nodiscard]] const std::filesystem::path& directory() const { return dir_; }
  // Where the entry for this module and engine lives (it may not exist).
  [[nodiscard]] std::filesystem::path EntryPath(const wasm::Engine& engine,
                                                std::string_view wasm_sha256_hex) const;
  // Where the entry for its pre-initialized snapshot lives (it may not exist).
  [[nodiscard]] std::filesystem::path SnapshotEntryPath(const wasm::Engine& engine,
                                                        std::string_view wasm_sha256_hex) const;

  // Counts of LoadOrCompile and LoadOrPreinitialize calls by CacheResult, e.g.
  // for metrics (a refused snapshot counts as a miss).
  [[nodiscard]] std::uint64_t hits() const { return hits_.load(); }
  [[nodiscard]] std::uint64_t misses() const { return misses_.load(); }
  [[nodiscard]] std::uint64_t rebuilt() const { return rebuilt_.load(); }
  // Entries removed to stay within the limit, and the entries' total size as of
  // the latest check (after Open and after every write).
  [[nodiscard]] std::uint64_t evictions() const { return evictions_.load(); }
  [[nodiscard]] std::uint64_t stored_bytes() const { return stored_bytes_.load(); }
  [[nodiscard]] std::uint64_t max_bytes() const { return options_.max_bytes; }

 private:
  ModuleCache(std::filesystem::path dir, int dir_fd, ModuleCacheOptions options);
  std::shared_ptr<std::mutex> LockFor(const std::string& entry_name);
  // The entry `name` deserialized when it is valid for `identity` (a hit,
  // counted; a snapshot's extras read into `identity`). Otherwise a load with no
  // module, and result kMiss (no entry) or kRebuilt (why not in `reason`, logged).
  CacheLoad Lookup(const std::shared_ptr<wasm::Engine>& engine, const std::string& name,
                   EntryIdentity& identity);
  // Writes `module` into entry `name` and keeps within the limit; a failure is
  // logged, not returned.
  void Store(const std::string& name, const EntryIdentity& identity, const wasm::Module& module);
  Status WriteEntry(const std::string& entry_name, const std::string& contents);
  void MarkUsed(const std::string& entry_name);
  // Removes least recently used entries until the rest fit within the limit.
  void Evict();

  std::filesystem::path dir_;
  ModuleCacheOptions options_;
  // Every file operation goes through this descriptor (openat, renameat), so the
  // directory checked by Open is the one used, even if the path is swapped later.
  int dir_fd_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> rebuilt_{0};
  std::atomic<std::uint64_t> temp_counter_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> stored_bytes_{0};
  // When this process last used each entry, on a counter (file times are too
  // coarse to order loads a few microseconds apart). Guarded by usage_mutex_,
  // which Evict holds throughout, so that one eviction runs at a time.
  std::mutex usage_mutex_;
  std::uint64_t use_counter_ = 0;
  std::unordered_map<std::string, std::uint64_t> last_used_;
  // One mutex per entry name, so concurrent loads of one module compile it once.
  // Kept when an entry is evicted: one per module version and engine seen, tiny.
  std::mutex locks_mutex_;
  std::unordered_map<std::string, std::shared_ptr<std::mutex>> locks_;
};

}  // namespace discoblocks::drivers
