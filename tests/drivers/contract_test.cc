// Each function gets exactly the contract's inputs, objects as compact JSON: as
// environment variables (ABI v1) or as one document on stdin (ABI v2).
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

TEST(ContractTest, InputDocumentEmbedsObjectsAndQuotesText) {
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::parse(R"({ "provisioner" : "x",  "a": [1, 2] })");
  auto document = BuildInputDocument(Function::kIsStorageClassValid, inputs, {});
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(*document, R"({"STORAGE_CLASS_JSON":{"a":[1,2],"provisioner":"x"}})");

  inputs.pvc_name = "data \"quoted\"";
  inputs.pvc_namespace = "default";
  inputs.storage_class_name = "ebs-gp3";
  document = BuildInputDocument(Function::kGetPVCStub, inputs, {});
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(
      *document,
      R"({"PVC_NAME":"data \"quoted\"","PVC_NAMESACE":"default","STORAGE_CLASS_NAME":"ebs-gp3"})");
}

TEST(ContractTest, InputDocumentKeepsTheV1ValueOfAMissingAttachment) {
  CallInputs inputs;
  inputs.persistent_volume = nlohmann::json::object();
  auto document = BuildInputDocument(Function::kGetPreResizeCommand, inputs, {});
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(*document, R"({"PERSISTENT_VOLUME_JSON":{},"VOLUME_ATTACHMENT_JSON":""})");
}

TEST(ContractTest, InputDocumentOfAFunctionWithoutInputsIsAnEmptyObject) {
  auto document = BuildInputDocument(Function::kGetCSIDriverNamespace, {}, {});
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(*document, "{}");
}

TEST(ContractTest, InputDocumentNamesAMissingInput) {
  auto document = BuildInputDocument(Function::kGetStorageClassAllowedTopology, {}, {});
  ASSERT_FALSE(document.ok());
  EXPECT_EQ(document.error().message, "GetStorageClassAllowedTopology needs a Node");
}

// Extras are text, as in the environment: a driver reads exactly what was given,
// whether or not it is JSON, and the last extra of a name wins over the contract's
// value and earlier extras.
TEST(ContractTest, InputDocumentExtrasAreStringsThatOverride) {
  CallInputs inputs;
  inputs.storage_class = nlohmann::json::object();
  const Environment extra{
      {"STORAGE_CLASS_JSON", "not json"}, {"DEBUG", "1"}, {"STORAGE_CLASS_JSON", R"({"a":1})"}};
  auto document = BuildInputDocument(Function::kIsStorageClassValid, inputs, extra);
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_EQ(*document, R"({"DEBUG":"1","STORAGE_CLASS_JSON":"{\"a\":1}"})");
}

TEST(ContractTest, InputDocumentReplacesInvalidUtf8) {
  CallInputs inputs;
  inputs.storage_class = nlohmann::json{{"name", std::string("bad \xff byte")}};
  auto document = BuildInputDocument(Function::kIsStorageClassValid, inputs, {});
  ASSERT_TRUE(document.ok()) << document.error().message;
  EXPECT_TRUE(nlohmann::json::accept(*document)) << *document;
  EXPECT_NE(document->find("\xEF\xBF\xBD"), std::string::npos) << *document;
}

}  // namespace
}  // namespace discoblocks::drivers
