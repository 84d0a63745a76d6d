// The module cache serves valid entries, rebuilds anything else, and only opens a
// directory private to this user.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
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

constexpr std::string_view kProvisioner = "pd.csi.storage.gke.io";  // C: quick to compile

const std::string& WasmBytes() {
  static const std::string bytes =
      testing::ReadBytes(testing::DriversDir() / kProvisioner / "main.wasm");
  return bytes;
}
const std::string& WasmSha() {
  static const std::string sha = Sha256Hex(WasmBytes());
  return sha;
}

std::shared_ptr<wasm::Engine> OtherEngine() {
  wasm::EngineOptions options;
  options.max_stack_bytes = std::size_t{1} << 20;
  auto engine = wasm::Engine::Create(options);
  EXPECT_TRUE(engine) << engine.error().message;
  return std::move(engine).value();
}

std::unique_ptr<ModuleCache> OpenCache(const fs::path& dir) {
  auto cache = ModuleCache::Open(dir);
  EXPECT_TRUE(cache) << cache.error().message;
  return cache ? std::move(cache).value() : nullptr;
}

CacheLoad Load(ModuleCache& cache, std::shared_ptr<wasm::Engine> engine = SharedEngine()) {
  auto load = cache.LoadOrCompile(std::move(engine), WasmBytes(), WasmSha());
  EXPECT_TRUE(load) << load.error().message;
  return load ? std::move(load).value() : CacheLoad{};
}

// The loaded module still does its job: a valid StorageClass is valid.
void ExpectWorks(const std::shared_ptr<const wasm::Module>& module) {
  ASSERT_NE(module, nullptr);
  ASSERT_TRUE(module->Exports("IsStorageClassValid"));
  CallInputs inputs;
  inputs.storage_class = testing::Fixture("storageclasses/gke-pd-balanced.yaml");
  auto env = BuildEnvironment(Function::kIsStorageClassValid, inputs);
  ASSERT_TRUE(env) << env.error().message;
  wasm::RunRequest request;
  request.program_name = std::string(kProvisioner);
  request.env = std::move(env).value();
  request.export_name = "IsStorageClassValid";
  const Outcome outcome =
      Interpret(kProvisioner, SpecOf(Function::kIsStorageClassValid), module->Run(request));
  EXPECT_EQ(outcome.kind, OutcomeKind::kValid) << outcome.reason;
}

