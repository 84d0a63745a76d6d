#include "drivers/driver.h"

#include <utility>

#include "drivers/interpret.h"
#include "util/files.h"
#include "util/sha256.h"

namespace discoblocks::drivers {

// Largest driver module accepted; real drivers are a few MiB.
constexpr std::size_t kMaxModuleBytes = std::size_t{64} << 20;

Result<std::shared_ptr<const Driver>> Driver::Load(std::shared_ptr<wasm::Engine> engine,
                                                   std::string provisioner,
                                                   const std::filesystem::path& wasm_path) {
  auto bytes = ReadFile(wasm_path, kMaxModuleBytes);
  if (!bytes) return bytes.error();
  auto module = wasm::Module::Compile(std::move(engine), *bytes);
  if (!module) return MakeError(wasm_path.string() + ": " + module.error().message);

  auto driver = std::shared_ptr<Driver>(new Driver());
  driver->provisioner_ = std::move(provisioner);
  driver->path_ = wasm_path;
  driver->sha256_ = Sha256Hex(*bytes);
  driver->size_bytes_ = bytes->size();
  driver->loaded_at_ = std::chrono::system_clock::now();
  driver->module_ = std::move(module).value();
  return std::shared_ptr<const Driver>(std::move(driver));
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
  request.limits = options.limits;
  Outcome outcome = Interpret(provisioner_, spec, module_->Run(request));
  if (options.observer) options.observer(provisioner_, spec, outcome);
  return outcome;
}

}  // namespace discoblocks::drivers
