#include "kube/quantity.h"

#include <array>
#include <cctype>
#include <utility>

#include <fmt/format.h>

namespace discoblocks::kube {
namespace {

// Largest magnitude we keep exactly; quantities beyond it are refused.
constexpr Int128 kLimit = static_cast<Int128>(1) << 120;

struct Suffix {
  std::string_view name;
  int base;      // 2 or 10
  int exponent;  // power of the base
};

constexpr std::array<Suffix, 15> kSuffixes{{{"Ki", 2, 10},
                                            {"Mi", 2, 20},
                                            {"Gi", 2, 30},
                                            {"Ti", 2, 40},
                                            {"Pi", 2, 50},
                                            {"Ei", 2, 60},
                                            {"n", 10, -9},
                                            {"u", 10, -6},
                                            {"m", 10, -3},
                                            {"", 10, 0},
                                            {"k", 10, 3},
                                            {"M", 10, 6},
                                            {"G", 10, 9},
                                            {"T", 10, 12},
                                            {"P", 10, 15}}};

Error Bad(std::string_view text, std::string_view why) {
  return MakeError(
      fmt::format("\"{}\" is not a quantity: {} (expected e.g. 1Gi, 500M, 10G)", text, why));
}

}  // namespace

Quantity Quantity::FromBytes(std::int64_t bytes) {
  Quantity quantity;
  quantity.millis_ = static_cast<Int128>(bytes) * 1000;
  quantity.text_ = std::to_string(bytes);
  return quantity;
}

Result<Quantity> Quantity::FromJson(const nlohmann::json& value) {
  if (value.is_number_integer()) return FromBytes(value.get<std::int64_t>());
  if (value.is_string()) return Parse(value.get<std::string>());
  return MakeError(
      fmt::format("{} is not a quantity (expected a string such as 1Gi)", value.dump()));
}

Result<Quantity> Quantity::Parse(std::string_view text) {
  std::size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) negative = text[pos++] == '-';
  // Digits, with at most one decimal point.
  Int128 digits = 0;
  int fraction_digits = 0;
  bool seen_digit = false;
  bool seen_point = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) break;
    seen_digit = true;
    if (digits > kLimit / 10) return Bad(text, "too large");
    digits = digits * 10 + (c - '0');
    if (seen_point) ++fraction_digits;
  }
  if (!seen_digit) return Bad(text, "no number");
  const std::string_view rest = text.substr(pos);
  int base = 10;
  int exponent = 0;
  bool known = false;
  if (!rest.empty() && (rest[0] == 'e' || rest[0] == 'E') && rest.size() > 1) {
    // An exponent: "1e3", "5E-2". ("E" alone is the exa suffix.)
    std::size_t at = 1;
    bool exponent_negative = false;
    if (rest[at] == '+' || rest[at] == '-') exponent_negative = rest[at++] == '-';
    if (at < rest.size()) {
      int value = 0;
      for (; at < rest.size() && std::isdigit(static_cast<unsigned char>(rest[at])) != 0; ++at) {
        value = value * 10 + (rest[at] - '0');
        if (value > 40) return Bad(text, "exponent too large");
      }
      if (at == rest.size()) {
        exponent = exponent_negative ? -value : value;
        known = true;
      }
    }
  } else if (rest == "E") {
    exponent = 18;
    known = true;
  } else {
    for (const Suffix& suffix : kSuffixes) {
      if (rest == suffix.name) {
        base = suffix.base;
        exponent = suffix.exponent;
        known = true;
        break;
      }
    }
  }
  if (!known) return Bad(text, fmt::format("unknown suffix \"{}\"", rest));

  // value = digits * 10^-fraction_digits * base^exponent, in thousandths.
  Int128 numerator = digits * 1000;
  Int128 denominator = 1;
  for (int i = 0; i < fraction_digits; ++i) denominator *= 10;
  if (base == 2) {
    for (int i = 0; i < exponent; ++i) {
      if (numerator > kLimit) return Bad(text, "too large");
      numerator *= 2;
    }
  } else if (exponent >= 0) {
    for (int i = 0; i < exponent; ++i) {
      if (numerator > kLimit) return Bad(text, "too large");
      numerator *= 10;
    }
  } else {
    for (int i = 0; i < -exponent; ++i) denominator *= 10;
  }
  Quantity quantity;
  // Round up: a size must never come out smaller than what was asked for.
  quantity.millis_ = (numerator + denominator - 1) / denominator;
  if (negative) quantity.millis_ = -quantity.millis_;
  quantity.text_ = std::string(text);
  return quantity;
}

}  // namespace discoblocks::kube
