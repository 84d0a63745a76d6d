// Kubernetes objects given by people arrive as YAML or JSON; drivers and the
// API server want JSON. This converts one into the other faithfully.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks {

// Parses a single JSON or YAML document. YAML plain scalars are typed by the
// YAML 1.2 core schema (null, booleans, integers, floats; everything else is a
// string); quoted scalars are always strings, so `replicas: "1"` stays "1".
// Errors name the line and column. `what` names the input in messages
// (e.g. a file name).
Result<nlohmann::json> ParseDocument(std::string_view text, std::string_view what);

}  // namespace discoblocks
