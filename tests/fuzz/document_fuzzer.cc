// Fuzzes the JSON and YAML document loader (util/document.h), which every
// input goes through: AdmissionReview bodies and driver output (ParseJson and
// the bracket scan), files given to the CLI and driver manifests
// (ParseDocument), kubeconfigs (LoadYaml).
//
// Each input is read by all three entry points, with the default limits and
// with small ones (so that the limit paths are reached by short inputs too).
// Checked besides "no crash, hang or leak":
//   - a document accepted is within the depth limit (copying, comparing and
//     dumping it recurse, so this is what keeps them off the stack's end);
//   - what ParseJson accepts also passes CheckJsonLimits;
//   - a document from ParseDocument dumps (with invalid UTF-8 replaced, as
//     every caller dumps) to JSON that ParseJson reads, and back to the same
//     dump when its strings are UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "util/document.h"

namespace {

using discoblocks::ParseLimits;
using discoblocks::fuzz::Require;
using nlohmann::json;

// The nesting of a parsed document, measured without recursion.
int DepthOf(const json& root) {
  int deepest = 0;
  std::vector<std::pair<const json*, int>> pending{{&root, 0}};
  while (!pending.empty()) {
    auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const json& item : *value) pending.emplace_back(&item, depth + 1);
  }
  return deepest;
}

int DepthOf(const YAML::Node& root) {
  int deepest = 0;
  std::vector<std::pair<YAML::Node, int>> pending{{root, 0}};
  // Aliases make the node tree a graph: a budget keeps the walk finite.
  std::size_t budget = 1 << 16;
  while (!pending.empty() && budget-- > 0) {
    auto [node, depth] = std::move(pending.back());
    pending.pop_back();
    if (!node.IsSequence() && !node.IsMap()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const auto& item : node) {
      if (node.IsMap()) {
        pending.emplace_back(item.first, depth + 1);
        pending.emplace_back(item.second, depth + 1);
      } else {
        pending.emplace_back(item, depth + 1);
      }
    }
  }
  return deepest;
}

bool IsUtf8(const json& value) {
  try {
    (void)value.dump();  // strict: throws on a string that is not UTF-8
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void Check(std::string_view text, const ParseLimits& limits) {
  auto as_json = discoblocks::ParseJson(text, "input", limits);
  if (as_json.ok()) {
    Require(discoblocks::CheckJsonLimits(text, "input", limits).ok(),
            "what ParseJson accepts is within the limits");
    Require(DepthOf(*as_json) <= limits.max_depth, "ParseJson stays within max_depth");
  } else {
    Require(!as_json.error().message.empty(), "a ParseJson refusal says why");
  }

  auto document = discoblocks::ParseDocument(text, "input", limits);
  if (document.ok()) {
    Require(DepthOf(*document) <= limits.max_depth, "ParseDocument stays within max_depth");
    const std::string dumped = Dump(*document);
    // The dump may be larger than the input (aliases, escapes): read it back
    // with the depth limit only.
    auto again =
        discoblocks::ParseJson(dumped, "dump", {discoblocks::kNoByteLimit, limits.max_depth});
    Require(again.ok(), "a document's dump is valid JSON", again.ok() ? "" : again.error().message);
    // YAML text may hold bytes that are not UTF-8 (JSON text may not); replaced
    // in a dump, two keys can become one. Text in UTF-8 reads back exactly.
    if (IsUtf8(*document)) {
      Require(Dump(*again) == dumped, "a document's dump reads back to the same dump");
    }
  } else {
    Require(!document.error().message.empty(), "a ParseDocument refusal says why");
  }

  auto yaml = discoblocks::LoadYaml(text, "input", limits);
  if (yaml.ok()) {
    Require(DepthOf(*yaml) <= limits.max_depth, "LoadYaml stays within max_depth");
  } else {
    Require(!yaml.error().message.empty(), "a LoadYaml refusal says why");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = discoblocks::fuzz::AsText(data, size);
  Check(text, ParseLimits{});
  Check(text, ParseLimits{256, 4});
  return 0;
}
