// Turns what a driver did (its run result: status, stdout, stderr) into the
// contract's outcome. Pure: no WebAssembly runs here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/contract.h"
#include "drivers/outcome.h"
#include "wasm/run.h"

namespace discoblocks::drivers {

// `provisioner` names the driver in reasons.
Outcome Interpret(std::string_view provisioner, const FunctionSpec& function, wasm::RunResult run);

// Warnings reach people through the API server, which drops a whole warning
// that is not valid UTF-8 or holds a control character (it travels in an HTTP
// Warning header), and shortens long ones to 256 characters once a response's
// warnings pass 4096. So a driver's stderr becomes a warning this way:
//   - each control character (C0, DEL, C1: newlines and tabs included) becomes
//     a space, and a run of them one space: multi-line stderr reads as one line,
//     where U+FFFD or \uXXXX escapes would glue words together with noise;
//   - each byte that is not part of valid UTF-8 becomes U+FFFD, the usual mark of
//     an undecodable byte;
//   - at most kMaxWarningCharacters characters (code points) are kept; longer
//     text is cut on a character boundary and ends in "...".
inline constexpr std::size_t kMaxWarningCharacters = 256;
std::string SanitizeWarning(std::string_view text);

// Go's strconv.ParseBool after trimming surrounding white space.
std::optional<bool> ParseBool(std::string_view text);

// Removes surrounding ASCII white space.
std::string_view Trim(std::string_view text);

}  // namespace discoblocks::drivers
