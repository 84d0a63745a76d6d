#include "admission/names.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/sha256.h"

namespace discoblocks::admission {
namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxSubdomain = 253;
constexpr std::size_t kMaxLabelValue = 63;
constexpr std::size_t kHashDigits = 8;

bool IsLowerAlphanumeric(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlphanumeric(char c) { return IsLowerAlphanumeric(c) || (c >= 'A' && c <= 'Z'); }

std::string ShortHash(std::string_view text) { return Sha256Hex(text).substr(0, kHashDigits); }

// `name`'s prefix with every character `keep` refuses replaced by '-', cut to
// leave room for "-<hash>", without non-alphanumeric characters at either end,
// then "-<hash of name>" (only the hash when nothing of the prefix is left).
template <typename Keep>
std::string Hashed(std::string_view name, std::size_t max_length, Keep keep) {
  std::string prefix(name.substr(0, max_length - kHashDigits - 1));
  std::replace_if(
      prefix.begin(), prefix.end(), [&](char c) { return !keep(c); }, '-');
  const auto first = std::find_if(prefix.begin(), prefix.end(), IsAlphanumeric);
  const auto last = std::find_if(prefix.rbegin(), prefix.rend(), IsAlphanumeric).base();
  prefix = first < last ? std::string(first, last) : std::string();
  const std::string hash = ShortHash(name);
  return prefix.empty() ? hash : fmt::format("{}-{}", prefix, hash);
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?, of any length.
bool IsLabelShaped(std::string_view name) {
  return !name.empty() && IsLowerAlphanumeric(name.front()) && IsLowerAlphanumeric(name.back()) &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLowerAlphanumeric(c) || c == '-'; });
}

}  // namespace

bool IsDns1123Label(std::string_view name) {
  return name.size() <= kMaxLabel && IsLabelShaped(name);
}

// As Kubernetes checks it (IsDNS1123Subdomain): the whole at most 253
// characters, its dot-separated parts of any length.
bool IsDns1123Subdomain(std::string_view name) {
  if (name.empty() || name.size() > kMaxSubdomain) return false;
  for (std::size_t start = 0;;) {
    const auto dot = name.find('.', start);
    if (!IsLabelShaped(name.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool IsLabelValue(std::string_view value) {
  if (value.empty()) return true;
  return value.size() <= kMaxLabelValue && IsAlphanumeric(value.front()) &&
         IsAlphanumeric(value.back()) && std::all_of(value.begin(), value.end(), [](char c) {
           return IsAlphanumeric(c) || c == '-' || c == '_' || c == '.';
         });
}

std::string FitDns1123Label(std::string_view name) {
  if (IsDns1123Label(name)) return std::string(name);
  return Hashed(name, kMaxLabel, [](char c) { return IsLowerAlphanumeric(c) || c == '-'; });
}

std::string FitDns1123Subdomain(std::string_view name) {
  if (IsDns1123Subdomain(name)) return std::string(name);
  // Dots become '-' too: a cut could leave "x.-y" or a trailing '.', and the
  // hashed form needs no structure, only validity.
  return Hashed(name, kMaxSubdomain, [](char c) { return IsLowerAlphanumeric(c) || c == '-'; });
}

std::string FitLabelValue(std::string_view value) {
  if (IsLabelValue(value)) return std::string(value);
  return Hashed(value, kMaxLabelValue,
                [](char c) { return IsAlphanumeric(c) || c == '-' || c == '_' || c == '.'; });
}

std::string VolumeName(std::string_view config, int index) {
  return FitDns1123Label(fmt::format("discoblocks-{}-{}", config, index));
}

std::string SharedPvcName(std::string_view config, int index) {
  return FitDns1123Subdomain(fmt::format("discoblocks-{}-{}", config, index));
}

std::string DaemonPvcName(std::string_view config, std::string_view node, int index) {
  return FitDns1123Subdomain(fmt::format("discoblocks-{}-{}-{}", config, node, index));
}

std::string TopologyStorageClassName(std::string_view storage_class,
                                     const std::vector<nlohmann::json>& terms) {
  const std::string hash = ShortHash(
      nlohmann::json(terms).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  // Cut so that the hash always fits; the cut must not end in '-' or '.'.
  std::string prefix(storage_class.substr(0, kMaxSubdomain - kHashDigits - 1));
  while (!prefix.empty() && !IsLowerAlphanumeric(prefix.back())) prefix.pop_back();
  return FitDns1123Subdomain(fmt::format("{}-{}", prefix, hash));
}

}  // namespace discoblocks::admission
