// The conformance suite (`drivers test`) against the bundled drivers, which must
// pass, and against deliberately broken modules, each of which must fail the
// check aimed at its fault and only the checks it can be blamed for.
#include <algorithm>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "drivers/conformance.h"
#include "drivers/conformance_shapes.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using testing::DriversDir;
using testing::HostileDir;
using testing::SharedEngine;
using testing::TempDir;

std::shared_ptr<const Driver> LoadModule(const TempDir& dir, const std::string& provisioner,
                                         const std::filesystem::path& module) {
  dir.CopyDriver(provisioner, module);
  auto driver = Driver::Load(SharedEngine(), provisioner, dir.path() / provisioner);
  EXPECT_TRUE(driver.ok()) << (driver.ok() ? "" : driver.error().message);
  return driver.ok() ? std::move(driver).value() : nullptr;
}

ConformanceOptions Options(std::string_view provisioner) {
  ConformanceOptions options;
  options.inputs = BuiltInInputs(provisioner);
  // Broken modules run into the time limit; keep the suite quick.
  options.limits.time = std::chrono::milliseconds(500);
  return options;
}

std::map<std::string, CheckResult> ByName(const ConformanceReport& report) {
  std::map<std::string, CheckResult> checks;
  for (const auto& check : report.checks) {
    EXPECT_TRUE(checks.emplace(check.name, check).second) << "two checks named " << check.name;
  }
  return checks;
}

std::string Failures(const ConformanceReport& report) {
  std::string text;
  for (const auto& check : report.checks) {
    if (check.status != CheckStatus::kPass) {
      text += std::string(CheckStatusName(check.status)) + " " + check.name + ": " + check.reason +
              "\n";
    }
  }
  return text;
}

class BundledDriverTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BundledDriverTest, PassesWithBuiltInInputs) {
  const std::string provisioner = GetParam();
  auto driver = Driver::Load(SharedEngine(), provisioner, DriversDir() / provisioner);
  ASSERT_TRUE(driver.ok()) << driver.error().message;
  ConformanceOptions options;
  options.inputs = BuiltInInputs(provisioner);
  const ConformanceReport report = RunConformance(**driver, options);
  EXPECT_TRUE(report.passed()) << Failures(report);
  // No warnings either, except that a loaded machine may push a call past half
  // its time limit.
  for (const auto& check : report.checks) {
    if (check.name.ends_with("/limits")) continue;
    EXPECT_EQ(check.status, CheckStatus::kPass) << check.name << ": " << check.reason;
  }
  // Nine functions, each exported, within limits, shaped, quiet, deterministic;
  // optional ones the same when exported.
  const auto checks = ByName(report);
  for (const auto& spec : AllFunctions()) {
    if (spec.optional && !(*driver)->Exports(spec.function)) {
      EXPECT_TRUE(checks.contains(std::string(spec.name) + "/exists")) << spec.name;
      EXPECT_FALSE(checks.contains(std::string(spec.name) + "/limits")) << spec.name;
      continue;
    }
    for (const char* aspect : {"/exists", "/limits", "/shape", "/stderr", "/deterministic"}) {
      EXPECT_TRUE(checks.contains(std::string(spec.name) + aspect)) << spec.name << aspect;
    }
  }
  EXPECT_TRUE(checks.contains("IsStorageClassValid/odd-input/STORAGE_CLASS_JSON=malformed"));
  EXPECT_TRUE(checks.contains("GetPVCStub/odd-input/quotes-and-newlines"));
}

INSTANTIATE_TEST_SUITE_P(Drivers, BundledDriverTest,
                         ::testing::Values("ebs.csi.aws.com", "csi.storageos.com",
                                           "pd.csi.storage.gke.io"));

