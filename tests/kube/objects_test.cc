// Object keys and StripManagedFields.
#include "kube/objects.h"

#include <gtest/gtest.h>

namespace discoblocks::kube {
namespace {

using nlohmann::json;

TEST(ObjectsTest, KeysAreNamespaceSlashNameOrNameAlone) {
  EXPECT_EQ(ObjectKey(json{{"metadata", {{"namespace", "ns"}, {"name", "p"}}}}), "ns/p");
  EXPECT_EQ(ObjectKey(json{{"metadata", {{"name", "node-1"}}}}), "node-1");
  EXPECT_EQ(ObjectKey("ns", "p"), "ns/p");
  EXPECT_EQ(ObjectKey("", "node-1"), "node-1");
  EXPECT_EQ(ObjectKey(json::array()), "");
  EXPECT_EQ(ObjectKey(json{{"metadata", 7}}), "");

  EXPECT_EQ(SplitObjectKey("ns/p"), (std::pair<std::string, std::string>{"ns", "p"}));
  EXPECT_EQ(SplitObjectKey("node-1"), (std::pair<std::string, std::string>{"", "node-1"}));
  EXPECT_EQ(SplitObjectKey(ObjectKey("a", "b")), (std::pair<std::string, std::string>{"a", "b"}));
}

TEST(ObjectsTest, StripManagedFieldsDropsTheServersBookkeepingOnly) {
  const json object = json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {
      "name": "c", "namespace": "ns", "resourceVersion": "7", "labels": {"app": "db"},
      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}", "keep": "me"},
      "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}]
    },
    "data": {"key": "value"}
  })");
  const json expected = json::parse(R"({
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {
      "name": "c", "namespace": "ns", "resourceVersion": "7", "labels": {"app": "db"},
      "annotations": {"keep": "me"}
    },
    "data": {"key": "value"}
  })");
  EXPECT_EQ(StripManagedFields(object), expected);
}

TEST(ObjectsTest, StripManagedFieldsDropsAnnotationsLeftEmpty) {
  const json object = {
      {"metadata",
       {{"name", "c"}, {"annotations", {{std::string(kLastAppliedAnnotation), "{}"}}}}}};
  EXPECT_EQ(StripManagedFields(object), (json{{"metadata", {{"name", "c"}}}}));
}

TEST(ObjectsTest, StripManagedFieldsLeavesOddShapesAsTheyAre) {
  for (const json& odd :
       {json(nullptr), json::array({1, 2}), json("text"), json{{"metadata", "not an object"}},
        json{{"metadata", {{"annotations", 3}}}}}) {
    EXPECT_EQ(StripManagedFields(odd), odd) << odd.dump();
  }
}

}  // namespace
}  // namespace discoblocks::kube
