// Helpers shared by the commands. Internal to src/cli/.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "drivers/registry.h"
#include "util/result.h"

namespace discoblocks::cli {

// Prints "discoblocks: <message>" on stderr; returns the error exit status.
int Fail(const std::string& message);

// Loads the drivers (all, or one folder) from --drivers-dir, else
// $DISCOBLOCKS_DRIVERS_DIR, else /drivers. Null, with a message printed, when
// the engine cannot start or the directory cannot be read.
std::unique_ptr<drivers::Registry> LoadRegistry(const std::optional<std::string>& drivers_dir,
                                                std::optional<std::string> only = std::nullopt);

// Reads a Kubernetes object from a YAML or JSON file; nullopt when no path.
Result<std::optional<nlohmann::json>> ReadObject(const std::optional<std::string>& path);

}  // namespace discoblocks::cli