TEST(ConformanceTest, FixturesPickTheObjectsOfTheProvisioner) {
  auto inputs = FixtureInputs(testing::FixturesDir(), "pd.csi.storage.gke.io");
  ASSERT_TRUE(inputs.ok()) << inputs.error().message;
  EXPECT_TRUE(inputs->from_fixtures);
  EXPECT_EQ(inputs->storage_class["provisioner"], "pd.csi.storage.gke.io");
  EXPECT_EQ(inputs->persistent_volume["spec"]["csi"]["driver"], "pd.csi.storage.gke.io");
  EXPECT_EQ(inputs->storage_class_name, inputs->storage_class["metadata"]["name"]);
  EXPECT_FALSE(FixtureInputs(testing::FixturesDir() / "nope", "x").ok());
  EXPECT_FALSE(FixtureInputs(testing::FixturesDir() / "pods", "x").ok());  // no known kind
}

TEST(ConformanceTest, EbsPassesOnTheRepositorysFixtures) {
  auto driver = Driver::Load(SharedEngine(), "ebs.csi.aws.com", DriversDir() / "ebs.csi.aws.com");
  ASSERT_TRUE(driver.ok()) << driver.error().message;
  auto inputs = FixtureInputs(testing::FixturesDir(), "ebs.csi.aws.com");
  ASSERT_TRUE(inputs.ok()) << inputs.error().message;
  ConformanceOptions options;
  options.inputs = std::move(inputs).value();
  const ConformanceReport report = RunConformance(**driver, options);
  EXPECT_TRUE(report.passed()) << Failures(report);
}

TEST(ConformanceTest, AMissingExportFailsExistsAndNothingElseIsCalled) {
  TempDir dir;
  auto driver =
      LoadModule(dir, "nondeterministic.example.com", HostileDir() / "nondeterministic.wasm");
  ASSERT_NE(driver, nullptr);
  const auto report = RunConformance(*driver, Options("nondeterministic.example.com"));
  const auto checks = ByName(report);
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(checks.at("IsStorageClassValid/exists").status, CheckStatus::kFail);
  EXPECT_FALSE(checks.contains("IsStorageClassValid/limits"));
  EXPECT_EQ(checks.at("GetCSIDriverNamespace/exists").status, CheckStatus::kPass);
  EXPECT_EQ(checks.at("GetCSIDriverNamespace/shape").status, CheckStatus::kPass);
  // The only exported function answers with the clock.
  EXPECT_EQ(checks.at("GetCSIDriverNamespace/deterministic").status, CheckStatus::kFail)
      << checks.at("GetCSIDriverNamespace/deterministic").reason;
  EXPECT_NE(checks.at("GetCSIDriverNamespace/deterministic").reason.find("two answers"),
            std::string::npos);
}

TEST(ConformanceTest, ATrapOrAHangFailsLimitsAndSkipsTheRest) {
  TempDir dir;
  for (const char* module : {"trap", "loop_in_function"}) {
    auto driver = LoadModule(dir, module, HostileDir() / (std::string(module) + ".wasm"));
    ASSERT_NE(driver, nullptr);
    const auto report = RunConformance(*driver, Options(module));
    const auto checks = ByName(report);
    EXPECT_EQ(checks.at("IsStorageClassValid/limits").status, CheckStatus::kFail) << module;
    EXPECT_FALSE(checks.contains("IsStorageClassValid/deterministic")) << module;
    EXPECT_FALSE(checks.contains("IsStorageClassValid/odd-input/STORAGE_CLASS_JSON=empty"));
  }
}

