// Sizes written by people in configuration: "128Mi", "64Ki", "1048576".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"

namespace discoblocks {

// Parses a whole number of bytes with an optional binary suffix (Ki, Mi, Gi) or
// decimal suffix (k, M, G), the spellings Kubernetes quantities use for sizes.
// Anything else, signs, fractions and overflow (any number of digits) included,
// is an error naming the input (its first 64 bytes) and what was wrong.
Result<std::uint64_t> ParseByteSize(std::string_view text);

// "128Mi", "64Ki", "1000" — the largest binary unit that divides exactly.
std::string FormatByteSize(std::uint64_t bytes);

}  // namespace discoblocks
