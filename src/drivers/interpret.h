// Turns what a driver did (its run result: status, stdout, stderr) into the
// contract's outcome. Pure: no WebAssembly runs here.
#pragma once

#include <string_view>

#include "drivers/contract.h"
#include "drivers/outcome.h"
#include "wasm/run.h"

namespace discoblocks::drivers {

// `provisioner` names the driver in reasons.
Outcome Interpret(std::string_view provisioner, const FunctionSpec& function, wasm::RunResult run);

// Go's strconv.ParseBool after trimming surrounding white space.
std::optional<bool> ParseBool(std::string_view text);

// Removes surrounding ASCII white space.
std::string_view Trim(std::string_view text);

}  // namespace discoblocks::drivers
