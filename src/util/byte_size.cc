#include "util/byte_size.h"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace discoblocks {
namespace {

constexpr std::array<std::pair<std::string_view, std::uint64_t>, 6> kSuffixes{{
    {"Ki", std::uint64_t{1} << 10},
    {"Mi", std::uint64_t{1} << 20},
    {"Gi", std::uint64_t{1} << 30},
    {"k", 1000},
    {"M", 1000 * 1000},
    {"G", 1000 * 1000 * 1000},
}};

// Inputs are quoted in errors, but not at any length.
constexpr std::size_t kQuotedInput = 64;
constexpr std::string_view kTooLarge = "too large (at most 2^64-1 bytes)";

}  // namespace

Result<std::uint64_t> ParseByteSize(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    const bool cut = text.size() > kQuotedInput;
    return MakeError(fmt::format("invalid size \"{}{}\": {}", text.substr(0, kQuotedInput),
                                 cut ? "..." : "", why));
  };
  constexpr std::string_view kWant =
      "want a whole number of bytes, optionally with Ki, Mi, Gi, k, M or G";
  if (text.starts_with('-')) return bad("negative sizes are not allowed");
  std::uint64_t number = 0;
  // from_chars checks for overflow itself: no number of digits can wrap.
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc::result_out_of_range) return bad(kTooLarge);
  if (ec != std::errc() || end == text.data()) return bad(kWant);
  const std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::uint64_t multiplier = 1;
  if (!suffix.empty()) {
    bool known = false;
    for (const auto& [name, factor] : kSuffixes) {
      if (suffix == name) {
        multiplier = factor;
        known = true;
      }
    }
    if (!known) return bad(kWant);
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / multiplier) return bad(kTooLarge);
  return number * multiplier;
}

std::string FormatByteSize(std::uint64_t bytes) {
  // kSuffixes lists the binary units first, smallest first; try the largest.
  for (int i = 2; i >= 0; --i) {
    const auto& [name, factor] = kSuffixes.at(static_cast<std::size_t>(i));
    if (bytes != 0 && bytes % factor == 0) return fmt::format("{}{}", bytes / factor, name);
  }
  return std::to_string(bytes);
}

}  // namespace discoblocks