std::vector<std::string> Files(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Fills the cache with a good entry and returns its path.
fs::path Prime(const fs::path& dir, std::shared_ptr<wasm::Engine> engine = SharedEngine()) {
  auto cache = OpenCache(dir);
  EXPECT_EQ(Load(*cache, engine).result, CacheResult::kMiss);
  return cache->EntryPath(*engine, WasmSha());
}

// A fresh cache on `dir` expects the entry to be rebuilt for `reason`, and then
// to be good again.
void ExpectRebuilt(const fs::path& dir, std::string_view reason) {
  auto cache = OpenCache(dir);
  const CacheLoad load = Load(*cache);
  EXPECT_EQ(load.result, CacheResult::kRebuilt);
  EXPECT_FALSE(load.from_cache);
  EXPECT_NE(load.reason.find(reason), std::string::npos) << load.reason;
  EXPECT_EQ(cache->rebuilt(), 1U);
  EXPECT_EQ(cache->hits(), 0U);
  ExpectWorks(load.module);
  EXPECT_EQ(Load(*cache).result, CacheResult::kHit);  // rewritten
}

TEST(ModuleCacheTest, MissWritesOneEntryAndANewCacheThenHits) {
  const TempDir tmp;
  const fs::path dir = tmp.path() / "cache";
  auto first = OpenCache(dir);
  const CacheLoad miss = Load(*first);
  EXPECT_EQ(miss.result, CacheResult::kMiss);
  EXPECT_FALSE(miss.module->info().from_cache);
  EXPECT_EQ(first->misses(), 1U);
  ExpectWorks(miss.module);
  const fs::path entry = first->EntryPath(*SharedEngine(), WasmSha());
  EXPECT_EQ(Files(dir), std::vector<std::string>{entry.filename().string()});  // no temp left
  EXPECT_EQ(entry.extension(), ".cwasm");
  EXPECT_EQ(fs::status(entry).permissions(), fs::perms::owner_read | fs::perms::owner_write);

  auto second = OpenCache(dir);
  const CacheLoad hit = Load(*second);
  EXPECT_EQ(hit.result, CacheResult::kHit);
  EXPECT_TRUE(hit.from_cache);
  EXPECT_TRUE(hit.module->info().from_cache);  // deserialized, not compiled
  EXPECT_EQ(second->hits(), 1U);
  EXPECT_EQ(second->misses(), 0U);
  EXPECT_EQ(hit.module->info().exports.size(), miss.module->info().exports.size());
  ExpectWorks(hit.module);
}

TEST(ModuleCacheTest, FlippedPayloadBytesAreRebuilt) {
  const TempDir tmp;
  const fs::path entry = Prime(tmp.path());
  std::string bytes = testing::ReadBytes(entry);
  for (std::size_t i = bytes.size() - 64; i < bytes.size() - 32; ++i) bytes[i] ^= 0x5a;
  WriteFile(entry, bytes);
  ExpectRebuilt(tmp.path(), "corrupt: payload does not match its sha256");
}

TEST(ModuleCacheTest, TruncatedEntriesAreRebuilt) {
  const TempDir tmp;
  const fs::path entry = Prime(tmp.path());
  const std::string bytes = testing::ReadBytes(entry);
  WriteFile(entry, bytes.substr(0, bytes.size() / 2));
  ExpectRebuilt(tmp.path(), "corrupt: payload is");
  WriteFile(entry, bytes.substr(0, 40));  // inside the header
  ExpectRebuilt(tmp.path(), "corrupt: malformed header");
  WriteFile(entry, "");
  ExpectRebuilt(tmp.path(), "corrupt: not a module cache entry");
}

TEST(ModuleCacheTest, AnotherEngineConfigurationUsesItsOwnEntry) {
  const TempDir tmp;
  const auto other = OtherEngine();
  ASSERT_NE(other->Fingerprint(), SharedEngine()->Fingerprint());
  EXPECT_NE(other->Fingerprint().find("max_stack=1048576"), std::string::npos)
      << other->Fingerprint();
  auto cache = OpenCache(tmp.path());
  EXPECT_EQ(Load(*cache).result, CacheResult::kMiss);
  const CacheLoad load = Load(*cache, other);
  EXPECT_EQ(load.result, CacheResult::kMiss);  // the first engine's entry is not offered
  ExpectWorks(load.module);
  EXPECT_NE(cache->EntryPath(*other, WasmSha()), cache->EntryPath(*SharedEngine(), WasmSha()));
  EXPECT_EQ(Files(tmp.path()).size(), 2U);
  EXPECT_EQ(Load(*cache).result, CacheResult::kHit);
  EXPECT_EQ(Load(*cache, other).result, CacheResult::kHit);
}

TEST(ModuleCacheTest, EntryRecordingAnotherFingerprintIsRebuilt) {
  const TempDir tmp;
  const fs::path other_entry = Prime(tmp.path(), OtherEngine());
  // The other engine's entry, placed under the name this engine looks up.
  fs::copy_file(other_entry, OpenCache(tmp.path())->EntryPath(*SharedEngine(), WasmSha()));
  ExpectRebuilt(tmp.path(), "different engine settings");
}

TEST(ModuleCacheTest, ChecksummedGarbageIsRebuiltNotRun) {
  const TempDir tmp;
  auto cache = OpenCache(tmp.path());
  const std::string garbage =
      "\x7f"
      "ELF not really a compiled module at all";
  const std::string header = fmt::format(
      "DISCOBLOCKS-MODULE-CACHE v1\nwasm-sha256 {}\nengine {}\npayload-length {}\n"
      "payload-sha256 {}\n\n",
      WasmSha(), SharedEngine()->Fingerprint(), garbage.size(), Sha256Hex(garbage));
  WriteFile(cache->EntryPath(*SharedEngine(), WasmSha()), header + garbage);
  ExpectRebuilt(tmp.path(), "cached module does not deserialize");
}

TEST(ModuleCacheTest, UnwritableEntryStillReturnsTheCompiledModule) {
  const TempDir tmp;
  auto cache = OpenCache(tmp.path());
  const fs::path entry = cache->EntryPath(*SharedEngine(), WasmSha());
  fs::create_directories(entry / "x");  // rename cannot replace a non-empty directory
  const CacheLoad load = Load(*cache);
  EXPECT_EQ(load.result, CacheResult::kRebuilt);
  EXPECT_EQ(load.reason, "not a regular file");
  ExpectWorks(load.module);
  EXPECT_EQ(Files(tmp.path()), std::vector<std::string>{entry.filename().string()});
}

TEST(ModuleCacheTest, ConcurrentLoadsOfOneModuleCompileItOnce) {
  const TempDir tmp;
  auto cache = OpenCache(tmp.path());
  constexpr int kThreads = 4;
  std::vector<CacheLoad> loads(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; ++i) threads.emplace_back([&, i] { loads[i] = Load(*cache); });
  }
  EXPECT_EQ(cache->misses(), 1U);
  EXPECT_EQ(cache->hits(), static_cast<std::uint64_t>(kThreads - 1));
  for (const CacheLoad& load : loads) ExpectWorks(load.module);
}

