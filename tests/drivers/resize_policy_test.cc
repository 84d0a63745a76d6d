// The optional GetResizePolicy (docs/driver-abi.md, "GetResizePolicy"): a
// driver without it loads and has no limits; one with it is called with the
// StorageClass, and what it prints is judged by the contract's outcome table.
// The scripted modules print $OUT on stdout and $ERR on stderr.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "drivers/conformance.h"
#include "drivers/contract.h"
#include "drivers/interpret.h"
#include "drivers/typed_calls.h"
#include "support/test_support.h"

namespace discoblocks::drivers {
namespace {

using nlohmann::json;
using testing::HostileDir;
using testing::SharedEngine;
using testing::TempDir;

const json& AStorageClass() {
  static const json kStorageClass = BuiltInInputs("scripted.example.com").storage_class;
  return kStorageClass;
}

class ResizePolicyTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Driver> Load(const char* module) {
    dir_.CopyDriver("scripted.example.com", HostileDir() / module);
    auto driver =
        Driver::Load(SharedEngine(), "scripted.example.com", dir_.path() / "scripted.example.com");
    EXPECT_TRUE(driver.ok()) << (driver.ok() ? "" : driver.error().message);
    return driver.ok() ? std::move(driver).value() : nullptr;
  }

  // GetResizePolicy of the module that exports it, printing `out` and `err`.
  Typed<std::optional<json>> Policy(const std::string& out, const std::string& err = "") {
    auto driver = Load("scripted_resize_policy.wasm");
    if (driver == nullptr) return {};
    CallOptions options;
    if (!out.empty()) options.extra_env.emplace_back("OUT", out);
    if (!err.empty()) options.extra_env.emplace_back("ERR", err);
    return GetResizePolicy(*driver, AStorageClass(), options);
  }

