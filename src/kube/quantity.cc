// The parser follows k8s.io/apimachinery/pkg/api/resource (v0.35.8):
// parseQuantityString splits the text, the suffixer interprets the suffix, then
// ParseQuantity takes a fast path (an int64 times a power of ten) or a slow
// one (an arbitrary-precision decimal). We keep the value as a decimal digit
// string and a 64-bit exponent, which holds everything Kubernetes can produce
// exactly, and repeat the 32-bit arithmetic Kubernetes does on scales, since
// its wrap-arounds decide some values.
#include "kube/quantity.h"

#include <array>
#include <cassert>
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "kube/decimal.h"

namespace discoblocks::kube {
namespace {

constexpr std::string_view kExamples = "expected e.g. 1Gi, 500M, 1.5Ti or 1e9";
constexpr std::string_view kSuffixLetters = "eEinumkKMGTP";
constexpr std::int64_t kNanoScale = -9;

// Go's int32(x): keeps the low 32 bits (modular since C++20).
std::int32_t Wrap32(std::int64_t value) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(value)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The text for a message: escaped, and cut short if long (a 10,000-digit
// capacity should not make a 10,000-character message).
std::string ForMessage(std::string_view text) {
  constexpr std::size_t kShown = 48;
  std::string out;
  for (const char c : text.substr(0, kShown)) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    }
  }
  if (text.size() > kShown) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

Error Bad(std::string_view text, std::string_view why) {
  return MakeError(
      fmt::format("\"{}\" is not a quantity: {} ({})", ForMessage(text), why, kExamples));
}

// parseQuantityString's pieces.
struct Pieces {
  bool positive = true;
  std::string_view value;   // sign, digits and point: what the slow path reads
  std::string_view num;     // integer digits without leading zeros, "0" if none
  std::string_view denom;   // fraction digits
  std::string_view suffix;  // letters, then an optional sign and digits
};

// Splits as parseQuantityString does, or returns the offset of the first
// character that does not fit.
Result<Pieces, std::size_t> Split(std::string_view str) {
  Pieces pieces;
  std::size_t pos = 0;
  const std::size_t end = str.size();
  if (pos < end && (str[0] == '-' || str[0] == '+')) pieces.positive = str[pos++] == '+';
  while (pos < end && str[pos] == '0') ++pos;
  if (pos == end) {  // nothing but a sign and zeros
    pieces.num = pieces.value = "0";
    return pieces;
  }
  std::size_t i = pos;
  while (i < end && IsDigit(str[i])) ++i;
  pieces.num = str.substr(pos, i - pos);
  if (i == end) {
    pieces.value = str;
    return pieces;
  }
  if (pieces.num.empty()) pieces.num = "0";
  pos = i;
  if (str[pos] == '.') {
    i = ++pos;
    while (i < end && IsDigit(str[i])) ++i;
    pieces.denom = str.substr(pos, i - pos);
    if (i == end) {
      pieces.value = str;
      return pieces;
    }
    pos = i;
  }
  pieces.value = str.substr(0, pos);
  const std::size_t suffix_start = pos;
  while (pos < end && kSuffixLetters.find(str[pos]) != std::string_view::npos) ++pos;
  if (pos < end && (str[pos] == '-' || str[pos] == '+')) ++pos;
  while (pos < end && IsDigit(str[pos])) ++pos;
  if (pos < end) return pos;
  pieces.suffix = str.substr(suffix_start);
  return pieces;
}

struct Suffix {
  std::string_view name;
  int base;            // 2 or 10
  std::int32_t power;  // of the base
};

constexpr std::array<Suffix, 16> kSuffixes{{{"", 10, 0},
                                            {"n", 10, -9},
                                            {"u", 10, -6},
                                            {"m", 10, -3},
                                            {"k", 10, 3},
                                            {"M", 10, 6},
                                            {"G", 10, 9},
                                            {"T", 10, 12},
                                            {"P", 10, 15},
                                            {"E", 10, 18},
                                            {"Ki", 2, 10},
                                            {"Mi", 2, 20},
                                            {"Gi", 2, 30},
                                            {"Ti", 2, 40},
                                            {"Pi", 2, 50},
                                            {"Ei", 2, 60}}};

struct Interpreted {
  int base = 10;
  std::int32_t power = 0;
  Quantity::Format format = Quantity::Format::kDecimalSI;
};

// Go's strconv.ParseInt(text, 10, 64).
std::optional<std::int64_t> ParseInt64(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  const std::uint64_t limit =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  std::uint64_t value = 0;
  for (const char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (limit - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  // Two's complement negation of an unsigned value, then Go's int64(...).
  return static_cast<std::int64_t>(negative ? 0 - value : value);
}

Result<Interpreted> Interpret(std::string_view text, std::string_view suffix) {
  for (const Suffix& known : kSuffixes) {
    if (suffix == known.name) {
      return Interpreted{
          known.base, known.power,
          known.base == 2 ? Quantity::Format::kBinarySI : Quantity::Format::kDecimalSI};
    }
  }
  if (suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    const std::string_view written = suffix.substr(1);
    const auto power = ParseInt64(written);
    const std::size_t sign = written.starts_with('+') || written.starts_with('-') ? 1 : 0;
    if (!power && written.size() > sign &&
        written.find_first_not_of("0123456789", sign) == std::string_view::npos) {
      return Bad(text, fmt::format("the exponent {} does not fit in 64 bits", ForMessage(written)));
    }
    // Kubernetes keeps only the low 32 bits of the exponent.
    if (power) return Interpreted{10, Wrap32(*power), Quantity::Format::kDecimalExponent};
  }
  return Bad(text, fmt::format("unknown suffix \"{}\" (suffixes are n u m k M G T P E Ki Mi Gi "
                               "Ti Pi Ei, or an exponent such as e3)",
                               ForMessage(suffix)));
}

}  // namespace

Result<Quantity> Quantity::Parse(std::string_view text) {
  if (text.empty()) return Bad(text, "it is empty");
  const auto split = Split(text);
  if (!split) {
    const std::size_t at = split.error();
    const bool letter =
        (text[at] >= 'a' && text[at] <= 'z') || (text[at] >= 'A' && text[at] <= 'Z');
    if (letter && text.find_first_of("0123456789") > at) {
      return Bad(text, fmt::format("no number before \"{}\"", ForMessage(text.substr(at))));
    }
    return Bad(text,
               fmt::format("unexpected \"{}\" at offset {}", ForMessage(text.substr(at, 1)), at));
  }
  const Pieces& pieces = *split;
  const auto interpreted = Interpret(text, pieces.suffix);
  if (!interpreted) return interpreted.error();
  const auto [base, power, format] = *interpreted;

  Quantity quantity;
  quantity.text_ = std::string(text);
  quantity.format_ = format;
  quantity.negative_ = !pieces.positive;
  if (text == "0") return quantity;

  // The fast path: at most 18 digits, kept as an int64 times 10^scale.
  std::int32_t precision = 0;
  std::int32_t scale = 0;
  std::int64_t mantissa = 1;
  if (format == Format::kBinarySI) {
    if (power >= 0 && pieces.denom.empty()) {
      mantissa = std::int64_t{1} << power;
      // Kubernetes' float32(exponent)*3/10 is exact for multiples of ten.
      precision = Wrap32(15 - std::int64_t{Wrap32(static_cast<std::int64_t>(pieces.num.size()))} -
                         power * 3 / 10 - 1);
    } else {
      precision = -1;
    }
  } else {
    scale = power;
    precision = Wrap32(18 - std::int64_t{Wrap32(static_cast<std::int64_t>(pieces.num.size() +
                                                                          pieces.denom.size()))});
  }
  if (precision >= 0) {
    scale = Wrap32(std::int64_t{scale} -
                   std::int64_t{Wrap32(static_cast<std::int64_t>(pieces.denom.size()))});
    if (scale >= kNanoScale) {
      const std::string shifted = std::string(pieces.num) + std::string(pieces.denom);
      const auto digits = ParseInt64(shifted);
      if (!digits) return Bad(text, "too many digits");
      std::int64_t value = 0;
      if (!__builtin_mul_overflow(*digits, mantissa, &value)) {
        quantity.small_ = true;
        std::tie(quantity.digits_, quantity.exponent_) =
            decimal::Normalize(std::to_string(value), scale);
        if (format == Format::kBinarySI) {
          quantity.text_is_canonical_ = (*digits & 0x07) != 0;
        } else {
          quantity.text_is_canonical_ =
              scale % 3 == 0 && !shifted.ends_with("000") && shifted[0] != '0';
        }
        if (quantity.digits_.empty()) quantity.negative_ = false;
        return quantity;
      }
    }
  }

  // The slow path: an arbitrary-precision decimal, rounded up to a nano.
  std::string digits;
  for (const char c : pieces.value) {
    if (IsDigit(c)) digits += c;
  }
  if (digits.empty())
    return Bad(text, fmt::format("no digits in \"{}\"", ForMessage(pieces.value)));
  const std::int32_t fraction = Wrap32(static_cast<std::int64_t>(pieces.denom.size()));
  std::int32_t inf_scale = fraction;  // the value is digits * 10^-inf_scale
  if (base == 10) {
    inf_scale = Wrap32(std::int64_t{fraction} + std::int64_t{Wrap32(-std::int64_t{power})});
  } else {
    for (std::int32_t i = 0; i < power; i += 10) decimal::MultiplyBy1024(digits);
  }
  quantity.small_ = false;
  std::tie(quantity.digits_, quantity.exponent_) =
      decimal::Normalize(std::move(digits), -std::int64_t{inf_scale});
  decimal::RoundUpToNano(quantity.digits_, quantity.exponent_);
  if (format == Format::kBinarySI) {
    // Kubernetes caps binary quantities at the largest int64.
    constexpr std::string_view kMax = "9223372036854775807";
    if (decimal::CompareMagnitude(quantity.digits_, quantity.exponent_, kMax, 0) > 0) {
      quantity.digits_ = std::string(kMax);
      quantity.exponent_ = 0;
    }
  }
  if (quantity.digits_.empty()) quantity.negative_ = false;
  return quantity;
}

Result<Quantity> Quantity::FromJson(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return Parse(std::to_string(value.get<std::uint64_t>()));
  if (value.is_number_integer()) return Parse(std::to_string(value.get<std::int64_t>()));
  if (value.is_string()) return Parse(value.get<std::string>());
  return MakeError(fmt::format("{} is not a quantity ({}, as a string)", value.dump(), kExamples));
}

Quantity Quantity::FromBytes(std::int64_t bytes) {
  auto quantity = Parse(std::to_string(bytes));
  assert(quantity.ok());  // every int64 is a valid quantity
  return *std::move(quantity);
}

Int128 Quantity::millis() const {
  const Int128 magnitude = decimal::ScaledCeiling(digits_, exponent_ + 3);
  return negative_ ? -magnitude : magnitude;
}

std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
  const int sign_a = a.digits_.empty() ? 0 : (a.negative_ ? -1 : 1);
  const int sign_b = b.digits_.empty() ? 0 : (b.negative_ ? -1 : 1);
  if (sign_a != sign_b || sign_a == 0) return sign_a <=> sign_b;
  const int magnitude = decimal::CompareMagnitude(a.digits_, a.exponent_, b.digits_, b.exponent_);
  return (sign_a * magnitude) <=> 0;
}

std::string Quantity::Canonical() const {
  if (text_is_canonical_) return text_;
  if (digits_.empty()) return "0";
  const std::string sign = negative_ ? "-" : "";
  Format format = format_;
  if (format == Format::kBinarySI) {
    // Below 1024 or not whole: printed as decimal SI, as Kubernetes does.
    if (decimal::CompareMagnitude(digits_, exponent_, "1024", 0) < 0 || exponent_ < 0) {
      format = Format::kDecimalSI;
    } else {
      // Binary values are whole and at most 2^63-1 (Kubernetes' cap).
      std::uint64_t value = 0;
      for (const char c : digits_) value = value * 10 + static_cast<std::uint64_t>(c - '0');
      for (std::int64_t i = 0; i < exponent_; ++i) value *= 10;
      std::size_t powers = 0;
      while (value >= 1024 && value % 1024 == 0) {
        value /= 1024;
        ++powers;
      }
      constexpr std::array<std::string_view, 7> kBinary{"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
      return fmt::format("{}{}{}", sign, value, kBinary.at(powers));
    }
  }
  // Kubernetes computes the exponent of the trailing-zero-free digits in 32
  // bits, then lowers it to a multiple of three (an int64 value by a switch,
  // falling back to a big decimal when that overflows; a big decimal by a
  // loop). The two differ only where the exponent wraps.
  std::string digits = digits_;
  std::int32_t exponent = Wrap32(exponent_);
  bool loop = !small_;
  if (small_) {
    const int zeros = (exponent % 3 == 1 || exponent % 3 == -2)   ? 1
                      : (exponent % 3 == 2 || exponent % 3 == -1) ? 2
                                                                  : 0;
    constexpr std::string_view kInt64Max = "9223372036854775807";
    std::string scaled = digits + std::string(static_cast<std::size_t>(zeros), '0');
    if (decimal::CompareMagnitude(scaled, 0, kInt64Max, 0) > 0) {
      loop = true;
    } else {
      digits = std::move(scaled);
      exponent = Wrap32(std::int64_t{exponent} - zeros);
    }
  }
  while (loop && exponent % 3 != 0) {
    digits += '0';
    exponent = Wrap32(std::int64_t{exponent} - 1);
  }
  std::string suffix;
  if (format == Format::kDecimalExponent) {
    if (exponent != 0) suffix = fmt::format("e{}", exponent);
  } else {
    // Powers of ten without a suffix print without one ("1000E" is "1").
    for (const Suffix& known : kSuffixes) {
      if (known.base == 10 && known.power == exponent) suffix = known.name;
    }
  }
  return sign + digits + suffix;
}

std::int64_t Quantity::CeilUnits() const {
  const Int128 millis = this->millis();
  // Division truncates toward zero: up for negative values, down for positive.
  const Int128 units = millis / 1000 + (millis > 0 && millis % 1000 != 0 ? 1 : 0);
  if (units > std::numeric_limits<std::int64_t>::max()) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (units < std::numeric_limits<std::int64_t>::min()) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(units);
}

}  // namespace discoblocks::kube
