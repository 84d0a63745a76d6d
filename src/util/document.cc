#include "util/document.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

namespace discoblocks {
namespace {

using nlohmann::json;

bool IsOneOf(const std::string& value, std::initializer_list<const char*> options) {
  return std::any_of(options.begin(), options.end(),
                     [&](const char* option) { return value == option; });
}

// The core schema's number patterns, matched by hand: std::regex_match
// recurses once per character in libstdc++, so a plain scalar of 200,000
// digits overflowed the stack.

// Skips characters of `text` from `at` that satisfy `accept`; returns how many.
template <typename Accept>
std::size_t Skip(std::string_view text, std::size_t& at, Accept accept) {
  const std::size_t start = at;
  while (at < text.size() && accept(text[at])) ++at;
  return at - start;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsOctalDigit(char c) { return c >= '0' && c <= '7'; }
bool IsHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

void SkipSign(std::string_view text, std::size_t& at) {
  if (at < text.size() && (text[at] == '-' || text[at] == '+')) ++at;
}

// [-+]?[0-9]+
bool IsDecimal(std::string_view text) {
  std::size_t at = 0;
  SkipSign(text, at);
  return Skip(text, at, IsDigit) > 0 && at == text.size();
}

// 0o[0-7]+ or 0x[0-9a-fA-F]+
bool IsOctalOrHex(std::string_view text) {
  if (text.size() < 3 || text[0] != '0' || (text[1] != 'o' && text[1] != 'x')) return false;
  std::size_t at = 2;
  return Skip(text, at, text[1] == 'o' ? IsOctalDigit : IsHexDigit) > 0 && at == text.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsFloat(std::string_view text) {
  std::size_t at = 0;
  SkipSign(text, at);
  const std::size_t integer_digits = Skip(text, at, IsDigit);
  std::size_t fraction_digits = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    fraction_digits = Skip(text, at, IsDigit);
  }
  if (integer_digits == 0 && fraction_digits == 0) return false;
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    ++at;
    SkipSign(text, at);
    if (Skip(text, at, IsDigit) == 0) return false;
  }
  return at == text.size();
}

// Resolves a plain (unquoted, untagged) YAML scalar by the YAML 1.2 core schema.
json ResolvePlainScalar(const std::string& text) {
  if (text.empty() || IsOneOf(text, {"~", "null", "Null", "NULL"})) return nullptr;
  if (IsOneOf(text, {"true", "True", "TRUE"})) return true;
  if (IsOneOf(text, {"false", "False", "FALSE"})) return false;

  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (IsDecimal(text)) {
    int64_t value = 0;
    const char* digits = text[0] == '+' ? begin + 1 : begin;
    if (auto [ptr, ec] = std::from_chars(digits, end, value); ec == std::errc() && ptr == end) {
      return value;
    }
    // Out of int64 range: keep the magnitude as a float, as JSON parsers do.
    return std::strtod(text.c_str(), nullptr);
  }
  if (IsOctalOrHex(text)) {
    uint64_t value = 0;
    const int base = text[1] == 'o' ? 8 : 16;
    if (auto [ptr, ec] = std::from_chars(begin + 2, end, value, base);
        ec == std::errc() && ptr == end) {
      return value;
    }
    return text;
  }
  if (IsFloat(text)) return std::strtod(text.c_str(), nullptr);
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

Error ValuesError(std::string_view what, std::size_t max_values) {
  return MakeError(fmt::format("{} has more than {} values (the limit)", what, max_values));
}

Error DepthError(std::string_view what, int max_depth) {
  return MakeError(fmt::format("{}: nested deeper than the limit of {} levels", what, max_depth));
}

// Aliases let a few bytes of YAML stand for many nodes; a document may expand
// to at most this many nodes beyond one per byte of its text.
constexpr std::size_t kYamlNodeAllowance = std::size_t{1} << 20;

Error TooManyNodes(std::string_view what, std::size_t budget) {
  return MakeError(
      fmt::format("{}: expands to more than {} nodes (through aliases)", what, budget));
}

// Recursion is bounded by `limits.max_depth`, checked on entry.
class YamlConverter {
 public:
  YamlConverter(std::string_view what, const ParseLimits& limits, std::size_t budget)
      : what_(what), limits_(limits), budget_(budget) {}

  Result<json> Convert(const YAML::Node& node, int depth) {
    if (++nodes_ > budget_) return TooManyNodes(what_, budget_);
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return json(nullptr);
      case YAML::NodeType::Scalar:
        return ScalarToJson(node);
      case YAML::NodeType::Sequence: {
        if (depth + 1 > limits_.max_depth) return DepthError(what_, limits_.max_depth);
        json array = json::array();
        for (const auto& item : node) {
          auto converted = Convert(item, depth + 1);
          if (!converted) return converted;
          array.push_back(std::move(converted).value());
        }
        return array;
      }
      case YAML::NodeType::Map: {
        if (depth + 1 > limits_.max_depth) return DepthError(what_, limits_.max_depth);
        json object = json::object();
        for (const auto& entry : node) {
          if (!entry.first.IsScalar()) {
            return MakeError(fmt::format("{}: line {}: mapping keys must be strings", what_,
                                         entry.first.Mark().line + 1));
          }
          auto converted = Convert(entry.second, depth + 1);
          if (!converted) return converted;
          object[entry.first.Scalar()] = std::move(converted).value();
        }
        return object;
      }
    }
    return json(nullptr);
  }

 private:
  std::string_view what_;
  const ParseLimits& limits_;
  std::size_t budget_;
  std::size_t nodes_ = 0;
};

// The nesting of a node tree, measured with an explicit stack (aliases make
// it a graph, hence the node budget).
Status CheckYamlDepth(const YAML::Node& root, std::string_view what, const ParseLimits& limits,
                      std::size_t budget) {
  std::vector<std::pair<YAML::Node, int>> pending{{root, 0}};
  std::size_t nodes = 0;
  while (!pending.empty()) {
    auto [node, depth] = std::move(pending.back());
    pending.pop_back();
    if (++nodes > budget) return TooManyNodes(what, budget);
    if (!node.IsSequence() && !node.IsMap()) continue;
    if (depth + 1 > limits.max_depth) return DepthError(what, limits.max_depth);
    for (const auto& item : node) {
      if (node.IsMap()) {
        pending.emplace_back(item.first, depth + 1);
        pending.emplace_back(item.second, depth + 1);
      } else {
        pending.emplace_back(item, depth + 1);
      }
    }
  }
  return {};
}

// Receives a document's parse events and keeps only where it started.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}

