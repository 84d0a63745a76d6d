// The module cache stays within its size limit by removing the least recently
// used entries, and a module loaded from an entry outlives the entry.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/contract.h"
#include "drivers/interpret.h"
#include "drivers/module_cache.h"
#include "support/test_support.h"
#include "util/sha256.h"

namespace discoblocks::drivers {
namespace {

namespace fs = std::filesystem;
using testing::SharedEngine;
using testing::TempDir;

struct Wasm {
  std::string name;
  std::string bytes;
  std::string sha;
};

Wasm Hostile(const std::string& name) {
  std::string bytes = testing::ReadBytes(testing::HostileDir() / (name + ".wasm"));
  std::string sha = Sha256Hex(bytes);
  return {name, std::move(bytes), std::move(sha)};
}

// Three small modules, and the C driver (which can be called, to see it work).
const Wasm& A() {
  static const Wasm wasm = Hostile("trap");
  return wasm;
}
const Wasm& B() {
  static const Wasm wasm = Hostile("nonzero_exit");
  return wasm;
}
const Wasm& C() {
  static const Wasm wasm = Hostile("missing_export");
  return wasm;
}
const Wasm& Gke() {
  static const Wasm wasm = [] {
    std::string bytes =
        testing::ReadBytes(testing::DriversDir() / "pd.csi.storage.gke.io" / "main.wasm");
    std::string sha = Sha256Hex(bytes);
    return Wasm{"gke", std::move(bytes), std::move(sha)};
  }();
  return wasm;
}

std::unique_ptr<ModuleCache> OpenCache(const fs::path& dir, std::uint64_t max_bytes) {
  auto cache = ModuleCache::Open(dir, {max_bytes});
  EXPECT_TRUE(cache) << cache.error().message;
  return cache ? std::move(cache).value() : nullptr;
}

CacheLoad Load(ModuleCache& cache, const Wasm& wasm) {
  auto load = cache.LoadOrCompile(SharedEngine(), wasm.bytes, wasm.sha);
  EXPECT_TRUE(load) << wasm.name << ": " << load.error().message;
  return load ? std::move(load).value() : CacheLoad{};
}

bool Cached(const ModuleCache& cache, const Wasm& wasm) {
  return fs::exists(cache.EntryPath(*SharedEngine(), wasm.sha));
}

std::uint64_t EntrySize(const Wasm& wasm) {
  static const TempDir sizes;
  auto cache = OpenCache(sizes.path(), kDefaultModuleCacheBytes);
  Load(*cache, wasm);
  return fs::file_size(cache->EntryPath(*SharedEngine(), wasm.sha));
}

std::uint64_t TotalSize(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& entry : fs::directory_iterator(dir)) total += entry.file_size();
  return total;
}

// Room for any two of A, B and C, never for all three.
std::uint64_t RoomForTwo() { return EntrySize(A()) + EntrySize(B()) + EntrySize(C()) - 1; }

TEST(ModuleCacheEvictionTest, RemovesTheLeastRecentlyUsedEntryFirst) {
  const TempDir tmp;
  auto cache = OpenCache(tmp.path(), RoomForTwo());
  EXPECT_EQ(Load(*cache, A()).result, CacheResult::kMiss);
  EXPECT_EQ(Load(*cache, B()).result, CacheResult::kMiss);
  EXPECT_EQ(Load(*cache, A()).result, CacheResult::kHit);  // A is now used after B
  EXPECT_EQ(Load(*cache, C()).result, CacheResult::kMiss);
  EXPECT_TRUE(Cached(*cache, A()));
  EXPECT_FALSE(Cached(*cache, B()));
  EXPECT_TRUE(Cached(*cache, C()));
  EXPECT_EQ(cache->evictions(), 1U);
  EXPECT_LE(TotalSize(tmp.path()), cache->max_bytes());
  EXPECT_EQ(cache->stored_bytes(), TotalSize(tmp.path()));

  // Now A was used before C: B coming back pushes A out.
  EXPECT_EQ(Load(*cache, B()).result, CacheResult::kMiss);
  EXPECT_FALSE(Cached(*cache, A()));
  EXPECT_TRUE(Cached(*cache, B()));
  EXPECT_TRUE(Cached(*cache, C()));
  EXPECT_EQ(cache->evictions(), 2U);
  EXPECT_LE(TotalSize(tmp.path()), cache->max_bytes());
}

// A new process knows nothing of the last one's loads but the entries'
// modification times, which hits refresh.
TEST(ModuleCacheEvictionTest, ANewCacheGoesByModificationTimeAndTrimsAtOpen) {
  const TempDir tmp;
  {
    auto unlimited = OpenCache(tmp.path(), kDefaultModuleCacheBytes);
    for (const Wasm* wasm : {&A(), &B(), &C()}) Load(*unlimited, *wasm);
    // Written long ago, in the order B, C, A.
    const auto set_time = [&](const Wasm& wasm, std::time_t seconds) {
      const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
      ASSERT_EQ(
          ::utimensat(AT_FDCWD, unlimited->EntryPath(*SharedEngine(), wasm.sha).c_str(), times, 0),
          0);
    };
    set_time(B(), 1'000'000);
    set_time(C(), 2'000'000);
    set_time(A(), 3'000'000);
  }
  {
    // A hit makes B the most recent on disk, for whoever comes next.
    auto unlimited = OpenCache(tmp.path(), kDefaultModuleCacheBytes);
    EXPECT_EQ(Load(*unlimited, B()).result, CacheResult::kHit);
  }
  // Opening with a lower limit trims at once: C is now the oldest.
  auto limited = OpenCache(tmp.path(), RoomForTwo());
  EXPECT_EQ(limited->evictions(), 1U);
  EXPECT_TRUE(Cached(*limited, A()));
  EXPECT_TRUE(Cached(*limited, B()));
  EXPECT_FALSE(Cached(*limited, C()));
  EXPECT_LE(TotalSize(tmp.path()), limited->max_bytes());
}

TEST(ModuleCacheEvictionTest, AnEntryLargerThanTheWholeLimitIsNotWritten) {
  const TempDir tmp;
  auto cache = OpenCache(tmp.path(), EntrySize(A()) - 1);
  const CacheLoad load = Load(*cache, A());
  EXPECT_EQ(load.result, CacheResult::kMiss);
  ASSERT_NE(load.module, nullptr);  // compiled all the same
  EXPECT_FALSE(Cached(*cache, A()));
  EXPECT_EQ(TotalSize(tmp.path()), 0U);
  EXPECT_EQ(cache->evictions(), 0U);
}

// Wasmtime deserializes from a copy in memory: removing the file leaves the
// module, and every call into it, as it was.
TEST(ModuleCacheEvictionTest, AModuleInUseOutlivesItsEvictedEntry) {
  const TempDir tmp;
  {
    auto writer = OpenCache(tmp.path(), kDefaultModuleCacheBytes);
    Load(*writer, Gke());
  }
  auto cache = OpenCache(tmp.path(), EntrySize(Gke()) + EntrySize(A()) - 1);
  const CacheLoad in_use = Load(*cache, Gke());
  ASSERT_EQ(in_use.result, CacheResult::kHit);
  EXPECT_EQ(Load(*cache, A()).result, CacheResult::kMiss);  // evicts the driver's entry
  ASSERT_FALSE(Cached(*cache, Gke()));

  CallInputs inputs;
  inputs.storage_class = testing::Fixture("storageclasses/gke-pd-balanced.yaml");
  auto env = BuildEnvironment(Function::kIsStorageClassValid, inputs);
  ASSERT_TRUE(env) << env.error().message;
  wasm::RunRequest request;
  request.program_name = "pd.csi.storage.gke.io";
  request.env = std::move(env).value();
  request.export_name = "IsStorageClassValid";
  for (int call = 0; call < 3; ++call) {
    const Outcome outcome =
        Interpret("pd.csi.storage.gke.io", SpecOf(Function::kIsStorageClassValid),
                  in_use.module->Run(request));
    EXPECT_EQ(outcome.kind, OutcomeKind::kValid) << outcome.reason;
  }
  // And it comes back as an ordinary miss.
  EXPECT_EQ(Load(*cache, Gke()).result, CacheResult::kMiss);
}

TEST(ModuleCacheEvictionTest, StaleTemporaryFilesAreRemovedFreshOnesKept) {
  const TempDir tmp;
  const fs::path stale = tmp.path() / ".x.cwasm.1.0.tmp";
  const fs::path fresh = tmp.path() / ".y.cwasm.2.0.tmp";
  std::ofstream(stale) << "half an entry";
  std::ofstream(fresh) << "being written";
  const struct timespec long_ago[2] = {{1'000'000, 0}, {1'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, stale.c_str(), long_ago, 0), 0);
  auto cache = OpenCache(tmp.path(), kDefaultModuleCacheBytes);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

}  // namespace
}  // namespace discoblocks::drivers
