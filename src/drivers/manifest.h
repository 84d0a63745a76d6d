// The optional driver manifest, <drivers-dir>/<provisioner>/driver.yaml:
//
//   description: Validates AWS EBS StorageClasses   # free text, for people
//   sha256: 3f1c…                                   # of main.wasm, 64 hex digits
//   limits:                                         # each one optional
//     time: 2s        # wall clock per call (Go duration)
//     memory: 128Mi   # linear memory
//     stdout: 1Mi
//     stderr: 64Ki
//
// It pins what may run (a main.wasm with another digest is refused) and sets this
// driver's per-call limits. Unknown keys are errors, so a typo cannot silently
// leave a limit at its default.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"
#include "wasm/run.h"

namespace discoblocks::drivers {

inline constexpr std::string_view kManifestFile = "driver.yaml";

// Limits the manifest sets; unset ones keep the operator's defaults.
struct LimitOverrides {
  std::optional<std::chrono::milliseconds> time;
  std::optional<std::uint64_t> memory_bytes;
  std::optional<std::uint64_t> stdout_bytes;
  std::optional<std::uint64_t> stderr_bytes;

  // `defaults` with every set field replaced.
  [[nodiscard]] wasm::Limits ApplyTo(wasm::Limits defaults) const;
  [[nodiscard]] bool empty() const {
    return !time && !memory_bytes && !stdout_bytes && !stderr_bytes;
  }
};

struct Manifest {
  std::string description;
  std::optional<std::string> sha256;  // lower-case hex
  LimitOverrides limits;
};

// Parses a manifest's text; `what` names it in messages (usually its path).
Result<Manifest> ParseManifest(std::string_view text, std::string_view what);

// Reads <folder>/driver.yaml: nullopt when there is none, an error when it is
// there but unreadable or invalid.
Result<std::optional<Manifest>> ReadManifest(const std::filesystem::path& folder);

}  // namespace discoblocks::drivers