  YAML::Mark start = YAML::Mark::null_mark();
};

// A character of the input for a message: itself if printable, else escaped.
std::string CharacterAt(std::string_view text, int pos) {
  if (pos < 0 || static_cast<std::size_t>(pos) >= text.size()) return "the end";
  const auto c = static_cast<unsigned char>(text[static_cast<std::size_t>(pos)]);
  return c >= 0x20 && c < 0x7f ? fmt::format("'{}'", static_cast<char>(c))
                               : fmt::format("byte 0x{:02x}", c);
}

struct YamlDocuments {
  YAML::Node first;  // null when there is none
  std::size_t count = 0;
};

// `expected` names what the text should have been, for syntax errors.
//
// Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating, when its
// parser stops making progress (a stray "," or "}"): the parser returns an
// empty document at the same place again and again (fixed upstream after
// 0.8). The documents are counted here from the parser's events, a document
// that does not start past the previous one is a syntax error at that place,
// and only then is the first document built (YAML::Load parses just one).
Result<YamlDocuments> LoadAllYaml(std::string_view text, std::string_view what,
                                  const ParseLimits& limits, std::string_view expected) {
  auto syntax_error = [&](const YAML::Mark& mark, std::string_view why) {
    return MakeError(fmt::format("{}: not valid {}: line {}, column {}: {}", what, expected,
                                 mark.line + 1, mark.column + 1, why));
  };
  try {
    const std::string input(text);
    YamlDocuments documents;
    {
      std::istringstream stream(input);
      YAML::Parser parser(stream);
      DocumentStarts handler;
      int previous_start = -1;
      while (parser.HandleNextDocument(handler)) {
        if (handler.start.pos <= previous_start) {
          return syntax_error(handler.start, "unexpected " + CharacterAt(text, handler.start.pos));
        }
        previous_start = handler.start.pos;
        ++documents.count;
      }
    }
    if (documents.count > 0) documents.first = YAML::Load(input);
    return documents;
  } catch (const YAML::DeepRecursion&) {
    // yaml-cpp's guard (thousands of levels) is above any sensible max_depth.
    return DepthError(what, limits.max_depth);
  } catch (const YAML::Exception& e) {
    return syntax_error(e.mark, e.msg);
  }
}

bool LooksLikeJson(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (text[first] == '{' || text[first] == '[');
}

}  // namespace

