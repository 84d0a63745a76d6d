// Structural defaulting as the API server applies it to custom resources.
#include "kube/schema_defaults.h"

#include <gtest/gtest.h>

namespace discoblocks::kube {
namespace {

using nlohmann::json;

const json& Schema() {
  static const json kSchema = json::parse(R"({
    "type": "object",
    "properties": {
      "spec": {
        "type": "object",
        "properties": {
          "size": {"type": "string", "default": "1Gi"},
          "modes": {"type": "array", "default": ["ReadWriteOnce"]},
          "policy": {
            "type": "object",
            "default": {},
            "properties": {"pause": {"type": "boolean", "default": false}}
          },
          "limits": {
            "type": "object",
            "properties": {"cpu": {"type": "integer", "default": 2}}
          },
          "disks": {
            "type": "array",
            "items": {"type": "object", "properties": {"index": {"type": "integer", "default": 0}}}
          },
          "byName": {
            "type": "object",
            "additionalProperties": {
              "type": "object", "properties": {"weight": {"type": "integer", "default": 1}}
            }
          }
        }
      }
    }
  })");
  return kSchema;
}

json Defaulted(json object) {
  ApplySchemaDefaults(object, Schema());
  return object;
}

TEST(SchemaDefaultsTest, FillsAbsentFieldsAndObjectsCreatedByTheirOwnDefault) {
  EXPECT_EQ(Defaulted(json::parse(R"({"spec": {}})")),
            json::parse(R"({"spec": {"size": "1Gi", "modes": ["ReadWriteOnce"],
                                     "policy": {"pause": false}}})"));
}

TEST(SchemaDefaultsTest, KeepsWhatIsSetAndReplacesNull) {
  EXPECT_EQ(Defaulted(json::parse(R"({"spec": {"size": "5Gi", "modes": null,
                                                "policy": {"pause": true}}})")),
            json::parse(R"({"spec": {"size": "5Gi", "modes": ["ReadWriteOnce"],
                                     "policy": {"pause": true}}})"));
}

TEST(SchemaDefaultsTest, NestedDefaultsOnlyInsideObjectsThatExist) {
  // "limits" has no default of its own, so its cpu default waits for it.
  const json without = Defaulted(json::parse(R"({"spec": {}})"));
  EXPECT_FALSE(without["spec"].contains("limits"));
  const json with = Defaulted(json::parse(R"({"spec": {"limits": {}}})"));
  EXPECT_EQ(with["spec"]["limits"], json::parse(R"({"cpu": 2})"));
  // No spec at all: nothing below it is defaulted.
  EXPECT_EQ(Defaulted(json::object()), json::object());
}

TEST(SchemaDefaultsTest, DefaultsArrayItemsAndMapValues) {
  const json object = Defaulted(json::parse(R"({"spec": {"disks": [{}, {"index": 3}],
                                                          "byName": {"a": {}, "b": {"weight": 5}}}})"));
  EXPECT_EQ(object["spec"]["disks"], json::parse(R"([{"index": 0}, {"index": 3}])"));
  EXPECT_EQ(object["spec"]["byName"], json::parse(R"({"a": {"weight": 1}, "b": {"weight": 5}})"));
}

TEST(SchemaDefaultsTest, LeavesValuesOfTheWrongTypeAlone) {
  EXPECT_EQ(Defaulted(json::parse(R"({"spec": "text"})")), json::parse(R"({"spec": "text"})"));
  EXPECT_EQ(Defaulted(json::parse(R"({"spec": {"policy": [1], "disks": {"x": 1}}})"))["spec"].at(
                "policy"),
            json::parse("[1]"));
  EXPECT_EQ(Defaulted(json::parse("[1, 2]")), json::parse("[1, 2]"));
}

}  // namespace
}  // namespace discoblocks::kube