TEST(ModuleCacheTest, RejectsABadDigestArgument) {
  const TempDir tmp;
  auto cache = OpenCache(tmp.path());
  auto load = cache->LoadOrCompile(SharedEngine(), WasmBytes(), "../../etc/passwd");
  ASSERT_FALSE(load);
  EXPECT_NE(load.error().message.find("not a lowercase hex sha256"), std::string::npos);
}

TEST(ModuleCacheTest, OpenCreatesMissingDirectoriesPrivate) {
  const TempDir tmp;
  const fs::path dir = tmp.path() / "a" / "b" / "cache";
  ASSERT_NE(OpenCache(dir), nullptr);
  for (const fs::path& created : {tmp.path() / "a", tmp.path() / "a" / "b", dir}) {
    EXPECT_EQ(fs::status(created).permissions(), fs::perms::owner_all) << created;
  }
}

void ExpectRefused(const fs::path& dir, std::string_view reason) {
  auto cache = ModuleCache::Open(dir);
  ASSERT_FALSE(cache) << dir;
  EXPECT_NE(cache.error().message.find(fmt::format("module cache {}: refused: ", dir.string())),
            std::string::npos)
      << cache.error().message;
  EXPECT_NE(cache.error().message.find(reason), std::string::npos) << cache.error().message;
}

TEST(ModuleCacheTest, OpenRefusesADirectoryOthersCanRead) {
  const TempDir tmp;
  const fs::path dir = tmp.path() / "shared";
  fs::create_directory(dir);
  fs::permissions(dir, static_cast<fs::perms>(0755));
  ExpectRefused(dir, "mode 0755 gives group or others access");
  fs::permissions(dir, static_cast<fs::perms>(0710));
  ExpectRefused(dir, "mode 0710");
}

TEST(ModuleCacheTest, OpenRefusesASymbolicLink) {
  const TempDir tmp;
  fs::create_directory(tmp.path() / "real");
  fs::permissions(tmp.path() / "real", fs::perms::owner_all);
  fs::create_directory_symlink(tmp.path() / "real", tmp.path() / "link");
  ExpectRefused(tmp.path() / "link", "is a symbolic link");
  // A trailing slash would make the system follow the link; it is still refused.
  auto slash = ModuleCache::Open(tmp.path().string() + "/link/");
  ASSERT_FALSE(slash);
  EXPECT_NE(slash.error().message.find("symbolic link"), std::string::npos);
}

TEST(ModuleCacheTest, OpenRefusesADirectoryOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  const TempDir tmp;
  const fs::path dir = tmp.path() / "theirs";
  fs::create_directory(dir);
  fs::permissions(dir, fs::perms::owner_all);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  ExpectRefused(dir, "owned by uid 65534, not by this process's uid 0");
}

}  // namespace
}  // namespace discoblocks::drivers