Status CheckJsonLimits(std::string_view text, std::string_view what, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return MakeError(fmt::format("{} is {} bytes, above the limit of {} bytes", what, text.size(),
                                 limits.max_bytes));
  }
  int depth = 0;
  std::size_t values = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > limits.max_depth) return DepthError(what, limits.max_depth);
        if (++values > limits.max_values) return ValuesError(what, limits.max_values);
        break;
      case ',':
        if (++values > limits.max_values) return ValuesError(what, limits.max_values);
        break;
      case ']':
      case '}':
        // Unbalanced closers are malformed; the parser rejects them.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return {};
}

Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what,
                                 const ParseLimits& limits) {
  if (auto status = CheckJsonLimits(text, what, limits); !status) return status.error();
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return MakeError(fmt::format("{}: not valid JSON: {}", what, e.what()));
  }
}

Result<nlohmann::json> ParseDocument(std::string_view text, std::string_view what,
                                     const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) return CheckJsonLimits(text, what, limits).error();
  // JSON first when it looks like JSON, for exact numbers and clearer errors;
  // flow-style YAML also starts with { or [, so a JSON failure falls back to YAML.
  // The bracket scan also bounds flow-style YAML (conservatively: a bracket
  // inside a single-quoted YAML string counts).
  std::string json_error;
  if (LooksLikeJson(text)) {
    if (auto status = CheckJsonLimits(text, what, limits); !status) return status.error();
    try {
      return json::parse(text);
    } catch (const json::parse_error& e) {
      json_error = e.what();
    } catch (const json::exception& e) {
      // Well-formed so far, but a number beyond a double's range ("1e400"):
      // refused, as ParseJson refuses it, rather than read by YAML as infinity.
      return MakeError(fmt::format("{}: not valid JSON: {}", what, e.what()));
    }
  }
  auto loaded = LoadAllYaml(text, what, limits, "YAML or JSON");
  if (!loaded) {
    if (!json_error.empty())
      return MakeError(fmt::format("{}: not valid JSON: {}", what, json_error));
    return loaded.error();
  }
  if (loaded->count == 0 || loaded->first.IsNull()) {
    return MakeError(fmt::format("{}: empty document", what));
  }
  if (loaded->count > 1) {
    return MakeError(fmt::format("{}: holds {} YAML documents; expected one", what, loaded->count));
  }
  YamlConverter converter(what, limits, text.size() + kYamlNodeAllowance);
  return converter.Convert(loaded->first, 0);
}

Result<YAML::Node> LoadYaml(std::string_view text, std::string_view what,
                            const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) return CheckJsonLimits(text, what, limits).error();
  auto loaded = LoadAllYaml(text, what, limits, "YAML");
  if (!loaded) return loaded.error();
  YAML::Node root = loaded->first;
  if (auto status = CheckYamlDepth(root, what, limits, text.size() + kYamlNodeAllowance); !status) {
    return status.error();
  }
  return root;
}

}  // namespace discoblocks
