#include "drivers/manifest.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "util/byte_size.h"
#include "util/document.h"
#include "util/duration.h"
#include "util/files.h"

namespace discoblocks::drivers {
namespace {

using nlohmann::json;

// A manifest is a few lines; anything bigger is not one.
constexpr std::size_t kMaxManifestBytes = std::size_t{64} * 1024;

Result<std::string> StringField(const json& object, const char* key, std::string_view what) {
  const json& value = object.at(key);
  if (!value.is_string()) return MakeError(fmt::format("{}: {} must be a string", what, key));
  return value.get<std::string>();
}

Result<std::uint64_t> SizeField(const json& limits, const char* key, std::string_view what) {
  const json& value = limits.at(key);
  if (!value.is_string() && !value.is_number_integer()) {
    return MakeError(fmt::format("{}: limits.{} must be a size such as 64Mi", what, key));
  }
  auto size = ParseByteSize(value.is_string() ? value.get<std::string>() : value.dump());
  if (!size) return MakeError(fmt::format("{}: limits.{}: {}", what, key, size.error().message));
  if (*size == 0) return MakeError(fmt::format("{}: limits.{} must be above 0", what, key));
  return *size;
}

Status ParseLimits(const json& limits, std::string_view what, LimitOverrides& out) {
  if (!limits.is_object()) return MakeError(fmt::format("{}: limits must be a mapping", what));
  for (const auto& [key, value] : limits.items()) {
    if (key == "time") {
      if (!value.is_string()) {
        return MakeError(fmt::format("{}: limits.time must be a duration such as 2s", what));
      }
      auto duration = ParseDuration(value.get<std::string>());
      if (!duration) {
        return MakeError(fmt::format("{}: limits.time: {}", what, duration.error().message));
      }
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*duration);
      if (ms.count() <= 0) return MakeError(fmt::format("{}: limits.time must be above 0", what));
      out.time = ms;
    } else if (key == "memory" || key == "stdout" || key == "stderr") {
      auto size = SizeField(limits, key.c_str(), what);
      if (!size) return size.error();
      (key == "memory"   ? out.memory_bytes
       : key == "stdout" ? out.stdout_bytes
                         : out.stderr_bytes) = *size;
    } else {
      return MakeError(fmt::format(
          "{}: unknown key limits.{} (known: time, memory, stdout, stderr)", what, key));
    }
  }
  return {};
}

// Whether every line is blank, a comment or a document marker ("---", "...",
// perhaps followed by a comment). Decided on the text, not by a parser, so that
// a document after an empty one ("---\n---\nsha256: ...") is never mistaken
// for no manifest.
bool HoldsNoDocument(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r";
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::size_t first = line.find_first_not_of(kBlank);
    line = first == std::string_view::npos ? std::string_view() : line.substr(first);
    if (line.starts_with("---") || line.starts_with("...")) {
      line.remove_prefix(3);
      const std::size_t rest = line.find_first_not_of(kBlank);
      // "---foo" is a plain scalar, not a marker.
      if (rest == 0) return false;
      line = rest == std::string_view::npos ? std::string_view() : line.substr(rest);
    }
    if (!line.empty() && !line.starts_with('#')) return false;
  }
  return true;
}

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

}  // namespace

wasm::Limits LimitOverrides::ApplyTo(wasm::Limits ceilings) const {
  if (time) ceilings.time = std::min(ceilings.time, *time);
  if (memory_bytes) ceilings.memory_bytes = std::min(ceilings.memory_bytes, *memory_bytes);
  if (stdout_bytes) ceilings.stdout_bytes = std::min(ceilings.stdout_bytes, *stdout_bytes);
  if (stderr_bytes) ceilings.stderr_bytes = std::min(ceilings.stderr_bytes, *stderr_bytes);
  return ceilings;
}

std::vector<std::string> LimitOverrides::AboveCeilings(const wasm::Limits& ceilings) const {
  std::vector<std::string> messages;
  auto check = [&](std::string_view key, auto asked, auto ceiling, auto format) {
    if (asked && *asked > ceiling) {
      messages.push_back(
          fmt::format("{} asks for limits.{} {}, above the operator's {}; {} applies",
                      kManifestFile, key, format(*asked), format(ceiling), format(ceiling)));
    }
  };
  const auto duration = [](std::chrono::milliseconds value) {
    // Near the top of the range milliseconds do not convert back to nanoseconds.
    constexpr auto kLargest =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds::max());
    return value <= kLargest ? FormatDuration(value) : fmt::format("{}ms", value.count());
  };
  const auto size = [](std::uint64_t value) { return FormatByteSize(value); };
  check("time", time, ceilings.time, duration);
  check("memory", memory_bytes, ceilings.memory_bytes, size);
  check("stdout", stdout_bytes, ceilings.stdout_bytes, size);
  check("stderr", stderr_bytes, ceilings.stderr_bytes, size);
  return messages;
}

Result<std::optional<Manifest>> ParseManifest(std::string_view text, std::string_view what) {
  // An empty file, or one someone commented out, is no manifest; the parser
  // would call it an empty document.
  if (HoldsNoDocument(text)) return std::optional<Manifest>();
  auto document = ParseDocument(text, what);
  if (!document) return document.error();
  if (!document->is_object()) return MakeError(fmt::format("{}: not a mapping", what));
  Manifest manifest;
  for (const auto& [key, value] : document->items()) {
    if (key == "description") {
      auto description = StringField(*document, "description", what);
      if (!description) return description.error();
      manifest.description = *description;
    } else if (key == "sha256") {
      auto digest = StringField(*document, "sha256", what);
      if (!digest) return digest.error();
      if (!IsSha256Hex(*digest)) {
        return MakeError(
            fmt::format("{}: sha256 must be 64 hexadecimal digits, got \"{}\"", what, *digest));
      }
      std::string lower = *digest;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      manifest.sha256 = lower;
    } else if (key == "limits") {
      if (auto status = ParseLimits(value, what, manifest.limits); !status) return status.error();
    } else {
      return MakeError(
          fmt::format("{}: unknown key {} (known: description, sha256, limits)", what, key));
    }
  }
  return std::optional<Manifest>(std::move(manifest));
}

Result<std::optional<Manifest>> ReadManifest(const std::filesystem::path& folder) {
  const auto path = folder / kManifestFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<Manifest>();
  auto text = ReadFile(path, kMaxManifestBytes);
  if (!text) return text.error();
  return ParseManifest(*text, path.string());
}

}  // namespace discoblocks::drivers
