#include "drivers/driver.h"

#include <algorithm>
#include <cstdint>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "drivers/interpret.h"
#include "drivers/module_cache.h"
#include "util/byte_size.h"
#include "util/files.h"
#include "util/sha256.h"
#include "wasm/preinit.h"
#include "wasm/wasm_binary.h"

namespace discoblocks::drivers {

namespace {

// "70 MiB (73400320 bytes)" or "1000 bytes".
std::string DescribeSize(std::uint64_t bytes) {
  if (bytes < (std::uint64_t{1} << 20)) return fmt::format("{} bytes", bytes);
  return fmt::format("{:.1f} MiB ({} bytes)", static_cast<double>(bytes) / (1 << 20), bytes);
}

// Whether the module exports the v2 marker, read from its layout without
// compiling it. A layout this reader cannot follow counts as no: the module is
// then compiled as it is, and Wasmtime says what is wrong with it.
bool DeclaresAbiV2(std::string_view bytes) {
  auto layout = wasm::binary::ParseLayout(bytes);
  return layout && layout->FindExport(kAbiV2Marker) != nullptr;
}

// The snapshot of a v2 driver: from the module cache, or made now.
Result<CacheLoad, wasm::PreinitError> LoadSnapshot(const std::shared_ptr<wasm::Engine>& engine,
                                                   std::string_view bytes,
                                                   const std::string& digest,
                                                   const std::string& provisioner,
                                                   const wasm::Limits& limits, ModuleCache* cache) {
  const auto make = [&]() -> Result<wasm::Preinitialized, wasm::PreinitError> {
    auto made =
        wasm::PreInitialize(engine, bytes, limits, {.program_name = provisioner, .segments = {}});
    if (made && (!made->init_stdout.empty() || !made->init_stderr.empty())) {
      spdlog::info("driver {}: its initializer wrote stdout {:?} and stderr {:?}", provisioner,
                   made->init_stdout.substr(0, 1024), made->init_stderr.substr(0, 1024));
    }
    return made;
  };
  if (cache != nullptr) return cache->LoadOrPreinitialize(engine, digest, make);
  auto made = make();
  if (!made) return made.error();
  CacheLoad load;
  load.module = std::move(made->module);
  return load;
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
  driver->manifest_ = std::move(manifest).value();
  if (options.preinitialize && DeclaresAbiV2(*bytes)) {
    const auto started = std::chrono::steady_clock::now();
    auto snapshot =
        LoadSnapshot(engine, *bytes, digest, provisioner,
                     driver->EffectiveLimits(options.initializer_limits), options.module_cache);
    driver->preinit_.time = std::chrono::steady_clock::now() - started;
    if (snapshot) {
      driver->preinit_.preinitialized = true;
      driver->from_cache_ = snapshot->from_cache;
      driver->module_ = std::move(snapshot->module);
      spdlog::info(
          "driver {}: calls start from the snapshot its initializer left ({} in {:.0f} ms)",
          provisioner, snapshot->from_cache ? "from the module cache" : "made",
          std::chrono::duration<double, std::milli>(driver->preinit_.time).count());
    } else {
      const wasm::PreinitError& refused = snapshot.error();
      driver->preinit_.not_preinitialized =
          fmt::format("{}: {}", wasm::NoSnapshotName(refused.reason), refused.message);
      // A module without an initializer has nothing to save: not worth a warning.
      spdlog::log(refused.reason == wasm::NoSnapshot::kNoInitializer ? spdlog::level::info
                                                                     : spdlog::level::warn,
                  "driver {}: not pre-initialized, so every call runs its initializer: {}",
                  provisioner, driver->preinit_.not_preinitialized);
    }
  }
  if (driver->module_ == nullptr && options.module_cache != nullptr) {
    auto cached = options.module_cache->LoadOrCompile(engine, *bytes, digest);
    if (!cached) return MakeError(wasm_path.string() + ": " + cached.error().message);
    driver->from_cache_ = cached->from_cache;
    driver->module_ = std::move(cached->module);
  } else if (driver->module_ == nullptr) {
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