  TempDir dir_;
};

TEST(ResizePolicyContractTest, IsOptionalAndReadsTheStorageClass) {
  const FunctionSpec& spec = SpecOf(Function::kGetResizePolicy);
  EXPECT_EQ(spec.name, "GetResizePolicy");
  EXPECT_TRUE(spec.optional);
  EXPECT_EQ(FunctionByName("GetResizePolicy"), Function::kGetResizePolicy);
  int optional = 0;
  for (const FunctionSpec& each : AllFunctions()) optional += each.optional ? 1 : 0;
  EXPECT_EQ(optional, 1);  // the nine functions of ABI v1 stay required
  CallInputs inputs;
  inputs.storage_class = AStorageClass();
  auto env = BuildEnvironment(Function::kGetResizePolicy, inputs);
  ASSERT_TRUE(env.ok());
  ASSERT_EQ(env->size(), 1U);
  EXPECT_EQ((*env)[0].first, "STORAGE_CLASS_JSON");
  EXPECT_EQ(json::parse((*env)[0].second), AStorageClass());
  EXPECT_FALSE(BuildEnvironment(Function::kGetResizePolicy, {}).ok());
}

TEST_F(ResizePolicyTest, ADriverWithoutTheExportLoadsAndHasNoLimits) {
  auto driver = Load("scripted.wasm");  // exports the nine functions only
  ASSERT_NE(driver, nullptr);
  EXPECT_FALSE(driver->Exports(Function::kGetResizePolicy));
  int observed = 0;
  CallOptions options;
  options.observer = [&](std::string_view, const FunctionSpec&, const Outcome&) { ++observed; };
  options.extra_env = {{"OUT", "{\"granularity\":\"1Gi\"}"}};
  const auto policy = GetResizePolicy(*driver, AStorageClass(), options);
  EXPECT_EQ(policy.outcome.kind, OutcomeKind::kOk);
  EXPECT_EQ(policy.value, std::nullopt);
  EXPECT_EQ(observed, 0) << "no call is made to a function the driver lacks";
  // The nine functions behave as before.
  options.extra_env = {{"OUT", "true"}};
  EXPECT_EQ(IsFileSystemManaged(*driver, options).value, true);
}

TEST_F(ResizePolicyTest, NothingPrintedIsNoLimits) {
  const auto policy = Policy("");
  EXPECT_EQ(policy.outcome.kind, OutcomeKind::kOk) << policy.outcome.reason;
  EXPECT_EQ(policy.value, std::nullopt);
  EXPECT_EQ(Policy(" \n").value, std::nullopt);
}

TEST_F(ResizePolicyTest, AnObjectIsPassedOnWithUnknownFields) {
  const auto policy =
      Policy(R"({"granularity":"1Gi","minimumIncrease":1073741824,"maxModifications":4,)"
             R"("window":"24h","fromTheFuture":{"x":1}})");
  ASSERT_EQ(policy.outcome.kind, OutcomeKind::kOk) << policy.outcome.reason;
  ASSERT_TRUE(policy.value.has_value());
  EXPECT_EQ((*policy.value)["granularity"], "1Gi");
  EXPECT_EQ((*policy.value)["minimumIncrease"], 1073741824);
  EXPECT_EQ((*policy.value)["maxModifications"], 4);
  EXPECT_EQ((*policy.value)["window"], "24h");
  EXPECT_TRUE(policy.value->contains("fromTheFuture"));
  EXPECT_TRUE(policy.outcome.warnings.empty());
  // Every field is optional; a known field that is null counts as left out.
  const auto sparse = Policy(R"({"granularity":"4Ki","window":null})");
  ASSERT_TRUE(sparse.ok()) << sparse.outcome.reason;
  EXPECT_EQ(*sparse.value, json({{"granularity", "4Ki"}}));
  EXPECT_EQ(*Policy("{}").value, json::object());
}

TEST_F(ResizePolicyTest, AnythingButAnObjectIsAnErrorNamingDriverAndFunction) {
  for (const char* out : {"[1,2]", "4", "\"1Gi\"", "true", "{\"granularity\":", "no limits"}) {
    const auto policy = Policy(out);
    EXPECT_EQ(policy.outcome.kind, OutcomeKind::kError) << out;
    EXPECT_EQ(policy.outcome.cause, ErrorCause::kBadOutput) << out;
    EXPECT_NE(policy.outcome.reason.find("driver scripted.example.com: GetResizePolicy: "),
              std::string::npos)
        << policy.outcome.reason;
    EXPECT_NE(policy.outcome.reason.find("JSON object"), std::string::npos)
        << policy.outcome.reason;
    EXPECT_EQ(policy.value, std::nullopt);
  }
}

TEST_F(ResizePolicyTest, AFieldOfTheWrongTypeIsAnErrorNamingTheField) {
  const std::map<std::string, std::string> cases{
      {R"({"granularity":1.5})", "granularity"},
      {R"({"granularity":["1Gi"]})", "granularity"},
      {R"({"minimumIncrease":true})", "minimumIncrease"},
      {R"({"maxModifications":"4"})", "maxModifications"},
      {R"({"maxModifications":-1})", "maxModifications"},
      {R"({"maxModifications":4.0})", "maxModifications"},
      {R"({"window":86400})", "window"},
      {R"({"granularity":"1Gi","window":{"hours":24}})", "window"},
  };
  for (const auto& [out, field] : cases) {
    const auto policy = Policy(out);
    EXPECT_EQ(policy.outcome.kind, OutcomeKind::kError) << out;
    EXPECT_EQ(policy.outcome.cause, ErrorCause::kBadOutput) << out;
    EXPECT_NE(policy.outcome.reason.find("GetResizePolicy: field " + field + ": expected"),
              std::string::npos)
        << out << " -> " << policy.outcome.reason;
  }
}

TEST_F(ResizePolicyTest, StderrAloneIsAnErrorAndAfterAnObjectAWarning) {
  const auto failed = Policy("", "unknown volume type io3\n");
  EXPECT_EQ(failed.outcome.kind, OutcomeKind::kError);
  EXPECT_EQ(failed.outcome.cause, ErrorCause::kDriverReported);
  EXPECT_NE(failed.outcome.reason.find("unknown volume type io3"), std::string::npos);
  EXPECT_EQ(failed.value, std::nullopt);

  const auto warned = Policy(R"({"granularity":"1Gi"})", "limits assumed for gp3");
  ASSERT_TRUE(warned.ok()) << warned.outcome.reason;
  EXPECT_EQ((*warned.value)["granularity"], "1Gi");
  ASSERT_EQ(warned.outcome.warnings.size(), 1U);
  EXPECT_EQ(warned.outcome.warnings[0], "limits assumed for gp3");

  // Stderr does not rescue a bad field.
  const auto bad = Policy(R"({"window":1})", "note");
  EXPECT_EQ(bad.outcome.kind, OutcomeKind::kError);
  EXPECT_TRUE(bad.outcome.warnings.empty());
}

}  // namespace
}  // namespace discoblocks::drivers
