// Kubernetes resource quantities ("1Gi", "500M", "1.5Ti", "1e9", 1073741824),
// as used for disk sizes.
//
// Parse accepts exactly the strings that Kubernetes' resource.ParseQuantity
// (k8s.io/apimachinery v0.35.8) accepts and gives them the same value, for any
// number of digits and any exponent; Canonical() is what Kubernetes'
// Quantity.String() prints. tests/kube/quantity_table.tsv, made by the Go
// program in tests/kube/quantity_oracle from the real ParseQuantity, holds the
// cases we check against.
//
// This includes Kubernetes' quirks, because a webhook must judge the value the
// API server will store, not a nicer one:
//   - values below a nano (1e-9) round up, away from zero, to the next nano;
//   - binary-suffixed values (Ki ... Ei) are capped at 2^63-1;
//   - the exponent of "1e<n>" is read as a 64-bit number, then cut to 32 bits
//     ("1e4294967296" is 1), and the scale arithmetic wraps at 32 bits;
//   - a decimal-SI value whose power of ten has no suffix prints without one
//     ("1000E" prints "1").
// Where Kubernetes would need a power of ten with hundreds of millions of
// digits (e.g. "1e-2147483647") it does not finish in practice; we give the
// value its rules define, at once.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::kube {

// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet.
__extension__ using Int128 = __int128;

class Quantity {
 public:
  // How Kubernetes prints a value: chosen by the suffix it was written with.
  enum class Format : std::uint8_t { kDecimalSI, kBinarySI, kDecimalExponent };

  // Parses the Kubernetes quantity syntax: an optionally signed decimal number
  // with an optional binary (Ki Mi Gi Ti Pi Ei), decimal (n u m k M G T P E) or
  // exponent (e3, E-2) suffix. Errors say what was wrong.
  static Result<Quantity> Parse(std::string_view text);
  // A JSON string is parsed; a JSON integer is read as its decimal text, as
  // Kubernetes does. Anything else (floats included) is refused.
  static Result<Quantity> FromJson(const nlohmann::json& value);
  static Quantity FromBytes(std::int64_t bytes);

  // The value in thousandths of a unit, rounded up (away from zero) below a
  // thousandth, and saturated at the limits of Int128 (about 1.7e35 units):
  // use the comparison operators, which are exact, to compare quantities.
  [[nodiscard]] Int128 millis() const;
  // The value in whole units (bytes, for a disk size), rounded up, saturated
  // at the limits of int64.
  [[nodiscard]] std::int64_t CeilUnits() const;
  [[nodiscard]] bool IsPositive() const { return !negative_ && !digits_.empty(); }
  // The value as given, for messages ("5Gi").
  [[nodiscard]] const std::string& text() const { return text_; }
  // What Kubernetes prints for this quantity ("1536Mi", "1500m", "1k").
  [[nodiscard]] std::string Canonical() const;
  [[nodiscard]] Format format() const { return format_; }

  // Exact comparisons of the values: "1024Mi" == "1Gi", "1n" > "0".
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b);
  friend bool operator==(const Quantity& a, const Quantity& b) {
    return (a <=> b) == std::strong_ordering::equal;
  }

 private:
  // The value is (-1 if negative_) * digits_ * 10^exponent_; digits_ has no
  // leading or trailing zeros and is empty for zero.
  bool negative_ = false;
  std::string digits_;
  std::int64_t exponent_ = 0;
  Format format_ = Format::kDecimalSI;
  // Kubernetes keeps small values in an int64 and others in a big decimal;
  // the two print differently in a few corners (see Canonical).
  bool small_ = true;
  // Kubernetes reuses the input as its canonical string when it already
  // looks canonical (even "+1k" or "01k").
  bool text_is_canonical_ = false;
  std::string text_;
};

}  // namespace discoblocks::kube
