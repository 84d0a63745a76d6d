// driver.yaml: what it pins, what limits it sets, and what it refuses.
#include <fstream>

#include <gtest/gtest.h>

#include "drivers/manifest.h"
#include "drivers/registry.h"
#include "support/test_support.h"
#include "util/sha256.h"

namespace discoblocks::drivers {
namespace {

using namespace std::chrono_literals;
using testing::DriversDir;
using testing::HostileDir;
using testing::SharedEngine;
using testing::TempDir;

std::filesystem::path GkeModule() { return DriversDir() / "pd.csi.storage.gke.io" / "main.wasm"; }

void WriteManifest(const TempDir& dir, const std::string& provisioner, const std::string& text) {
  std::ofstream(dir.path() / provisioner / "driver.yaml") << text;
}

std::unique_ptr<Registry> LoadFrom(const TempDir& dir, bool require_digest = false) {
  RegistryOptions options;
  options.directory = dir.path();
  options.require_digest = require_digest;
  return Registry::Load(SharedEngine(), options);
}

TEST(ManifestTest, ParsesEveryField) {
  const auto manifest = ParseManifest(R"(
description: Validates GKE persistent disk StorageClasses
sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
limits:
  time: 1500ms
  memory: 64Mi
  stdout: 512Ki
  stderr: 4096
)",
                                      "driver.yaml");
  ASSERT_TRUE(manifest) << manifest.error().message;
  EXPECT_EQ(manifest->description, "Validates GKE persistent disk StorageClasses");
  EXPECT_EQ(manifest->sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  const wasm::Limits limits = manifest->limits.ApplyTo({});
  EXPECT_EQ(limits.time, 1500ms);
  EXPECT_EQ(limits.memory_bytes, 64U << 20);
  EXPECT_EQ(limits.stdout_bytes, 512U << 10);
  EXPECT_EQ(limits.stderr_bytes, 4096U);
}

TEST(ManifestTest, UnsetLimitsKeepTheDefaults) {
  const auto manifest = ParseManifest("limits:\n  time: 5s\n", "driver.yaml");
  ASSERT_TRUE(manifest) << manifest.error().message;
  const wasm::Limits defaults;
  const wasm::Limits limits = manifest->limits.ApplyTo(defaults);
  EXPECT_EQ(limits.time, 5s);
  EXPECT_EQ(limits.memory_bytes, defaults.memory_bytes);
  EXPECT_FALSE(manifest->sha256.has_value());
}

struct BadManifest {
  std::string text;
  std::string message;
};

class ManifestRejectsTest : public ::testing::TestWithParam<BadManifest> {};

TEST_P(ManifestRejectsTest, SayingWhatIsWrong) {
  const auto manifest = ParseManifest(GetParam().text, "x/driver.yaml");
  ASSERT_FALSE(manifest);
  EXPECT_NE(manifest.error().message.find(GetParam().message), std::string::npos)
      << manifest.error().message;
  EXPECT_NE(manifest.error().message.find("x/driver.yaml"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Manifest, ManifestRejectsTest,
    ::testing::Values(BadManifest{"sha256: abc\n", "sha256 must be 64 hexadecimal digits"},
                      BadManifest{"sha265: abc\n", "unknown key sha265"},
                      BadManifest{"limits:\n  timeout: 2s\n", "unknown key limits.timeout"},
                      BadManifest{"limits:\n  time: soon\n", "limits.time"},
                      BadManifest{"limits:\n  time: 0s\n", "limits.time must be above 0"},
                      BadManifest{"limits:\n  memory: 64MB\n",
                                  "limits.memory: invalid size \"64MB\""},
                      BadManifest{"limits: 5\n", "limits must be a mapping"},
                      BadManifest{"- a\n- b\n", "not a mapping"},
                      BadManifest{"description: [1]\n", "description must be a string"},
                      BadManifest{"limits: {memory: 0}\n", "limits.memory must be above 0"}),
    [](const auto& param) { return std::to_string(param.index); });

TEST(ManifestTest, DeeplyNestedManifestIsRefusedNamingTheLimit) {
  constexpr std::size_t kDeep = 200'000;
  const std::string text =
      "limits:\n  time: " + std::string(kDeep, '[') + std::string(kDeep, ']') + "\n";
  const auto manifest = ParseManifest(text, "x/driver.yaml");
  ASSERT_FALSE(manifest);
  EXPECT_EQ(manifest.error().message, "x/driver.yaml: nested deeper than the limit of 100 levels");
}

TEST(ManifestTest, ADigestThatDoesNotMatchIsRefusedWithBothDigests) {
  TempDir dir;
  dir.CopyDriver("gke", GkeModule());
  const std::string wrong(64, 'a');
  WriteManifest(dir, "gke", "sha256: " + wrong + "\n");
  const auto entry = LoadFrom(dir)->Entry("gke");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->state, DriverState::kFailed);
  const std::string actual = Sha256Hex(testing::ReadBytes(GkeModule()));
  EXPECT_NE(entry->reason.find(actual), std::string::npos) << entry->reason;
  EXPECT_NE(entry->reason.find(wrong), std::string::npos) << entry->reason;
}

TEST(ManifestTest, AMatchingDigestLoadsAndIsReported) {
  TempDir dir;
  dir.CopyDriver("gke", GkeModule());
  WriteManifest(
      dir, "gke",
      "description: pinned\nsha256: " + Sha256Hex(testing::ReadBytes(GkeModule())) + "\n");
  const auto entry = LoadFrom(dir, /*require_digest=*/true)->Entry("gke");
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->state, DriverState::kLoaded) << entry->reason;
  EXPECT_EQ(entry->driver->manifest()->description, "pinned");
}

TEST(ManifestTest, RequiredDigestsRefuseADriverWithoutManifestOrWithoutDigest) {
  TempDir dir;
  dir.CopyDriver("bare", GkeModule());
  dir.CopyDriver("unpinned", GkeModule());
  WriteManifest(dir, "unpinned", "description: no digest here\n");
  auto registry = LoadFrom(dir, /*require_digest=*/true);
  for (const char* name : {"bare", "unpinned"}) {
    const auto entry = registry->Entry(name);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->state, DriverState::kFailed) << name;
    EXPECT_NE(entry->reason.find("digests are required"), std::string::npos) << entry->reason;
  }
  // Without the requirement both load.
  EXPECT_EQ(LoadFrom(dir)->Entry("bare")->state, DriverState::kLoaded);
}

TEST(ManifestTest, AnInvalidManifestFailsTheDriver) {
  TempDir dir;
  dir.CopyDriver("gke", GkeModule());
  WriteManifest(dir, "gke", "limits:\n  tiem: 1s\n");
  const auto entry = LoadFrom(dir)->Entry("gke");
  EXPECT_EQ(entry->state, DriverState::kFailed);
  EXPECT_NE(entry->reason.find("unknown key limits.tiem"), std::string::npos) << entry->reason;
}

TEST(ManifestTest, ItsLimitsApplyToEveryCall) {
  TempDir dir;
  dir.CopyDriver("sleepy", HostileDir() / "long_sleep.wasm");
  WriteManifest(dir, "sleepy", "limits:\n  time: 100ms\n");
  auto registry = LoadFrom(dir);
  const auto driver = registry->Find("sleepy");
  ASSERT_NE(driver, nullptr) << registry->Entry("sleepy")->reason;
  EXPECT_EQ(driver->EffectiveLimits(wasm::Limits{}).time, 100ms);
  CallOptions options;
  options.limits.time = 30s;  // the operator's default; the manifest wins
  const auto started = std::chrono::steady_clock::now();
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::object();
  const Outcome outcome = registry->Call("sleepy", Function::kIsStorageClassValid, inputs, options);
  EXPECT_EQ(outcome.cause, ErrorCause::kTimeLimit) << outcome.reason;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

}  // namespace
}  // namespace discoblocks::drivers
