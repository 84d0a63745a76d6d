#include "util/duration.h"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace discoblocks {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t nanoseconds;
};

constexpr std::array<Unit, 8> kUnits{{{"ns", 1},
                                      {"us", 1'000},
                                      {"\xC2\xB5s", 1'000},  // µs, U+00B5 micro sign
                                      {"\xCE\xBCs", 1'000},  // μs, U+03BC Greek mu (Go takes both)
                                      {"ms", 1'000'000},
                                      {"s", 1'000'000'000},
                                      {"m", 60'000'000'000},
                                      {"h", 3'600'000'000'000}}};

constexpr std::uint64_t kMaxNanoseconds = std::numeric_limits<std::int64_t>::max();
// Fraction digits past this many are below a billionth of a nanosecond even in
// hours, so they are read and ignored rather than accumulated (and overflowed).
constexpr int kMaxFractionDigits = 18;
// Inputs are quoted in errors, but not at any length.
constexpr std::size_t kQuotedInput = 64;

__extension__ using Uint128 = unsigned __int128;

Error BadDuration(std::string_view text, std::string_view why) {
  const bool cut = text.size() > kQuotedInput;
  return MakeError(fmt::format("invalid duration \"{}{}\": {} (expected e.g. 500ms, 2s, 1m30s)",
                               text.substr(0, kQuotedInput), cut ? "..." : "", why));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

const Unit* FindUnit(std::string_view name) {
  for (const Unit& unit : kUnits) {
    if (unit.name == name) return &unit;
  }
  return nullptr;
}

}  // namespace

// Go's time.ParseDuration, in integers: every step that could overflow is
// checked first, so no input (any number of digits, any sum) is undefined
// behaviour; "too large" is an error like any other.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return BadDuration(text, "empty");
  if (text.front() == '-') return BadDuration(text, "negative durations are not allowed");
  const auto too_large = [&] {
    return BadDuration(text,
                       fmt::format("too large (at most {})",
                                   FormatDuration(std::chrono::nanoseconds(kMaxNanoseconds))));
  };
  std::uint64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::uint64_t whole = 0;
    std::size_t whole_digits = 0;
    for (; whole_digits < rest.size() && IsDigit(rest[whole_digits]); ++whole_digits) {
      const auto digit = static_cast<std::uint64_t>(rest[whole_digits] - '0');
      if (whole > (kMaxNanoseconds - digit) / 10) return too_large();
      whole = whole * 10 + digit;
    }
    rest.remove_prefix(whole_digits);
    std::uint64_t fraction = 0;
    std::uint64_t scale = 1;
    std::size_t fraction_digits = 0;
    if (!rest.empty() && rest.front() == '.') {
      rest.remove_prefix(1);
      for (; fraction_digits < rest.size() && IsDigit(rest[fraction_digits]); ++fraction_digits) {
        if (fraction_digits < kMaxFractionDigits) {
          fraction = fraction * 10 + static_cast<std::uint64_t>(rest[fraction_digits] - '0');
          scale *= 10;
        }
      }
      rest.remove_prefix(fraction_digits);
    }
    if (whole_digits == 0 && fraction_digits == 0) return BadDuration(text, "missing number");

    std::size_t unit_length = 0;
    while (unit_length < rest.size() && !IsDigit(rest[unit_length]) && rest[unit_length] != '.') {
      ++unit_length;
    }
    if (unit_length == 0) return BadDuration(text, "missing unit (one of ns, us, ms, s, m, h)");
    const Unit* unit = FindUnit(rest.substr(0, unit_length));
    if (unit == nullptr) {
      const std::string_view name = rest.substr(0, std::min(unit_length, kQuotedInput));
      return BadDuration(text,
                         fmt::format("unknown unit \"{}\" (one of ns, us, ms, s, m, h)", name));
    }
    rest.remove_prefix(unit_length);

    if (whole > kMaxNanoseconds / unit->nanoseconds) return too_large();
    std::uint64_t part = whole * unit->nanoseconds;
    // fraction < 10^18 and a unit < 2^42, so the product fits in 128 bits.
    const auto fraction_ns =
        static_cast<std::uint64_t>(static_cast<Uint128>(fraction) * unit->nanoseconds / scale);
    if (fraction_ns > kMaxNanoseconds - part) return too_large();
    part += fraction_ns;
    if (part > kMaxNanoseconds - total) return too_large();
    total += part;
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

std::string FormatDuration(std::chrono::nanoseconds duration) {
  const auto ns = duration.count();
  if (ns % 1'000'000'000 == 0) {
    auto seconds = ns / 1'000'000'000;
    if (seconds >= 60 && seconds % 60 == 0) return fmt::format("{}m", seconds / 60);
    if (seconds >= 60) return fmt::format("{}m{}s", seconds / 60, seconds % 60);
    return fmt::format("{}s", seconds);
  }
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  if (ns >= 1'000'000'000) {
    // Not a whole number of microseconds but long: seconds with the nanoseconds.
    return fmt::format("{}.{:09}s", ns / 1'000'000'000, ns % 1'000'000'000);
  }
  return fmt::format("{}ns", ns);
}

}  // namespace discoblocks
