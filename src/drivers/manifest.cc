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

bool IsSha256Hex(std::string_view text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

}  // namespace

wasm::Limits LimitOverrides::ApplyTo(wasm::Limits defaults) const {
  if (time) defaults.time = *time;
  if (memory_bytes) defaults.memory_bytes = *memory_bytes;
  if (stdout_bytes) defaults.stdout_bytes = *stdout_bytes;
  if (stderr_bytes) defaults.stderr_bytes = *stderr_bytes;
  return defaults;
}

Result<Manifest> ParseManifest(std::string_view text, std::string_view what) {
  auto document = ParseDocument(text, what);
  if (!document) return document.error();
  if (document->is_null()) return Manifest{};  // an empty file: nothing pinned or set
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
  return manifest;
}

Result<std::optional<Manifest>> ReadManifest(const std::filesystem::path& folder) {
  const auto path = folder / kManifestFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<Manifest>();
  auto text = ReadFile(path, kMaxManifestBytes);
  if (!text) return text.error();
  auto manifest = ParseManifest(*text, path.string());
  if (!manifest) return manifest.error();
  return std::optional<Manifest>(std::move(manifest).value());
}

}  // namespace discoblocks::drivers
