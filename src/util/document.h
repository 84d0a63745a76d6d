// Kubernetes objects given by people arrive as YAML or JSON; drivers and the
// API server want JSON. This converts one into the other faithfully.
//
// Every document Discoblocks reads comes from somewhere it does not control
// (an AdmissionReview, a file, a driver's output, the API server), so every
// parse here takes limits on size and nesting, checked before a parser sees
// the text. nlohmann's parser does not recurse, but copying, comparing and
// dumping a parsed document do: one field nested 200,000 arrays deep used to
// overflow the stack. A document within the depth limit can be copied safely.
#pragma once

#include <cstddef>
#include <limits>
#include <string_view>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks {

// Kubernetes objects are shallow: a DiskConfig with managedFields is about 12
// levels deep, a List or an AdmissionReview adds 3. 100 leaves room for deep
// CRD-style objects while keeping recursion over a document far from the
// stack's end (even under AddressSanitizer).
inline constexpr int kDefaultMaxDepth = 100;

// Files people give the CLI, kubeconfigs, driver manifests.
inline constexpr std::size_t kDefaultMaxBytes = std::size_t{16} << 20;

// For inputs already bounded before they reach the parser (driver output by
// the driver's stdout limit, API server answers already held in memory).
inline constexpr std::size_t kNoByteLimit = std::numeric_limits<std::size_t>::max();

// A parsed value costs 16 to 100 bytes (an empty object in an array, a member
// with a short key), whatever its text: `[{},{},...]` grows 27-fold when
// parsed. Counting values bounds that. Two million is far above any object we
// read whole (a page of 500 objects from the API server is tens of thousands).
inline constexpr std::size_t kDefaultMaxValues = 2'000'000;

struct ParseLimits {
  std::size_t max_bytes = kDefaultMaxBytes;
  int max_depth = kDefaultMaxDepth;  // 1: a flat array or object; scalars are 0
  // Values, counted as the scan below sees them: every [, { and , outside strings.
  std::size_t max_values = kDefaultMaxValues;
};

// Checks `text` against `limits` without parsing it: size, then nesting and
// values, by one linear pass counting [, { and , outside JSON strings (escapes
// honoured). Errors read "<what> is N bytes, above the limit of M bytes",
// "<what>: nested deeper than the limit of D levels" or "<what> has more than
// V values". The scan does not validate; malformed text within the limits is
// the parser's to reject.
Status CheckJsonLimits(std::string_view text, std::string_view what, const ParseLimits& limits);

// Parses strict JSON within `limits` (checked first). Never throws. A syntax
// error reads "<what>: not valid JSON: <parser's message>".
Result<nlohmann::json> ParseJson(std::string_view text, std::string_view what,
                                 const ParseLimits& limits = {});

// Parses a single JSON or YAML document within `limits`. YAML plain scalars
// are typed by the YAML 1.2 core schema (null, booleans, integers, floats;
// everything else is a string); quoted scalars are always strings, so
// `replicas: "1"` stays "1". Errors name the line and column. `what` names
// the input in messages (e.g. a file name). Text that looks like JSON gets the
// bracket scan above; YAML is bounded by yaml-cpp's own recursion guard while
// parsing (deeper than that is reported as deeper than `limits.max_depth`) and
// by `limits.max_depth` while converting; aliases may not expand a document
// beyond a node budget (the "billion laughs").
Result<nlohmann::json> ParseDocument(std::string_view text, std::string_view what,
                                     const ParseLimits& limits = {});

// Loads the first YAML document of `text` (as YAML::Load does) as yaml-cpp
// nodes, within `limits`: size first, then yaml-cpp's recursion guard while
// parsing, then nesting measured without recursion. Never throws. For readers
// that walk the nodes themselves (kubeconfigs). Syntax errors read
// "<what>: not valid YAML: line L, column C: <why>".
Result<YAML::Node> LoadYaml(std::string_view text, std::string_view what,
                            const ParseLimits& limits = {});

}  // namespace discoblocks
