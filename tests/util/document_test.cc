#include "util/document.h"

#include <gtest/gtest.h>

namespace discoblocks {
namespace {

using nlohmann::json;

TEST(DocumentTest, YamlScalarsAreTypedByTheCoreSchema) {
  auto doc = ParseDocument(R"(
apiVersion: storage.k8s.io/v1
allowVolumeExpansion: true
count: 3
ratio: 0.5
nothing: null
tilde: ~
empty:
parameters:
  replicas: "1"
  flag: 'true'
  version: 1.10
  octal: 0o17
  hex: 0xff
  word: yes
)",
                           "test");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ((*doc)["allowVolumeExpansion"], true);
  EXPECT_EQ((*doc)["count"], 3);
  EXPECT_EQ((*doc)["ratio"], 0.5);
  EXPECT_TRUE((*doc)["nothing"].is_null());
  EXPECT_TRUE((*doc)["tilde"].is_null());
  EXPECT_TRUE((*doc)["empty"].is_null());
  EXPECT_EQ((*doc)["parameters"]["replicas"], "1");
  EXPECT_EQ((*doc)["parameters"]["flag"], "true");
  EXPECT_EQ((*doc)["parameters"]["version"], 1.1);
  EXPECT_EQ((*doc)["parameters"]["octal"], 15);
  EXPECT_EQ((*doc)["parameters"]["hex"], 255);
  EXPECT_EQ((*doc)["parameters"]["word"], "yes");  // YAML 1.2: not a boolean
}

TEST(DocumentTest, JsonIsParsedExactly) {
  auto doc = ParseDocument(R"({"a": 9007199254740993, "b": [true, null, "x"]})", "test");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["a"].get<std::int64_t>(), 9007199254740993);
  EXPECT_EQ((*doc)["b"], json::parse(R"([true, null, "x"])"));
}

TEST(DocumentTest, FlowStyleYamlThatLooksLikeJson) {
  auto doc = ParseDocument("{a: 1, b: [x, y]}", "test");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(*doc, json::parse(R"({"a": 1, "b": ["x", "y"]})"));
}

TEST(DocumentTest, ErrorsNameTheInputAndPosition) {
  auto bad_yaml = ParseDocument("a: [1, 2\nb: 3\n", "sc.yaml");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_NE(bad_yaml.error().message.find("sc.yaml: not valid YAML or JSON: line"),
            std::string::npos)
      << bad_yaml.error().message;
  auto bad_json = ParseDocument("{\"a\": [}", "sc.json");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_NE(bad_json.error().message.find("sc.json: not valid JSON"), std::string::npos)
      << bad_json.error().message;
}

TEST(DocumentTest, EmptyAndMultipleDocumentsAreRefused) {
  EXPECT_EQ(ParseDocument("", "x").error().message, "x: empty document");
  EXPECT_EQ(ParseDocument("a: 1\n---\nb: 2\n", "x").error().message,
            "x: holds 2 YAML documents; expected one");
}

// Issue 10, found by tests/fuzz/document_fuzzer.cc: on these, yaml-cpp 0.7's
// LoadAll looped forever, allocating until the process died, because its
// parser kept returning an empty document at the same place. Now each is a
// syntax error naming that place, whichever entry point reads it.
TEST(DocumentTest, YamlOnWhichTheParserStopsMakingProgressIsASyntaxError) {
  EXPECT_EQ(ParseDocument(",", "x").error().message,
            "x: not valid YAML or JSON: line 1, column 1: unexpected ','");
  EXPECT_EQ(ParseDocument("a: b\n---\n,", "x").error().message,
            "x: not valid YAML or JSON: line 3, column 1: unexpected ','");
  EXPECT_EQ(LoadYaml("{a: 1}\n,", "x").error().message,
            "x: not valid YAML: line 2, column 1: unexpected ','");
  // A JSON object with a lost quote (what the fuzzer found): the JSON
  // parser's message, as for any text that looks like JSON and is not YAML.
  const auto broken = ParseDocument("{\"a\": 1,\n b\": 2\n},\n\"c\": 3}", "x");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message.rfind("x: not valid JSON: ", 0), 0) << broken.error().message;
  // Documents that do make progress still count.
  EXPECT_EQ(ParseDocument("a: 1\n---\n---\nb: 2\n", "x").error().message,
            "x: holds 3 YAML documents; expected one");
}

// Issue 10, found by tests/fuzz/document_fuzzer.cc: a JSON number beyond a
// double's range threw an exception out of ParseDocument, which `serve` did
// not expect from a driver.yaml (nor the CLI from a file). Now an error, the
// same as ParseJson's.
TEST(DocumentTest, JsonNumberBeyondADoubleIsAnError) {
  const std::string expected =
      "x: not valid JSON: [json.exception.out_of_range.406] number overflow parsing '1e400'";
  EXPECT_EQ(ParseDocument(R"({"limits": {"memory": 1e400}})", "x").error().message, expected);
  EXPECT_EQ(ParseJson(R"({"limits": {"memory": 1e400}})", "x").error().message, expected);
}

}  // namespace
}  // namespace discoblocks
