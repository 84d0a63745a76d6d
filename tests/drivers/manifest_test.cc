// driver.yaml: what it pins, what limits it sets, and what it refuses.
#include <fstream>
#include <string>
#include <vector>

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

std::unique_ptr<Registry> LoadFrom(const TempDir& dir, bool require_digest = false,
                                   const wasm::Limits& limits = {}) {
  RegistryOptions options;
  options.directory = dir.path();
  options.require_digest = require_digest;
  options.limits = limits;
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
  ASSERT_TRUE(manifest->has_value());
  EXPECT_EQ((*manifest)->description, "Validates GKE persistent disk StorageClasses");
  EXPECT_EQ((*manifest)->sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  const wasm::Limits limits = (*manifest)->limits.ApplyTo({});
  EXPECT_EQ(limits.time, 1500ms);
  EXPECT_EQ(limits.memory_bytes, 64U << 20);
  EXPECT_EQ(limits.stdout_bytes, 512U << 10);
  EXPECT_EQ(limits.stderr_bytes, 4096U);
}

TEST(ManifestTest, UnsetLimitsKeepTheOperators) {
  const auto manifest = ParseManifest("limits:\n  time: 500ms\n", "driver.yaml");
  ASSERT_TRUE(manifest && manifest->has_value());
  const wasm::Limits operators;
  const wasm::Limits limits = (*manifest)->limits.ApplyTo(operators);
  EXPECT_EQ(limits.time, 500ms);
  EXPECT_EQ(limits.memory_bytes, operators.memory_bytes);
  EXPECT_FALSE((*manifest)->sha256.has_value());
  EXPECT_TRUE((*manifest)->limits.AboveCeilings(operators).empty());
}

// The operator's limits are ceilings: asking for more gets the operator's, and
// says so; asking for less gets less.
TEST(ManifestTest, LimitsAboveTheOperatorsAreClampedWithAWarning) {
  const auto manifest = ParseManifest(
      "limits:\n  time: 1h\n  memory: 1Gi\n  stdout: 512Ki\n  stderr: 1Mi\n", "driver.yaml");
  ASSERT_TRUE(manifest && manifest->has_value());
  wasm::Limits operators;
  operators.time = 2s;
  operators.memory_bytes = 128U << 20;
  operators.stdout_bytes = 1U << 20;
  operators.stderr_bytes = 64U << 10;
  const wasm::Limits limits = (*manifest)->limits.ApplyTo(operators);
  EXPECT_EQ(limits.time, 2s);
  EXPECT_EQ(limits.memory_bytes, 128U << 20);
  EXPECT_EQ(limits.stdout_bytes, 512U << 10);  // lower: the manifest's
  EXPECT_EQ(limits.stderr_bytes, 64U << 10);
  EXPECT_EQ(
      (*manifest)->limits.AboveCeilings(operators),
      (std::vector<std::string>{
          "driver.yaml asks for limits.time 60m, above the operator's 2s; 2s applies",
          "driver.yaml asks for limits.memory 1Gi, above the operator's 128Mi; 128Mi applies",
          "driver.yaml asks for limits.stderr 1Mi, above the operator's 64Ki; 64Ki applies"}));
}

TEST(ManifestTest, EmptyOrCommentedOutManifestIsNoManifest) {
  for (const char* text : {"", "\n\n", "  \n", "\r\n", "# nothing pinned yet\n", "# a\n\n  # b",
                           "---\n", "--- # c\n...\n", "---\n# c\n---\n"}) {
    const auto manifest = ParseManifest(text, "x/driver.yaml");
    ASSERT_TRUE(manifest) << "[" << text << "]: " << manifest.error().message;
    EXPECT_FALSE(manifest->has_value()) << "[" << text << "]";
  }
  // A document after an empty one is not hidden by it.
  const auto later = ParseManifest("---\n# c\n---\ndescription: x\n", "x/driver.yaml");
  EXPECT_FALSE(later.ok() && !later->has_value());
  // Nor is a value that happens to start like a marker.
  const auto scalar = ParseManifest("---x\n", "x/driver.yaml");
  ASSERT_FALSE(scalar);
  EXPECT_NE(scalar.error().message.find("not a mapping"), std::string::npos)
      << scalar.error().message;
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

TEST(ManifestTest, AnEmptyManifestLoadsTheDriverAsIfThereWereNone) {
  TempDir dir;
  dir.CopyDriver("gke", GkeModule());
  WriteManifest(dir, "gke", "# limits:\n#   time: 1s\n");
  const auto entry = LoadFrom(dir)->Entry("gke");
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->state, DriverState::kLoaded) << entry->reason;
  EXPECT_FALSE(entry->driver->manifest().has_value());
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

TEST(ManifestTest, ARegistryEntryWarnsOfLimitsAboveTheOperators) {
  TempDir dir;
  dir.CopyDriver("gke", GkeModule());
  WriteManifest(dir, "gke", "limits:\n  memory: 2Gi\n  time: 1s\n");
  wasm::Limits operators;
  operators.memory_bytes = 64U << 20;
  const auto entry = LoadFrom(dir, false, operators)->Entry("gke");
  ASSERT_TRUE(entry);
  ASSERT_EQ(entry->state, DriverState::kLoaded) << entry->reason;
  EXPECT_EQ(entry->warnings,
            std::vector<std::string>{
                "driver.yaml asks for limits.memory 2Gi, above the operator's 64Mi; 64Mi applies"});
  const wasm::Limits limits = entry->driver->EffectiveLimits(operators);
  EXPECT_EQ(limits.memory_bytes, 64U << 20);
  EXPECT_EQ(limits.time, 1s);
}

TEST(ManifestTest, AManifestCannotRaiseTheOperatorsTimeLimit) {
  TempDir dir;
  dir.CopyDriver("sleepy", HostileDir() / "long_sleep.wasm");
  WriteManifest(dir, "sleepy", "limits:\n  time: 5s\n");
  auto registry = LoadFrom(dir);
  ASSERT_NE(registry->Find("sleepy"), nullptr) << registry->Entry("sleepy")->reason;
  CallOptions options;
  options.limits.time = 100ms;  // the operator's
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::object();
  const Outcome outcome = registry->Call("sleepy", Function::kIsStorageClassValid, inputs, options);
  EXPECT_EQ(outcome.cause, ErrorCause::kTimeLimit) << outcome.reason;
  EXPECT_NE(outcome.reason.find("time limit of 100 ms exceeded"), std::string::npos)
      << outcome.reason;
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
  options.limits.time = 30s;  // the operator's; the manifest asks for less
  const auto started = std::chrono::steady_clock::now();
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::object();
  const Outcome outcome = registry->Call("sleepy", Function::kIsStorageClassValid, inputs, options);
  EXPECT_EQ(outcome.cause, ErrorCause::kTimeLimit) << outcome.reason;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

}  // namespace
}  // namespace discoblocks::drivers
