#include "drivers/driver.h"

#include <algorithm>
#include <cstdint>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "drivers/interpret.h"
#include "drivers/module_cache.h"
#include "util/byte_size.h"
#include "util/files.h"
#include "util/sha256.h"

namespace discoblocks::drivers {

namespace {

// "70 MiB (73400320 bytes)" or "1000 bytes".
std::string DescribeSize(std::uint64_t bytes) {
  if (bytes < (std::uint64_t{1} << 20)) return fmt::format("{} bytes", bytes);
  return fmt::format("{:.1f} MiB ({} bytes)", static_cast<double>(bytes) / (1 << 20), bytes);
}

}  // namespace

Result<std::shared_ptr<const Driver>> Driver::Load(std::shared_ptr<wasm::Engine> engine,
                                                   std::string provisioner,
                                                   const std::filesystem::path& folder,
                                                   const LoadOptions& options) {
  const auto wasm_path = folder / kModuleFile;
  auto manifest = ReadManifest(folder);
  if (!manifest) return manifest.error();
  // Checked before reading; ReadFile stops at the limit if the file grows meanwhile.
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(wasm_path, ec);
  const auto too_large = [&](std::uint64_t bytes) {
    return MakeError(fmt::format("{}: the module is {}, above the maximum module size of {}",
                                 wasm_path.string(), DescribeSize(bytes),
                                 FormatByteSize(options.max_module_bytes)));
  };
  if (!ec && size > options.max_module_bytes) return too_large(size);
  auto bytes = ReadFile(wasm_path, static_cast<std::size_t>(std::min<std::uint64_t>(
                                       options.max_module_bytes, SIZE_MAX)));
  if (!bytes) return bytes.error();
  std::string digest = Sha256Hex(*bytes);
  const std::optional<std::string>& pinned =
      manifest->has_value() ? (*manifest)->sha256 : std::nullopt;
  if (pinned && *pinned != digest) {
    return MakeError(fmt::format("{}: sha256 is {} but {} pins {}; refusing to load it",
                                 wasm_path.string(), digest, kManifestFile, *pinned));
  }
  if (!pinned && options.require_digest) {
    return MakeError(fmt::format(
        "{}: refused: digests are required and there is no {} with its sha256 (it is {})",
        wasm_path.string(), (folder / kManifestFile).string(), digest));
  }

  auto driver = std::shared_ptr<Driver>(new Driver());
  if (options.module_cache != nullptr) {
    auto cached = options.module_cache->LoadOrCompile(engine, *bytes, digest);
    if (!cached) return MakeError(wasm_path.string() + ": " + cached.error().message);
    driver->from_cache_ = cached->from_cache;
    driver->module_ = std::move(cached->module);
  } else {
    auto module = wasm::Module::Compile(std::move(engine), *bytes);
    if (!module) return MakeError(wasm_path.string() + ": " + module.error().message);
    driver->module_ = std::move(module).value();
  }
  for (const wasm::ExportInfo& exported : driver->module_->info().exports) {
    if (exported.name != kAbiV2Marker) continue;
    if (exported.kind != "func" || !exported.nullary_func) {
      return MakeError(fmt::format("{}: {} must be a function without parameters and results",
                                   wasm_path.string(), kAbiV2Marker));
    }
    driver->abi_ = Abi::kV2;
  }
  driver->provisioner_ = std::move(provisioner);
  driver->path_ = wasm_path;
  driver->sha256_ = std::move(digest);
  driver->size_bytes_ = bytes->size();
  driver->loaded_at_ = std::chrono::system_clock::now();
  driver->manifest_ = std::move(manifest).value();
  return std::shared_ptr<const Driver>(std::move(driver));
}

wasm::Limits Driver::EffectiveLimits(const wasm::Limits& ceilings) const {
  return manifest_ ? manifest_->limits.ApplyTo(ceilings) : ceilings;
}

bool Driver::Exports(Function function) const { return module_->Exports(SpecOf(function).name); }

Outcome Driver::Call(Function function, const CallInputs& inputs,
                     const CallOptions& options) const {
  const FunctionSpec& spec = SpecOf(function);
  const auto missing_input = [&](const Error& error) {
    return ErrorOutcome(ErrorCause::kMissingInput, "driver " + provisioner_ + ": " + error.message);
  };
  wasm::RunRequest request;
  request.program_name = provisioner_;
  if (abi_ == Abi::kV2) {
    // v2 reads its inputs from stdin only: an environment would be one more
    // place for them, and one that a pre-initialized runtime has already read.
    auto document = BuildInputDocument(function, inputs, options.extra_env);
    if (!document) return missing_input(document.error());
    request.input = std::move(document).value();
  } else {
    auto env = BuildEnvironment(function, inputs);
    if (!env) return missing_input(env.error());
    request.env = std::move(env).value();
    for (const auto& extra : options.extra_env) {
      std::erase_if(request.env, [&](const auto& entry) { return entry.first == extra.first; });
      request.env.push_back(extra);
    }
  }
  request.export_name = std::string(spec.name);
  request.limits = EffectiveLimits(options.limits);
  Outcome outcome = Interpret(provisioner_, spec, module_->Run(request));
  if (options.observer) options.observer(provisioner_, spec, outcome);
  return outcome;
}

}  // namespace discoblocks::drivers
