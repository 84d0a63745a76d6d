// Arithmetic on non-negative decimals written as a digit string and a base-10
// exponent (digits * 10^exponent), for kube::Quantity. Any number of digits;
// exponents are int64 and callers keep them far from its limits (Kubernetes'
// scales are 32-bit, digit counts are bounded by the input's length).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "kube/quantity.h"

namespace discoblocks::kube::decimal {

// Strips leading and trailing zeros (moving the latter into the exponent).
// Zero comes back as {"", 0}.
std::pair<std::string, std::int64_t> Normalize(std::string digits, std::int64_t exponent);

// digits *= 1024, in place (digits may have leading zeros).
void MultiplyBy1024(std::string& digits);

// Rounds a normalized nonzero value up to a whole number of nanos (10^-9),
// as Kubernetes does: anything below a nano becomes one nano. Zero stays zero.
void RoundUpToNano(std::string& digits, std::int64_t& exponent);

// -1, 0 or 1 as a is less than, equal to or greater than b; both normalized.
int CompareMagnitude(std::string_view a, std::int64_t a_exponent, std::string_view b,
                     std::int64_t b_exponent);

// ceil(digits * 10^exponent) for a normalized value, saturated at the largest
// Int128.
Int128 ScaledCeiling(std::string_view digits, std::int64_t exponent);

}  // namespace discoblocks::kube::decimal