TEST(ConformanceTest, HugeInputsThatTrapAreCaught) {
  TempDir dir;
  auto driver = LoadModule(dir, "fragile.example.com", HostileDir() / "fragile.wasm");
  ASSERT_NE(driver, nullptr);
  const auto report = RunConformance(*driver, Options("fragile.example.com"));
  const auto checks = ByName(report);
  EXPECT_FALSE(report.passed());
  for (const auto& [name, check] : checks) {
    const bool huge =
        name.find("odd-input") != std::string::npos && name.find("huge") != std::string::npos;
    if (huge) {
      EXPECT_EQ(check.status, CheckStatus::kFail) << name;
      EXPECT_NE(check.reason.find("no outcome"), std::string::npos) << check.reason;
    } else if (name.find("odd-input") != std::string::npos) {
      // Small odd inputs are answered (the module ignores them): an outcome.
      EXPECT_NE(check.status, CheckStatus::kFail) << name << ": " << check.reason;
    }
  }
  // It prints no PVC stub, but answers the rest with the right shapes.
  EXPECT_EQ(checks.at("GetPVCStub/shape").status, CheckStatus::kFail);
  for (const char* ok :
       {"IsStorageClassValid/shape", "GetCSIDriverNamespace/shape", "GetCSIDriverPodLabels/shape",
        "GetPreMountCommand/shape", "IsFileSystemManaged/shape",
        "WaitForVolumeAttachmentMeta/shape", "GetStorageClassAllowedTopology/shape"}) {
    EXPECT_EQ(checks.at(ok).status, CheckStatus::kPass) << ok << ": " << checks.at(ok).reason;
  }
  // A small odd StorageClass judged valid is suspicious, not a failure.
  EXPECT_EQ(checks.at("IsStorageClassValid/odd-input/STORAGE_CLASS_JSON=malformed").status,
            CheckStatus::kWarn);
}

// The scripted module prints $OUT on stdout and $ERR on stderr from every
// function: one answer for all nine, so most shapes are wrong.
TEST(ConformanceTest, WrongShapesStderrAndLooseBooleansAreReported) {
  TempDir dir;
  auto driver = LoadModule(dir, "scripted.example.com", HostileDir() / "scripted.wasm");
  ASSERT_NE(driver, nullptr);
  auto options = Options("scripted.example.com");
  options.extra_env = {{"OUT", "1"}, {"ERR", "careful"}};
  const auto report = RunConformance(*driver, options);
  const auto checks = ByName(report);
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(checks.at("IsFileSystemManaged/shape").status, CheckStatus::kWarn);  // "1" parses
  EXPECT_EQ(checks.at("IsFileSystemManaged/stderr").status, CheckStatus::kWarn);
  EXPECT_EQ(checks.at("IsFileSystemManaged/deterministic").status, CheckStatus::kPass);
  EXPECT_EQ(checks.at("GetPVCStub/shape").status, CheckStatus::kFail);
  EXPECT_EQ(checks.at("GetCSIDriverPodLabels/shape").status, CheckStatus::kFail);
  // Text functions with stderr are errors the driver reported: with built-in
  // inputs that is a warning (the inputs may not suit the driver).
  EXPECT_EQ(checks.at("GetCSIDriverNamespace/shape").status, CheckStatus::kWarn);

  options.extra_env = {{"OUT", "echo no device"}};
  const auto commands = ByName(RunConformance(*driver, options));
  EXPECT_EQ(commands.at("GetPreMountCommand/shape").status, CheckStatus::kFail);
  EXPECT_NE(commands.at("GetPreMountCommand/shape").reason.find("DEV"), std::string::npos);
  EXPECT_EQ(commands.at("IsFileSystemManaged/shape").status, CheckStatus::kFail);
}

