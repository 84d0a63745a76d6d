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

}  // namespace

Result<std::uint64_t> ParseByteSize(std::string_view text) {
  auto invalid = [&] {
    return MakeError(fmt::format(
        "invalid size \"{}\": want a whole number of bytes, optionally with Ki, Mi, Gi, k, M or G",
        text));
  };
  std::uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end == text.data()) return invalid();
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
    if (!known) return invalid();
  }
  if (number > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    return MakeError(fmt::format("invalid size \"{}\": too large", text));
  }
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
