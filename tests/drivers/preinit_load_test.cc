// Drivers loaded pre-initialized (LoadOptions::preinitialize): a v2 driver's
// calls start from the snapshot its initializer left, which the module cache
// keeps between runs with the clock base it needs; a driver that cannot be
// snapshotted, or a v1 driver, loads and answers as it always did.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "drivers/driver.h"
#include "drivers/module_cache.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::DriversDir;
using testing::Fixture;
using testing::SharedEngine;
using testing::TempDir;

constexpr const char* kPd = "pd.csi.storage.gke.io";

LoadOptions Preinitializing(ModuleCache* cache = nullptr) {
  LoadOptions options;
  options.preinitialize = true;
  options.module_cache = cache;
  return options;
}

std::shared_ptr<const Driver> MustLoad(const std::filesystem::path& root,
                                       const std::string& provisioner, const LoadOptions& options) {
  auto driver = Driver::Load(SharedEngine(), provisioner, root / provisioner, options);
  EXPECT_TRUE(driver.ok()) << (driver.ok() ? "" : driver.error().message);
  return driver.ok() ? driver.value() : nullptr;
}

Outcome ValidateStorageClass(const Driver& driver) {
  CallInputs inputs;
  inputs.storage_class = Fixture("storageclasses/gke-pd-balanced.yaml");
  return driver.Call(Function::kIsStorageClassValid, inputs);
}

TEST(PreinitLoadTest, AV2DriverIsServedFromItsSnapshotAndAV1DriverAsItIs) {
  const auto snapshot = MustLoad(DriversDir(), kPd, Preinitializing());
  ASSERT_NE(snapshot, nullptr);
  EXPECT_TRUE(snapshot->preinit().preinitialized);
  EXPECT_EQ(snapshot->preinit().not_preinitialized, "");
  EXPECT_TRUE(snapshot->module_info().preinitialized);
  EXPECT_EQ(snapshot->module_info().initializer, wasm::InitializerKind::kNone);
  EXPECT_EQ(snapshot->abi(), Abi::kV2);
  // Asked twice, the same answer: each call starts from the snapshot, not from
  // what the call before it left.
  for (int i = 0; i < 2; ++i) {
    const Outcome outcome = ValidateStorageClass(*snapshot);
    EXPECT_EQ(OutcomeName(outcome.kind), "valid") << outcome.reason;
  }

  const auto v1 = MustLoad(DriversDir().parent_path() / "drivers-v1", kPd, Preinitializing());
  ASSERT_NE(v1, nullptr);
  EXPECT_EQ(v1->abi(), Abi::kV1);
  EXPECT_FALSE(v1->preinit().preinitialized);
  EXPECT_EQ(v1->preinit().not_preinitialized, "");  // not asked of a v1 driver
  EXPECT_FALSE(v1->module_info().preinitialized);

  const auto plain = MustLoad(DriversDir(), kPd, LoadOptions{});
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->preinit().preinitialized);
  EXPECT_FALSE(plain->module_info().preinitialized);
}

TEST(PreinitLoadTest, TheSnapshotIsKeptInTheModuleCacheWithItsClockBase) {
  const TempDir dir;
  auto cache = ModuleCache::Open(dir.path() / "cache");
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  const auto made = MustLoad(DriversDir(), kPd, Preinitializing(cache->get()));
  ASSERT_NE(made, nullptr);
  EXPECT_TRUE(made->preinit().preinitialized);
  EXPECT_FALSE(made->from_cache());
  EXPECT_EQ((*cache)->misses(), 1U);
  const auto entry = (*cache)->SnapshotEntryPath(*SharedEngine(), made->sha256());
  ASSERT_TRUE(std::filesystem::exists(entry));
  // Only the snapshot was stored: the original was never compiled.
  EXPECT_FALSE(std::filesystem::exists((*cache)->EntryPath(*SharedEngine(), made->sha256())));

  const auto taken = MustLoad(DriversDir(), kPd, Preinitializing(cache->get()));
  ASSERT_NE(taken, nullptr);
  EXPECT_TRUE(taken->from_cache());
  EXPECT_TRUE(taken->preinit().preinitialized);
  EXPECT_TRUE(taken->module_info().preinitialized);
  EXPECT_EQ((*cache)->hits(), 1U);
  EXPECT_EQ(taken->module_info().monotonic_base_ns, made->module_info().monotonic_base_ns);
  EXPECT_EQ(OutcomeName(ValidateStorageClass(*taken).kind), "valid");

  // A damaged entry is made again, never used.
  std::string bytes = testing::ReadBytes(entry);
  bytes[bytes.size() - 100] = static_cast<char>(bytes[bytes.size() - 100] ^ 0x5a);
  {
    std::ofstream out(entry, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  const auto rebuilt = MustLoad(DriversDir(), kPd, Preinitializing(cache->get()));
  ASSERT_NE(rebuilt, nullptr);
  EXPECT_FALSE(rebuilt->from_cache());
  EXPECT_TRUE(rebuilt->preinit().preinitialized);
  EXPECT_EQ((*cache)->rebuilt(), 1U);
  EXPECT_EQ(OutcomeName(ValidateStorageClass(*rebuilt).kind), "valid");

  // The plain entry and the snapshot's are apart: loading without a snapshot
  // compiles the module and stores it under its own name.
  LoadOptions compiling;
  compiling.module_cache = cache->get();
  const auto plain = MustLoad(DriversDir(), kPd, compiling);
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->from_cache());
  EXPECT_FALSE(plain->module_info().preinitialized);
  EXPECT_TRUE(std::filesystem::exists((*cache)->EntryPath(*SharedEngine(), made->sha256())));
}

TEST(PreinitLoadTest, ADriverWhoseInitializerFailsLoadsAndFailsItsCallsAsBefore) {
  const TempDir dir;
  dir.CopyDriver("trap.example.com", testing::HostileDir() / "v2_init_trap.wasm");
  const auto preinit = MustLoad(dir.path(), "trap.example.com", Preinitializing());
  const auto plain = MustLoad(dir.path(), "trap.example.com", LoadOptions{});
  ASSERT_NE(preinit, nullptr);
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(preinit->preinit().preinitialized);
  EXPECT_TRUE(preinit->preinit().not_preinitialized.starts_with("initializer-failed: "))
      << preinit->preinit().not_preinitialized;
  EXPECT_EQ(preinit->abi(), Abi::kV2);
  const Outcome a = preinit->Call(Function::kIsStorageClassValid, {});
  const Outcome b = plain->Call(Function::kIsStorageClassValid, {});
  EXPECT_EQ(a.kind, OutcomeKind::kError);
  EXPECT_EQ(OutcomeName(a.kind), OutcomeName(b.kind));
  EXPECT_EQ(a.reason, b.reason);
}

}  // namespace
}  // namespace discoblocks::drivers
