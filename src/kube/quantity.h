// Kubernetes resource quantities ("1Gi", "500M", "1.5Ti", "1e9", 1073741824),
// as used for disk sizes.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace discoblocks::kube {

// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet.
__extension__ using Int128 = __int128;

class Quantity {
 public:
  // Parses the Kubernetes quantity syntax: a decimal number with an optional
  // binary (Ki Mi Gi Ti Pi Ei), decimal (n u m k M G T P E) or exponent (e3,
  // E-2) suffix. A JSON value may also be a plain number.
  static Result<Quantity> Parse(std::string_view text);
  static Result<Quantity> FromJson(const nlohmann::json& value);
  static Quantity FromBytes(std::int64_t bytes);

  // The value in thousandths of a unit, exact for every quantity that fits
  // (up to about 1.7e35 units), rounded up below a thousandth.
  [[nodiscard]] Int128 millis() const { return millis_; }
  [[nodiscard]] bool IsPositive() const { return millis_ > 0; }
  // The value as given, for messages ("5Gi").
  [[nodiscard]] const std::string& text() const { return text_; }

  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.millis_ <=> b.millis_;
  }
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.millis_ == b.millis_; }

 private:
  Int128 millis_ = 0;
  std::string text_;
};

}  // namespace discoblocks::kube
