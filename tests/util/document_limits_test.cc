// Size and nesting limits on every document read (issue "Hardening", items 2
// and 3): a field nested 200,000 arrays deep used to overflow the stack when
// the parsed document was copied.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "util/document.h"
#include "util/json_fields.h"

namespace discoblocks {
namespace {

using nlohmann::json;

constexpr int kDeep = 200'000;

std::string NestedArrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

std::string NestedObjects(int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += R"({"a":)";
  text += "1";
  text += std::string(static_cast<std::size_t>(depth), '}');
  return text;
}

// Block mappings, each one level deeper: "a:\n  a:\n    a: 1\n".
std::string NestedYamlMaps(int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i) {
    text += std::string(static_cast<std::size_t>(2 * i), ' ') + (i + 1 < depth ? "a:\n" : "a: 1\n");
  }
  return text;
}

std::string DepthMessage(const std::string& what, int limit) {
  return what + ": nested deeper than the limit of " + std::to_string(limit) + " levels";
}

TEST(DocumentLimitsTest, DepthLimitIsExactForJson) {
  for (const auto& nested : {NestedArrays, NestedObjects}) {
    EXPECT_TRUE(ParseJson(nested(kDefaultMaxDepth), "x").ok());
    EXPECT_TRUE(ParseDocument(nested(kDefaultMaxDepth), "x").ok());
    EXPECT_TRUE(CheckJsonLimits(nested(kDefaultMaxDepth), "x", {}).ok());
    auto too_deep = ParseJson(nested(kDefaultMaxDepth + 1), "x");
    ASSERT_FALSE(too_deep.ok());
    EXPECT_EQ(too_deep.error().message, DepthMessage("x", kDefaultMaxDepth));
    auto document = ParseDocument(nested(kDefaultMaxDepth + 1), "x");
    ASSERT_FALSE(document.ok());
    EXPECT_EQ(document.error().message, DepthMessage("x", kDefaultMaxDepth));
  }
  const ParseLimits three{kDefaultMaxBytes, 3};
  EXPECT_TRUE(ParseJson(R"({"a": [1, {"b": 2}], "c": {"d": []}})", "x", three).ok());
  EXPECT_EQ(ParseJson(R"({"a": [1, {"b": [2]}]})", "x", three).error().message,
            DepthMessage("x", 3));
  EXPECT_TRUE(ParseJson("7", "x", {kDefaultMaxBytes, 0}).ok());
  EXPECT_FALSE(ParseJson("[]", "x", {kDefaultMaxBytes, 0}).ok());
}

TEST(DocumentLimitsTest, TwoHundredThousandLevelsAreRefusedQuickly) {
  const auto started = std::chrono::steady_clock::now();
  for (const std::string& text : {NestedArrays(kDeep), NestedObjects(kDeep)}) {
    auto json_result = ParseJson(text, "admission review");
    ASSERT_FALSE(json_result.ok());
    EXPECT_EQ(json_result.error().message, DepthMessage("admission review", kDefaultMaxDepth));
    auto document = ParseDocument(text, "dc.json");
    ASSERT_FALSE(document.ok());
    EXPECT_EQ(document.error().message, DepthMessage("dc.json", kDefaultMaxDepth));
    // Unclosed: the scan stops at the limit, wherever the text ends.
    EXPECT_FALSE(CheckJsonLimits(text.substr(0, kDeep), "x", {}).ok());
  }
  // Inside a field of an otherwise ordinary object, as in the issue.
  const std::string field =
      R"({"kind": "DiskConfig", "spec": {"capacity": )" + NestedArrays(kDeep) + "}}";
  EXPECT_EQ(ParseDocument(field, "dc.json").error().message,
            DepthMessage("dc.json", kDefaultMaxDepth));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(DocumentLimitsTest, BracketsInsideStringsDoNotCount) {
  const ParseLimits one{kDefaultMaxBytes, 1};
  EXPECT_TRUE(ParseJson(R"({"a": "[[[{{{", "b": "]]]}}}"})", "x", one).ok());
  // An escaped quote does not end the string; the brackets after it are text.
  EXPECT_TRUE(ParseJson(R"(["a \" [[[ {{{ \" b"])", "x", one).ok());
  // An escaped backslash does not escape the closing quote: the bracket after
  // it is structure again.
  EXPECT_TRUE(ParseJson(R"(["\\", "x"])", "x", one).ok());
  EXPECT_EQ(ParseJson(R"(["\\", ["x"]])", "x", one).error().message, DepthMessage("x", 1));
  EXPECT_EQ(ParseJson(R"(["\\\"[", ["x"]])", "x", one).error().message, DepthMessage("x", 1));
  // Keys too.
  EXPECT_TRUE(ParseJson(R"({"[[[": 1, "{\"{": 2})", "x", one).ok());
}

TEST(DocumentLimitsTest, SizeLimitIsExact) {
  const std::string text = R"({"a": "0123456789"})";
  const ParseLimits exact{text.size(), kDefaultMaxDepth};
  const ParseLimits below{text.size() - 1, kDefaultMaxDepth};
  EXPECT_TRUE(ParseJson(text, "f.json", exact).ok());
  EXPECT_TRUE(ParseDocument(text, "f.json", exact).ok());
  const std::string message = "f.json is " + std::to_string(text.size()) +
                              " bytes, above the limit of " + std::to_string(text.size() - 1) +
                              " bytes";
  EXPECT_EQ(ParseJson(text, "f.json", below).error().message, message);
  EXPECT_EQ(ParseDocument(text, "f.json", below).error().message, message);
  EXPECT_EQ(
      ParseDocument("a: 0123456789012345\n", "f.yaml", {10, kDefaultMaxDepth}).error().message,
      "f.yaml is 20 bytes, above the limit of 10 bytes");
  EXPECT_EQ(LoadYaml("a: 0123456789012345\n", "f.yaml", {10, kDefaultMaxDepth}).error().message,
            "f.yaml is 20 bytes, above the limit of 10 bytes");
}

TEST(DocumentLimitsTest, ValueLimitIsExactAndStringsDoNotCount) {
  // [{},{},{}]: the outer array, three objects and two commas.
  const ParseLimits limits{kDefaultMaxBytes, kDefaultMaxDepth, 6};
  EXPECT_TRUE(ParseJson("[{},{},{}]", "doc", limits));
  const auto over = ParseJson("[{},{},{},{}]", "doc", limits);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message, "doc has more than 6 values (the limit)");
  EXPECT_TRUE(ParseJson(R"(["[{,,,,,,,,,}]"])", "doc", limits));
}

TEST(DocumentLimitsTest, ABodyOfEmptyObjectsIsRefusedBeforeItIsParsed) {
  // 3 MiB of "{}," would take 80 MiB of heap once parsed.
  std::string body = "[";
  while (body.size() < (std::size_t{3} << 20)) body += "{},";
  body.back() = ']';
  const auto parsed = ParseJson(body, "review", {std::size_t{4} << 20, kDefaultMaxDepth, 250'000});
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("more than 250000 values"), std::string::npos);
}

TEST(DocumentLimitsTest, DepthLimitIsExactForYaml) {
  EXPECT_TRUE(ParseDocument(NestedYamlMaps(kDefaultMaxDepth), "x.yaml").ok());
  EXPECT_EQ(ParseDocument(NestedYamlMaps(kDefaultMaxDepth + 1), "x.yaml").error().message,
            DepthMessage("x.yaml", kDefaultMaxDepth));
  EXPECT_TRUE(LoadYaml(NestedYamlMaps(kDefaultMaxDepth), "x.yaml").ok());
  EXPECT_EQ(LoadYaml(NestedYamlMaps(kDefaultMaxDepth + 1), "x.yaml").error().message,
            DepthMessage("x.yaml", kDefaultMaxDepth));
}

TEST(DocumentLimitsTest, DeepYamlIsRefusedWithoutCrashing) {
  std::string block_sequences;
  for (int i = 0; i < kDeep; ++i) block_sequences += "- ";
  block_sequences += "x\n";
  const std::string flow = "a: " + NestedArrays(kDeep) + "\n";
  for (const std::string& text : {block_sequences, flow}) {
    EXPECT_EQ(ParseDocument(text, "x.yaml").error().message,
              DepthMessage("x.yaml", kDefaultMaxDepth));
    EXPECT_EQ(LoadYaml(text, "x.yaml").error().message, DepthMessage("x.yaml", kDefaultMaxDepth));
  }
}

TEST(DocumentLimitsTest, AliasesCannotExpandWithoutBound) {
  // Each level refers to the previous one nine times: 9^9 nodes in 300 bytes.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) text += (j == 0 ? "" : ", ") + prev;
    text += "]\n";
  }
  auto document = ParseDocument(text, "bomb.yaml");
  ASSERT_FALSE(document.ok());
  EXPECT_NE(document.error().message.find("bomb.yaml: expands to more than"), std::string::npos)
      << document.error().message;
  auto nodes = LoadYaml(text, "bomb.yaml");
  ASSERT_FALSE(nodes.ok());
  EXPECT_NE(nodes.error().message.find("bomb.yaml: expands to more than"), std::string::npos)
      << nodes.error().message;
}

// std::regex_match recursed once per character: a plain scalar of 200,000
// digits overflowed the stack. The hand-written matchers type it the same way.
TEST(DocumentLimitsTest, LongPlainScalarsAreTypedWithoutCrashing) {
  const std::string digits(kDeep, '1');
  auto integer = ParseDocument("a: " + digits + "\n", "x.yaml");
  ASSERT_TRUE(integer.ok()) << integer.error().message;
  EXPECT_TRUE((*integer)["a"].is_number_float());  // beyond int64, as JSON parsers do
  auto fraction = ParseDocument("a: 0." + digits + "e5\n", "x.yaml");
  ASSERT_TRUE(fraction.ok()) << fraction.error().message;
  EXPECT_TRUE((*fraction)["a"].is_number_float());
  auto text = ParseDocument("a: " + digits + "x\n", "x.yaml");
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ((*text)["a"], digits + "x");
}

TEST(DocumentLimitsTest, CoreSchemaNumbersAreMatchedExactly) {
  auto doc = ParseDocument(R"(
ints: [0, -3, +4, 0x1F, 0o17]
floats: [1e5, .5, 5., -2.5E-3, +.1e+2]
strings: [1e, e5, ., +, 0x, 0o8, 0xg, 1.2.3, 1e5e, "1", 1_000, 0b1]
)",
                           "x.yaml");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ((*doc)["ints"], json::parse("[0, -3, 4, 31, 15]"));
  for (const json& value : (*doc)["floats"]) EXPECT_TRUE(value.is_number_float()) << value;
  for (const json& value : (*doc)["strings"]) EXPECT_TRUE(value.is_string()) << value;
}

TEST(JsonFieldsTest, WrongTypesNameTheField) {
  const json object = {{"s", "text"}, {"n", 5}, {"o", {{"k", 1}}}, {"z", nullptr}};
  EXPECT_EQ(*OptionalString(object, "s", "a.s"), "text");
  EXPECT_EQ(*OptionalString(object, "missing", "a.missing", "dflt"), "dflt");
  EXPECT_EQ(*OptionalString(object, "z", "a.z", "dflt"), "dflt");
  EXPECT_EQ(OptionalString(object, "n", "a.n").error().message,
            "a.n: expected a string, got a number");
  EXPECT_EQ(OptionalString(object, "o", "a.o").error().message,
            "a.o: expected a string, got an object");
  EXPECT_EQ(*OptionalString(json("not an object"), "s", "a.s", "dflt"), "dflt");
  EXPECT_EQ(*OptionalObject(object, "o", "a.o"), &object["o"]);
  EXPECT_EQ(*OptionalObject(object, "missing", "a.missing"), nullptr);
  EXPECT_EQ(OptionalObject(object, "s", "a.s").error().message,
            "a.s: expected an object, got a string");
  EXPECT_EQ(OptionalObject(json::object({{"a", json::array()}}), "a", "x.a").error().message,
            "x.a: expected an object, got an array");
  EXPECT_EQ(StringOr(object, "n", "dflt"), "dflt");
  EXPECT_EQ(StringOr(object, "s", "dflt"), "text");
}

TEST(JsonFieldsTest, StringAtFollowsAPathAndGivesEmptyForAnythingElse) {
  const json pod = {{"metadata", {{"name", "db-0"}, {"labels", {{"app", 7}}}}}, {"spec", "odd"}};
  EXPECT_EQ(StringAt(pod, {"metadata", "name"}), "db-0");
  EXPECT_EQ(StringAt(pod, {"metadata", "labels", "app"}), "");  // a number
  EXPECT_EQ(StringAt(pod, {"metadata", "namespace"}), "");      // absent
  EXPECT_EQ(StringAt(pod, {"spec", "nodeName"}), "");           // a string on the way
  EXPECT_EQ(StringAt(json::array({1, 2}), {"metadata"}), "");
}

}  // namespace
}  // namespace discoblocks
