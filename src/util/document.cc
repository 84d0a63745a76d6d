#include "util/document.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace discoblocks {
namespace {

using nlohmann::json;

bool IsOneOf(const std::string& value, std::initializer_list<const char*> options) {
  return std::any_of(options.begin(), options.end(),
                     [&](const char* option) { return value == option; });
}

// Resolves a plain (unquoted, untagged) YAML scalar by the YAML 1.2 core schema.
json ResolvePlainScalar(const std::string& text) {
  if (text.empty() || IsOneOf(text, {"~", "null", "Null", "NULL"})) return nullptr;
  if (IsOneOf(text, {"true", "True", "TRUE"})) return true;
  if (IsOneOf(text, {"false", "False", "FALSE"})) return false;

  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (std::regex_match(text, kDecimal)) {
    int64_t value = 0;
    const char* digits = text[0] == '+' ? begin + 1 : begin;
    if (auto [ptr, ec] = std::from_chars(digits, end, value); ec == std::errc() && ptr == end) {
      return value;
    }
    // Out of int64 range: keep the magnitude as a float, as JSON parsers do.
    return std::strtod(text.c_str(), nullptr);
  }
  if (std::regex_match(text, kOctal) || std::regex_match(text, kHex)) {
    uint64_t value = 0;
    const int base = text[1] == 'o' ? 8 : 16;
    if (auto [ptr, ec] = std::from_chars(begin + 2, end, value, base);
        ec == std::errc() && ptr == end) {
      return value;
    }
    return text;
  }
  if (std::regex_match(text, kFloat)) return std::strtod(text.c_str(), nullptr);
  return text;
}

json ScalarToJson(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;  // quoted or !!str
  if (tag == "?" || tag.empty()) return ResolvePlainScalar(text);
  // Other explicit tags (!!int, !!bool, ...) resolve like plain scalars.
  return ResolvePlainScalar(text);
}

Result<json> YamlToJson(const YAML::Node& node, int depth) {
  // yaml-cpp already limits nesting while parsing; this guards the conversion.
  constexpr int kMaxDepth = 512;
  if (depth > kMaxDepth) return MakeError("document nested too deeply");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      return ScalarToJson(node);
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const auto& item : node) {
        auto converted = YamlToJson(item, depth + 1);
        if (!converted) return converted;
        array.push_back(std::move(converted).value());
      }
      return array;
    }
    case YAML::NodeType::Map: {
      json object = json::object();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          return MakeError(
              fmt::format("line {}: mapping keys must be strings", entry.first.Mark().line + 1));
        }
        auto converted = YamlToJson(entry.second, depth + 1);
        if (!converted) return converted;
        object[entry.first.Scalar()] = std::move(converted).value();
      }
      return object;
    }
  }
  return json(nullptr);
}

bool LooksLikeJson(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
}

}  // namespace

Result<nlohmann::json> ParseDocument(std::string_view text, std::string_view what) {
  // JSON first when it looks like JSON, for exact numbers and clearer errors;
  // flow-style YAML also starts with { or [, so a JSON failure falls back to YAML.
  std::string json_error;
  if (LooksLikeJson(text)) {
    try {
      return json::parse(text);
    } catch (const json::parse_error& e) {
      json_error = e.what();
    }
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    if (!json_error.empty())
      return MakeError(fmt::format("{}: not valid JSON: {}", what, json_error));
    return MakeError(fmt::format("{}: not valid YAML or JSON: line {}, column {}: {}", what,
                                 e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (documents.empty() || documents[0].IsNull()) {
    return MakeError(fmt::format("{}: empty document", what));
  }
  if (documents.size() > 1) {
    return MakeError(
        fmt::format("{}: holds {} YAML documents; expected one", what, documents.size()));
  }
  auto converted = YamlToJson(documents[0], 0);
  if (!converted) return MakeError(fmt::format("{}: {}", what, converted.error().message));
  return converted;
}

}  // namespace discoblocks
