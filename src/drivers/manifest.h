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
// It pins what may run (a main.wasm with another digest is refused) and may lower
// this driver's per-call limits. The operator's limits are ceilings: a manifest
// asking for more gets the operator's limit (clamped, with a warning, rather than
// refused, so that a driver written for a generous cluster still runs on a strict
// one). Unknown keys are errors, so a typo cannot silently leave a limit at its
// default. An empty file, or one of only comments, is no manifest at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "wasm/run.h"

namespace discoblocks::drivers {

inline constexpr std::string_view kManifestFile = "driver.yaml";

// Limits the manifest sets; unset ones keep the operator's.
struct LimitOverrides {
  std::optional<std::chrono::milliseconds> time;
  std::optional<std::uint64_t> memory_bytes;
  std::optional<std::uint64_t> stdout_bytes;
  std::optional<std::uint64_t> stderr_bytes;

  // The operator's limits (`ceilings`) with every set field lowered to the
  // manifest's value where that is lower; never above a ceiling.
  [[nodiscard]] wasm::Limits ApplyTo(wasm::Limits ceilings) const;
  // One message per set field above its ceiling, naming both values, e.g.
  // "driver.yaml asks for limits.memory 1Gi, above the operator's 128Mi; 128Mi applies".
  [[nodiscard]] std::vector<std::string> AboveCeilings(const wasm::Limits& ceilings) const;
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
// nullopt when the text holds no document (nothing but blank lines, comments
// and document markers): that is no manifest, not a broken one.
Result<std::optional<Manifest>> ParseManifest(std::string_view text, std::string_view what);

// Reads <folder>/driver.yaml: nullopt when there is none (or it holds no
// document, as above), an error when it is there but unreadable or invalid.
Result<std::optional<Manifest>> ReadManifest(const std::filesystem::path& folder);

}  // namespace discoblocks::drivers
