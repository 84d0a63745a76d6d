// Reads the live driver registry of a running `discoblocks serve` from its
// health port (GET <url>/drivers). Internal to src/cli/.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::cli {

// `base_url` is e.g. http://127.0.0.1:8080 (kubectl port-forward to the pod).
// The error says what failed: connecting, the status, or a body that is not the
// JSON array /drivers serves.
Result<nlohmann::json> FetchLiveDrivers(const std::string& base_url);

}  // namespace discoblocks::cli
