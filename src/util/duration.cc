#include "util/duration.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace discoblocks {
namespace {

struct Unit {
  std::string_view suffix;
  double nanoseconds;
};

// Longest suffixes first so that "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 7> kUnits{{{"ns", 1.0},
                                      {"us", 1e3},
                                      {"\xC2\xB5s", 1e3},
                                      {"ms", 1e6},
                                      {"s", 1e9},
                                      {"m", 60e9},
                                      {"h", 3600e9}}};

Error BadDuration(std::string_view text, std::string_view why) {
  return MakeError(
      fmt::format("invalid duration \"{}\": {} (expected e.g. 500ms, 2s, 1m30s)", text, why));
}

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return BadDuration(text, "empty");
  double total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t number_start = pos;
    while (pos < text.size() && ((text[pos] >= '0' && text[pos] <= '9') || text[pos] == '.')) {
      ++pos;
    }
    if (pos == number_start) return BadDuration(text, "missing number");
    const std::string number(text.substr(number_start, pos - number_start));
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return BadDuration(text, "malformed number");
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      // Prefer the longest matching suffix ("ms" over "m").
      if (text.substr(pos).starts_with(candidate.suffix) &&
          (unit == nullptr || candidate.suffix.size() > unit->suffix.size())) {
        unit = &candidate;
      }
    }
    if (unit == nullptr) return BadDuration(text, "missing or unknown unit");
    pos += unit->suffix.size();
    total += value * unit->nanoseconds;
  }
  if (!std::isfinite(total) || total > static_cast<double>(std::numeric_limits<int64_t>::max())) {
    return BadDuration(text, "too large");
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
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
  return fmt::format("{}ns", ns);
}

}  // namespace discoblocks
