#include "drivers/driver.h"

#include <utility>

#include <fmt/format.h>

#include "drivers/interpret.h"
#include "drivers/module_cache.h"
#include "util/files.h"
#include "util/sha256.h"

namespace discoblocks::drivers {

// Largest driver module accepted; real drivers are a few MiB.
constexpr std::size_t kMaxModuleBytes = std::size_t{64} << 20;

Result<std::shared_ptr<const Driver>> Driver::Load(std::shared_ptr<wasm::Engine> engine,
                                                   std::string provisioner,
                                                   const std::filesystem::path& folder,
                                                   const LoadOptions& options) {
  const auto wasm_path = folder / kModuleFile;
  auto manifest = ReadManifest(folder);
  if (!manifest) return manifest.error();
  auto bytes = ReadFile(wasm_path, kMaxModuleBytes);
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
  driver->provisioner_ = std::move(provisioner);
  driver->path_ = wasm_path;
  driver->sha256_ = std::move(digest);
  driver->size_bytes_ = bytes->size();
  driver->loaded_at_ = std::chrono::system_clock::now();
  driver->manifest_ = std::move(manifest).value();
  return std::shared_ptr<const Driver>(std::move(driver));
}

wasm::Limits Driver::EffectiveLimits(const wasm::Limits& defaults) const {
  return manifest_ ? manifest_->limits.ApplyTo(defaults) : defaults;
}

bool Driver::Exports(Function function) const { return module_->Exports(SpecOf(function).name); }

Outcome Driver::Call(Function function, const CallInputs& inputs,
                     const CallOptions& options) const {
  const FunctionSpec& spec = SpecOf(function);
  auto env = BuildEnvironment(function, inputs);
  if (!env) {
    return ErrorOutcome(ErrorCause::kMissingInput,
                        "driver " + provisioner_ + ": " + env.error().message);
  }
  wasm::RunRequest request;
  request.program_name = provisioner_;
  request.env = std::move(env).value();
  for (const auto& extra : options.extra_env) {
    std::erase_if(request.env, [&](const auto& entry) { return entry.first == extra.first; });
    request.env.push_back(extra);
  }
  request.export_name = std::string(spec.name);
  request.limits = EffectiveLimits(options.limits);
  Outcome outcome = Interpret(provisioner_, spec, module_->Run(request));
  if (options.observer) options.observer(provisioner_, spec, outcome);
  return outcome;
}

}  // namespace discoblocks::drivers