// A driver built before GetResizePolicy existed passes with one line saying
// so; one that exports it is judged like any function.
TEST(ConformanceTest, GetResizePolicyIsOptionalAndJudgedWhenExported) {
  TempDir dir;
  auto old = LoadModule(dir, "old.example.com", HostileDir() / "scripted.wasm");
  ASSERT_NE(old, nullptr);
  const auto without = ByName(RunConformance(*old, Options("old.example.com")));
  EXPECT_EQ(without.at("GetResizePolicy/exists").status, CheckStatus::kPass);
  EXPECT_NE(without.at("GetResizePolicy/exists").reason.find("optional"), std::string::npos);
  EXPECT_FALSE(without.contains("GetResizePolicy/shape"));
  EXPECT_EQ(
      std::count_if(without.begin(), without.end(),
                    [](const auto& item) { return item.first.starts_with("GetResizePolicy"); }),
      1);

  auto driver = LoadModule(dir, "new.example.com", HostileDir() / "scripted_resize_policy.wasm");
  ASSERT_NE(driver, nullptr);
  auto options = Options("new.example.com");
  options.extra_env = {
      {"OUT",
       R"({"granularity":"1Gi","minimumIncrease":"1Gi","maxModifications":4,"window":"24h"})"}};
  auto checks = ByName(RunConformance(*driver, options));
  for (const char* name :
       {"GetResizePolicy/exists", "GetResizePolicy/limits", "GetResizePolicy/shape",
        "GetResizePolicy/stderr", "GetResizePolicy/deterministic",
        "GetResizePolicy/odd-input/STORAGE_CLASS_JSON=empty",
        "GetResizePolicy/odd-input/STORAGE_CLASS_JSON=wrong-types"}) {
    ASSERT_TRUE(checks.contains(name)) << name;
    EXPECT_EQ(checks.at(name).status, CheckStatus::kPass) << name << ": " << checks.at(name).reason;
  }
  // Checked too (the scripted module's small memory cannot hold it: a trap).
  EXPECT_TRUE(checks.contains("GetResizePolicy/odd-input/STORAGE_CLASS_JSON=huge"));
  EXPECT_NE(checks.at("GetResizePolicy/shape").reason.find("per \"24h\""), std::string::npos)
      << checks.at("GetResizePolicy/shape").reason;

  options.extra_env = {};  // prints nothing: no limits
  checks = ByName(RunConformance(*driver, options));
  EXPECT_EQ(checks.at("GetResizePolicy/shape").status, CheckStatus::kPass);
  EXPECT_EQ(checks.at("GetResizePolicy/shape").reason, "no limits");

  options.extra_env = {{"OUT", R"({"maxModifications":"4"})"}};  // the host refuses it
  checks = ByName(RunConformance(*driver, options));
  EXPECT_EQ(checks.at("GetResizePolicy/shape").status, CheckStatus::kFail);
  EXPECT_NE(checks.at("GetResizePolicy/shape").reason.find("maxModifications"), std::string::npos);

  options.extra_env = {{"OUT", R"({"granularity":"1.5"})"}};  // the suite refuses it
  checks = ByName(RunConformance(*driver, options));
  EXPECT_EQ(checks.at("GetResizePolicy/shape").status, CheckStatus::kFail);
  EXPECT_NE(checks.at("GetResizePolicy/shape").reason.find("granularity"), std::string::npos);
}

TEST(ConformanceTest, AResizePolicyHasSaneValues) {
  using conformance::ResizePolicyProblem;
  const auto json = [](const char* text) { return nlohmann::json::parse(text); };
  EXPECT_EQ(ResizePolicyProblem(nullptr), "");
  EXPECT_EQ(ResizePolicyProblem(json("{}")), "");
  EXPECT_EQ(
      ResizePolicyProblem(
          json(R"({"granularity":"1Gi","minimumIncrease":1,"maxModifications":4,"window":"24h"})")),
      "");
  EXPECT_EQ(ResizePolicyProblem(json(R"({"granularity":"1.5Gi","maxModifications":0})")), "");
  EXPECT_EQ(ResizePolicyProblem(json(R"({"granularity":"500M","window":"6h30m"})")), "");
  for (const char* bad :
       {R"({"granularity":"0"})", R"({"granularity":0})", R"({"granularity":-1})",
        R"({"granularity":"1.5"})", R"({"granularity":"1e9"})", R"({"granularity":"100m"})",
        R"({"minimumIncrease":"1 Gi"})", R"({"maxModifications":1001,"window":"1h"})",
        R"({"maxModifications":4})", R"({"maxModifications":4,"window":"500ms"})",
        R"({"window":"1 day"})", "[]"}) {
    EXPECT_NE(ResizePolicyProblem(json(bad)), "") << bad;
  }
}

