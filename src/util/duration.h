// Go-style durations ("250ms", "2s", "1m30s"), the notation Kubernetes users and
// the original operator use for timeouts and cool-downs.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.h"

namespace discoblocks {

// Parses a non-negative duration made of one or more <number><unit> parts, where
// unit is one of ns, us (or µs, μs), ms, s, m, h and number may have a fraction
// ("1.5s"), exactly as Go's time.ParseDuration (in integers, so "1.000000001s"
// is 1000000001ns). A bare "0" is accepted. Anything else, a sign or a total
// above the largest int64 nanoseconds (about 292 years) included, is an error
// naming the input (its first 64 bytes) and what was wrong; no input of any
// length or number of digits overflows.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// Formats a duration compactly for people: "250ms", "2s", "1m30s".
std::string FormatDuration(std::chrono::nanoseconds duration);

}  // namespace discoblocks
