// The command line as driver authors and scripts use it: output and exit status.
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "util/sha256.h"

namespace discoblocks {
namespace {

using testing::DriversDir;
using testing::FixturesDir;
using testing::RunDiscoblocks;

// The drivers built into build/drivers: EBS, StorageOS, GCE PD, Azure Disk,
// Longhorn, Ceph RBD and TopoLVM.
constexpr std::size_t kBundledDrivers = 7;

std::string Fixture(const std::string& relative) { return (FixturesDir() / relative).string(); }

testing::CommandResult Call(const std::string& provisioner, const std::string& function,
                            std::vector<std::string> extra) {
  std::vector<std::string> args{"drivers", "call",          provisioner,
                                function,  "--drivers-dir", DriversDir().string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunDiscoblocks(args);
}

struct FixtureCase {
  std::string provisioner;
  std::string storage_class;
  std::string outcome;
  std::string reason;
  int exit_code;
};

void PrintTo(const FixtureCase& c, std::ostream* out) {
  *out << c.provisioner << " " << c.storage_class;
}

class CallFixtureTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(CallFixtureTest, PrintsOneJsonObjectWithTheOutcome) {
  const FixtureCase& param = GetParam();
  const auto result = Call(param.provisioner, "IsStorageClassValid",
                           {"--storage-class", Fixture(param.storage_class), "-o", "json"});
  EXPECT_EQ(result.exit_code, param.exit_code) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["outcome"], param.outcome);
  if (param.reason.empty()) {
    EXPECT_FALSE(doc.contains("reason"));
  } else {
    EXPECT_EQ(doc["reason"], param.reason);
  }
  EXPECT_EQ(doc["warnings"], nlohmann::json::array());
  EXPECT_TRUE(doc["stdout"].is_string());
  EXPECT_TRUE(doc["stderr"].is_string());
  EXPECT_TRUE(doc["duration_ms"].is_number());
  EXPECT_TRUE(doc.contains("result"));
}

INSTANTIATE_TEST_SUITE_P(
    Cli, CallFixtureTest,
    ::testing::Values(
        FixtureCase{"ebs.csi.aws.com", "storageclasses/ebs-gp3.yaml", "valid", "", 0},
        FixtureCase{"ebs.csi.aws.com", "storageclasses/ebs-no-expansion.yaml", "invalid",
                    "only allowVolumeExpansion true is supported", 1},
        FixtureCase{"ebs.csi.aws.com", "storageclasses/ebs-immediate.yaml", "invalid",
                    "only volumeBindingMode WaitForFirstConsumer is supported", 1},
        FixtureCase{"csi.storageos.com", "storageclasses/storageos.yaml", "valid", "", 0},
        FixtureCase{"csi.storageos.com", "storageclasses/storageos-wffc.yaml", "invalid",
                    "only volumeBindingMode Immediate is supported", 1},
        FixtureCase{"pd.csi.storage.gke.io", "storageclasses/gke-pd-balanced.yaml", "valid", "", 0},
        FixtureCase{"pd.csi.storage.gke.io", "storageclasses/storageos.yaml", "invalid",
                    "only volumeBindingMode WaitForFirstConsumer is supported", 1},
        FixtureCase{"kubernetes.io/no-provisioner", "storageclasses/local-no-provisioner.yaml",
                    "error", "no driver for kubernetes.io/no-provisioner", 2}),
    [](const auto& test_info) {
      std::string name = test_info.param.storage_class + "_" + test_info.param.provisioner;
      for (char& c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
      }
      return name;
    });

TEST(CliTest, OkResultIsTheParsedValue) {
  const auto result = Call("ebs.csi.aws.com", "GetStorageClassAllowedTopology",
                           {"--node", Fixture("nodes/node-eu-west-1a.yaml"), "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["outcome"], "ok");
  EXPECT_EQ(doc["result"][0]["matchLabelExpressions"][0]["values"][0], "eu-west-1a");
}

TEST(CliTest, PvcStubFromFlags) {
  const auto result = Call("csi.storageos.com", "GetPVCStub",
                           {"--pvc-name", "data", "--pvc-namespace", "db", "--storage-class-name",
                            "storageos", "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["result"]["metadata"]["namespace"], "db");
}

TEST(CliTest, TextOutputForPeople) {
  auto valid = Call("ebs.csi.aws.com", "IsStorageClassValid",
                    {"--storage-class", Fixture("storageclasses/ebs-gp3.yaml")});
  EXPECT_EQ(valid.exit_code, 0);
  EXPECT_EQ(valid.out, "valid\n");
  auto invalid = Call("ebs.csi.aws.com", "IsStorageClassValid",
                      {"--storage-class", Fixture("storageclasses/ebs-immediate.yaml")});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_EQ(invalid.out, "invalid: only volumeBindingMode WaitForFirstConsumer is supported\n");
}

TEST(CliTest, EnvAddsVariablesForDriverAuthors) {
  // The scripted test module copies OUT to stdout.
  testing::TempDir dir;
  dir.CopyDriver("scripted.example.com", testing::HostileDir() / "scripted.wasm");
  const auto result =
      RunDiscoblocks({"drivers", "call", "scripted.example.com", "IsFileSystemManaged",
                      "--drivers-dir", dir.path().string(), "--env", "OUT=True", "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out)["result"], true);
}

TEST(CliTest, TimeoutFlagBoundsAHostileDriver) {
  testing::TempDir dir;
  dir.CopyDriver("loop.example.com", testing::HostileDir() / "loop_in_function.wasm");
  const auto result =
      RunDiscoblocks({"drivers", "call", "loop.example.com", "IsStorageClassValid", "--drivers-dir",
                      dir.path().string(), "--storage-class",
                      Fixture("storageclasses/ebs-gp3.yaml"), "--timeout", "150ms", "-o", "json"});
  EXPECT_EQ(result.exit_code, 2);
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["outcome"], "error");
  EXPECT_EQ(doc["reason"],
            "driver loop.example.com: IsStorageClassValid: time limit of 150 ms exceeded");
}

struct UsageCase {
  std::vector<std::string> args;
  std::string message;
};

void PrintTo(const UsageCase& c, std::ostream* out) {
  for (const auto& arg : c.args) *out << arg << " ";
}

class UsageErrorTest : public ::testing::TestWithParam<UsageCase> {};

TEST_P(UsageErrorTest, ExitsTwoSayingWhatWasWrong) {
  const UsageCase& param = GetParam();
  std::vector<std::string> args = param.args;
  for (std::string& arg : args) {
    if (arg == "@drivers") arg = DriversDir().string();
    if (arg.starts_with("@fixture:")) arg = Fixture(arg.substr(9));
  }
  const auto result = RunDiscoblocks(args);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find(param.message), std::string::npos) << result.err;
}

INSTANTIATE_TEST_SUITE_P(
    Cli, UsageErrorTest,
    ::testing::Values(
        UsageCase{{"drivers", "call", "ebs.csi.aws.com"}, "FUNCTION"},
        UsageCase{{"drivers", "call", "ebs.csi.aws.com", "Nope", "--drivers-dir", "@drivers"},
                  "unknown function Nope"},
        UsageCase{{"drivers", "call", "ebs.csi.aws.com", "IsStorageClassValid", "--drivers-dir",
                   "@drivers", "--storage-class", "/no/such/file.yaml"},
                  "cannot read /no/such/file.yaml"},
        UsageCase{{"drivers", "call", "ebs.csi.aws.com", "IsStorageClassValid", "--drivers-dir",
                   "@drivers", "--storage-class", "@fixture:README.md"},
                  "README.md: not valid YAML or JSON: line"},
        UsageCase{{"drivers", "call", "ebs.csi.aws.com", "IsStorageClassValid", "--drivers-dir",
                   "@drivers"},
                  "IsStorageClassValid needs a StorageClass"},
        UsageCase{{"drivers", "call", "ebs.csi.aws.com", "IsStorageClassValid", "--drivers-dir",
                   "@drivers", "--storage-class", "@fixture:storageclasses/ebs-gp3.yaml",
                   "--timeout", "soon"},
                  "invalid duration \"soon\""},
        UsageCase{{"drivers", "call", "ebs.csi.aws.com", "GetCSIDriverNamespace", "--drivers-dir",
                   "@drivers", "--env", "NOEQUALS"},
                  "expected NAME=VALUE"},
        UsageCase{{"drivers", "list", "--drivers-dir", "/no/such/dir"},
                  "drivers directory /no/such/dir does not exist"},
        UsageCase{{"drivers", "inspect", "nope.example.com", "--drivers-dir", "@drivers"},
                  "no driver folder nope.example.com"},
        UsageCase{{"drivers", "list", "-o", "yaml"}, "yaml"},
        UsageCase{{"drivers", "list", "--server", "http://127.0.0.1:1"},
                  "cannot read http://127.0.0.1:1/drivers"},
        UsageCase{{"drivers", "list", "--drivers-dir", "@drivers", "--driver-memory-limit", "8Gi"},
                  "--driver-memory-limit: 8Gi is above the maximum of 4Gi"},
        UsageCase{{"drivers", "list", "--drivers-dir", "@drivers", "--driver-stdout-limit",
                   "99999999999999999999999"},
                  "--driver-stdout-limit: invalid size \"99999999999999999999999\": too large"},
        UsageCase{{"drivers", "list", "--drivers-dir", "@drivers", "--driver-stderr-limit", "-1"},
                  "negative sizes are not allowed"},
        UsageCase{{"drivers", "list", "--drivers-dir", "@drivers", "--module-cache-size", "0"},
                  "--module-cache-size: must be above 0"},
        UsageCase{{"drivers", "list", "--drivers-dir", "@drivers", "--max-module-size", "lots"},
                  "--max-module-size: invalid size \"lots\""},
        UsageCase{{"frobnicate"}, "unknown command frobnicate"}));

TEST(CliTest, InputThatIsNotAnObjectIsRefused) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "list.yaml") << "- a\n- b\n";
  const auto result = Call("ebs.csi.aws.com", "IsStorageClassValid",
                           {"--storage-class", (dir.path() / "list.yaml").string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("list.yaml: expected a Kubernetes object (a mapping)"),
            std::string::npos)
      << result.err;
}

TEST(CliTest, ListShowsEveryFolderWithItsState) {
  testing::TempDir dir;
  dir.CopyDriver("good.example.com", DriversDir() / "pd.csi.storage.gke.io" / "main.wasm");
  dir.AddDriver("bad.example.com", "not wasm");
  std::filesystem::create_directories(dir.path() / "empty.example.com");
  const auto result =
      RunDiscoblocks({"drivers", "list", "--drivers-dir", dir.path().string(), "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  ASSERT_EQ(doc.size(), 3U);
  EXPECT_EQ(doc[0]["provisioner"], "bad.example.com");
  EXPECT_EQ(doc[0]["state"], "failed");
  EXPECT_NE(doc[0]["reason"].get<std::string>().find("does not compile"), std::string::npos);
  EXPECT_EQ(doc[1]["state"], "skipped");
  EXPECT_EQ(doc[2]["state"], "loaded");
  EXPECT_EQ(doc[2]["exports"].size(), 10U);  // the nine and the optional GetResizePolicy

  const auto table = RunDiscoblocks({"drivers", "list", "--drivers-dir", dir.path().string()});
  EXPECT_NE(table.out.find("PROVISIONER"), std::string::npos);
  EXPECT_NE(table.out.find("good.example.com"), std::string::npos);
}

TEST(CliTest, DriversDirFromEnvironment) {
  ::setenv("DISCOBLOCKS_DRIVERS_DIR", DriversDir().c_str(), 1);
  const auto result = RunDiscoblocks({"drivers", "list", "-o", "json"});
  ::unsetenv("DISCOBLOCKS_DRIVERS_DIR");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out).size(), kBundledDrivers);
}

TEST(CliTest, InspectShowsIdentityAndInterface) {
  const auto result = RunDiscoblocks({"drivers", "inspect", "ebs.csi.aws.com", "--drivers-dir",
                                      DriversDir().string(), "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["state"], "loaded");
  EXPECT_EQ(doc["initializer"], "_initialize");
  EXPECT_EQ(doc["abi"], 2) << "built with the Go SDK, which declares ABI v2";
  EXPECT_EQ(doc["preinitialized"], true) << doc.dump(2);
  EXPECT_FALSE(doc.contains("not_preinitialized")) << doc.dump(2);
  for (const auto& e : doc["all_exports"]) EXPECT_NE(e["name"], "_initialize") << "a snapshot";
  EXPECT_EQ(doc["sha256"].get<std::string>().size(), 64U);
  EXPECT_GT(doc["size_bytes"].get<int>(), 0);
  EXPECT_GT(doc["compile_ms"].get<double>(), 0.0);
  EXPECT_FALSE(doc["imports"].empty());
  for (const auto& import : doc["imports"]) EXPECT_EQ(import["module"], "wasi_snapshot_preview1");
  EXPECT_EQ(doc["exports"].size(), 10U);  // the nine and the optional GetResizePolicy
  EXPECT_EQ(doc["limits"]["time_ms"], 2000);
}

TEST(CliTest, NoPreinitRunsTheInitializerAtEveryCall) {
  const auto result =
      RunDiscoblocks({"drivers", "inspect", "pd.csi.storage.gke.io", "--drivers-dir",
                      DriversDir().string(), "--no-preinit", "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["preinitialized"], false) << doc.dump(2);
  EXPECT_FALSE(doc.contains("preinit_ms")) << doc.dump(2);
  EXPECT_EQ(doc["initializer"], "_initialize");
  bool exports_initializer = false;
  for (const auto& e : doc["all_exports"]) exports_initializer |= e["name"] == "_initialize";
  EXPECT_TRUE(exports_initializer) << doc["all_exports"].dump();
  const auto call = Call("pd.csi.storage.gke.io", "IsStorageClassValid",
                         {"--no-preinit", "--storage-class",
                          Fixture("storageclasses/gke-pd-balanced.yaml"), "-o", "json"});
  EXPECT_EQ(call.exit_code, 0) << call.err;
  EXPECT_EQ(nlohmann::json::parse(call.out)["outcome"], "valid") << call.out;
}

TEST(CliTest, ASecondStartTakesTheDriversFromTheModuleCache) {
  testing::TempDir cache;
  const std::string cache_dir = (cache.path() / "modules").string();
  auto from_cache = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args{"drivers", "list", "--drivers-dir", DriversDir().string(),
                                  "-o",      "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto result = RunDiscoblocks(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::vector<bool> flags;
    for (const auto& entry : nlohmann::json::parse(result.out)) {
      flags.push_back(entry["from_module_cache"].get<bool>());
    }
    return flags;
  };
  EXPECT_EQ(from_cache({"--module-cache", cache_dir}), std::vector<bool>(kBundledDrivers, false));
  EXPECT_EQ(from_cache({"--module-cache", cache_dir}), std::vector<bool>(kBundledDrivers, true));
  EXPECT_EQ(from_cache({"--module-cache", cache_dir, "--no-module-cache"}),
            std::vector<bool>(kBundledDrivers, false));
}

TEST(CliTest, AnUnusableModuleCacheIsReportedAndDriversStillLoad) {
  testing::TempDir cache;
  std::filesystem::permissions(cache.path(), std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  const auto result = RunDiscoblocks({"drivers", "list", "--drivers-dir", DriversDir().string(),
                                      "--module-cache", cache.path().string(), "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("module cache not used"), std::string::npos) << result.err;
  EXPECT_EQ(nlohmann::json::parse(result.out).size(), kBundledDrivers);
}

TEST(CliTest, InspectShowsTheManifestsDigestAndLimitsInForce) {
  testing::TempDir dir;
  const auto module = DriversDir() / "pd.csi.storage.gke.io" / "main.wasm";
  dir.CopyDriver("gke", module);
  const std::string digest = Sha256Hex(testing::ReadBytes(module));
  std::ofstream(dir.path() / "gke" / "driver.yaml")
      << "description: GKE PD\nsha256: " << digest << "\nlimits:\n  time: 750ms\n  memory: 32Mi\n";
  const auto result =
      RunDiscoblocks({"drivers", "inspect", "gke", "--drivers-dir", dir.path().string(),
                      "--require-driver-digests", "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_EQ(doc["sha256"], digest);
  EXPECT_EQ(doc["pinned_by_manifest"], true);
  EXPECT_EQ(doc["description"], "GKE PD");
  EXPECT_EQ(doc["limits"]["time_ms"], 750);
  EXPECT_EQ(doc["limits"]["memory_bytes"], 32 << 20);
  EXPECT_EQ(doc["limits"]["stdout_bytes"], 1 << 20);
  EXPECT_EQ(doc["limits"]["source"], "operator's limits, lowered by driver.yaml");

  // The flags are ceilings: the manifest's 1Gi is clamped to them, with a warning.
  std::ofstream(dir.path() / "gke" / "driver.yaml", std::ios::trunc)
      << "limits:\n  time: 750ms\n  memory: 1Gi\n";
  const auto clamped = RunDiscoblocks({"drivers", "inspect", "gke", "--drivers-dir",
                                       dir.path().string(), "--driver-memory-limit", "64Mi",
                                       "--driver-stdout-limit", "4Ki", "-o", "json"});
  ASSERT_EQ(clamped.exit_code, 0) << clamped.err;
  const auto clamped_doc = nlohmann::json::parse(clamped.out);
  EXPECT_EQ(clamped_doc["limits"]["time_ms"], 750);
  EXPECT_EQ(clamped_doc["limits"]["memory_bytes"], 64 << 20);
  EXPECT_EQ(clamped_doc["limits"]["stdout_bytes"], 4 << 10);
  EXPECT_EQ(
      clamped_doc["warnings"],
      nlohmann::json::array(
          {"driver.yaml asks for limits.memory 1Gi, above the operator's 64Mi; 64Mi applies"}));

  std::filesystem::remove(dir.path() / "gke" / "driver.yaml");
  const auto refused = RunDiscoblocks({"drivers", "inspect", "gke", "--drivers-dir",
                                       dir.path().string(), "--require-driver-digests"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.out.find("digests are required"), std::string::npos) << refused.out;
}

TEST(Version, JsonNamesVersionCommitWasmtimeAndDriverAbi) {
  const auto result = RunDiscoblocks({"version", "-o", "json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto doc = nlohmann::json::parse(result.out);
  EXPECT_TRUE(std::regex_match(doc["version"].get<std::string>(), std::regex(R"(\d+\.\d+\.\d+)")))
      << doc;
  EXPECT_TRUE(
      std::regex_match(doc["commit"].get<std::string>(), std::regex("[0-9a-f]{40}|unknown")))
      << doc;
  EXPECT_TRUE(std::regex_match(doc["wasmtime"].get<std::string>(), std::regex(R"(\d+\.\d+\.\d+)")))
      << doc;
  EXPECT_EQ(doc["driver_abi_versions"], nlohmann::json::array({1, 2}));
}

TEST(Version, FlagAndCommandPrintTheSameText) {
  const auto flag = RunDiscoblocks({"--version"});
  const auto command = RunDiscoblocks({"version"});
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  ASSERT_EQ(command.exit_code, 0) << command.err;
  EXPECT_EQ(flag.out, command.out);
  const auto doc = nlohmann::json::parse(RunDiscoblocks({"version", "-o", "json"}).out);
  EXPECT_EQ(command.out.substr(0, command.out.find('\n')),
            "discoblocks " + doc["version"].get<std::string>());
  EXPECT_NE(command.out.find("driver ABI: v1"), std::string::npos) << command.out;
}

TEST(Version, RefusesAnUnknownOutputFormat) {
  const auto result = RunDiscoblocks({"version", "-o", "yaml"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("yaml"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace discoblocks
