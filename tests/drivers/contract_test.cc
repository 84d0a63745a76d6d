// Each function gets exactly the contract's environment, objects as compact JSON.
#include <gtest/gtest.h>

#include "drivers/contract.h"

namespace discoblocks::drivers {
namespace {

TEST(ContractTest, NineRequiredFunctionsAndOneOptionalFoundByName) {
  EXPECT_EQ(AllFunctions().size(), 10U);
  for (std::size_t i = 0; i < AllFunctions().size(); ++i) {
    EXPECT_EQ(AllFunctions()[i].optional, i >= 9) << AllFunctions()[i].name;
  }
  for (const FunctionSpec& spec : AllFunctions()) {
    EXPECT_EQ(FunctionByName(spec.name), spec.function);
    EXPECT_EQ(&SpecOf(spec.function), &spec);
  }
  EXPECT_EQ(FunctionByName("isStorageClassValid"), std::nullopt);
}

TEST(ContractTest, StorageClassIsPassedAsCompactJson) {
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::parse(R"({ "provisioner" : "x",  "a": [1, 2] })");
  inputs.node = nlohmann::json::object();  // not read by this function
  auto env = BuildEnvironment(Function::kIsStorageClassValid, inputs);
  ASSERT_TRUE(env.ok());
  ASSERT_EQ(env->size(), 1U);
  EXPECT_EQ((*env)[0].first, "STORAGE_CLASS_JSON");
  EXPECT_EQ((*env)[0].second, R"({"a":[1,2],"provisioner":"x"})");
}

TEST(ContractTest, PvcStubUsesTheOriginalMisspelledNamespaceVariable) {
  CallInputs inputs;
  inputs.pvc_name = "data";
  inputs.pvc_namespace = "default";
  inputs.storage_class_name = "ebs-gp3";
  auto env = BuildEnvironment(Function::kGetPVCStub, inputs);
  ASSERT_TRUE(env.ok());
  const Environment expected{
      {"PVC_NAME", "data"}, {"PVC_NAMESACE", "default"}, {"STORAGE_CLASS_NAME", "ebs-gp3"}};
  EXPECT_EQ(*env, expected);
}

TEST(ContractTest, MissingInputIsNamed) {
  auto env = BuildEnvironment(Function::kGetStorageClassAllowedTopology, {});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().message, "GetStorageClassAllowedTopology needs a Node");
}

TEST(ContractTest, ResizeWithoutAttachmentGetsAnEmptyString) {
  CallInputs inputs;
  inputs.persistent_volume = nlohmann::json::object();
  auto env = BuildEnvironment(Function::kGetPreResizeCommand, inputs);
  ASSERT_TRUE(env.ok());
  const Environment expected{{"PERSISTENT_VOLUME_JSON", "{}"}, {"VOLUME_ATTACHMENT_JSON", ""}};
  EXPECT_EQ(*env, expected);
  EXPECT_FALSE(BuildEnvironment(Function::kGetPreMountCommand, inputs).ok());
}

TEST(ContractTest, FunctionsWithoutInputsGetAnEmptyEnvironment) {
  auto env = BuildEnvironment(Function::kGetCSIDriverNamespace, {});
  ASSERT_TRUE(env.ok());
  EXPECT_TRUE(env->empty());
}

}  // namespace
}  // namespace discoblocks::drivers