TEST(ConformanceTest, ATopologyTermMustBeAValidTopologySelectorTerm) {
  using conformance::TopologyProblem;
  const auto json = [](const char* text) { return nlohmann::json::parse(text); };
  EXPECT_EQ(TopologyProblem(json("[]")), "");
  EXPECT_EQ(
      TopologyProblem(json(
          R"([{"matchLabelExpressions":[{"key":"topology.kubernetes.io/zone","values":["a-1"]}]}])")),
      "");
  EXPECT_NE(TopologyProblem(json(R"([{}])")), "");
  EXPECT_NE(TopologyProblem(json(R"([{"matchLabelExpressions":[{"key":"z","values":[]}]}])")), "");
  EXPECT_NE(
      TopologyProblem(json(R"([{"matchLabelExpressions":[{"key":"bad key","values":["a"]}]}])")),
      "");
  EXPECT_NE(TopologyProblem(json(R"([{"matchLabels":{"a":"b"}}])")), "");
  EXPECT_NE(TopologyProblem(json(
                R"([{"matchLabelExpressions":[{"key":"z","values":["a"],"operator":"In"}]}])")),
            "");
}

TEST(ConformanceTest, APvcStubMustCarryTheInputs) {
  const ConformanceInputs in = BuiltInInputs("x");
  nlohmann::json pvc = {{"apiVersion", "v1"},
                        {"kind", "PersistentVolumeClaim"},
                        {"metadata", {{"name", in.pvc_name}, {"namespace", in.pvc_namespace}}},
                        {"spec", {{"storageClassName", in.storage_class_name}}}};
  EXPECT_EQ(conformance::PvcStubProblem(pvc, in), "");
  auto wrong = pvc;
  wrong["metadata"]["namespace"] = "other";
  EXPECT_NE(conformance::PvcStubProblem(wrong, in).find("PVC_NAMESACE"), std::string::npos);
  wrong = pvc;
  wrong["apiVersion"] = "v2";
  EXPECT_NE(conformance::PvcStubProblem(wrong, in), "");
  wrong = pvc;
  wrong["spec"]["accessModes"] = {"ReadWriteSometimes"};
  EXPECT_NE(conformance::PvcStubProblem(wrong, in), "");
}

TEST(ConformanceTest, LabelsAndNamespacesFollowKubernetesSyntax) {
  EXPECT_EQ(conformance::LabelsProblem({{"app.kubernetes.io/name", "ebs-csi"}}), "");
  EXPECT_NE(conformance::LabelsProblem(nlohmann::json::object()), "");
  EXPECT_NE(conformance::LabelsProblem({{"app", "has space"}}), "");
  EXPECT_NE(conformance::LabelsProblem({{"-app", "x"}}), "");
  EXPECT_EQ(conformance::NamespaceProblem("kube-system"), "");
  EXPECT_NE(conformance::NamespaceProblem("Kube_System"), "");
  EXPECT_NE(conformance::NamespaceProblem(""), "");
  EXPECT_EQ(conformance::MetaKeyProblem(""), "");
  EXPECT_NE(conformance::MetaKeyProblem("a key"), "");
}

TEST(ConformanceTest, CommandsMustSetDev) {
  EXPECT_TRUE(SetsDev("DEV=/dev/sdb"));
  EXPECT_TRUE(SetsDev("set -e\nexport DEV=$(readlink -f /dev/x)"));
  EXPECT_TRUE(SetsDev("for d in /dev/nvme*; do DEV=$d; done"));
  EXPECT_TRUE(SetsDev("ls | read -r DEV"));
  EXPECT_FALSE(SetsDev("echo $DEV"));
  EXPECT_FALSE(SetsDev("MYDEV=/dev/sdb"));
  EXPECT_FALSE(SetsDev("mkfs.ext4 /dev/sdb"));
}

TEST(ConformanceTest, ReportJsonHasEveryCheck) {
  const auto report = LoadFailureReport("x", "/d/x", "no main.wasm");
  const auto doc = ConformanceReportJson(report);
  EXPECT_EQ(doc["passed"], false);
  EXPECT_EQ(doc["summary"]["fail"], 1);
  ASSERT_EQ(doc["checks"].size(), 1U);
  EXPECT_EQ(doc["checks"][0]["name"], "module/loads");
  EXPECT_EQ(doc["checks"][0]["status"], "fail");
}

}  // namespace
}  // namespace discoblocks::drivers
