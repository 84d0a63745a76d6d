// One loaded version of one driver: its compiled module and identity. Immutable;
// held through shared_ptr so that a call in progress keeps the version it started
// with alive even if the registry moves on to another.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "drivers/contract.h"
#include "drivers/outcome.h"
#include "util/result.h"
#include "wasm/engine.h"
#include "wasm/module.h"

namespace discoblocks::drivers {

// Told about every finished call, e.g. to count calls in metrics.
using CallObserver = std::function<void(std::string_view provisioner, const FunctionSpec& function,
                                        const Outcome& outcome)>;

struct CallOptions {
  wasm::Limits limits;
  CallObserver observer;
  // Extra variables for driver authors experimenting offline; they are added to
  // (and override) the contract's variables.
  Environment extra_env;
};

class Driver {
 public:
  // Reads and compiles `<directory>/main.wasm`. The error says which step failed.
  static Result<std::shared_ptr<const Driver>> Load(std::shared_ptr<wasm::Engine> engine,
                                                    std::string provisioner,
                                                    const std::filesystem::path& wasm_path);

  [[nodiscard]] const std::string& provisioner() const { return provisioner_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] const std::string& sha256() const { return sha256_; }
  [[nodiscard]] std::uint64_t size_bytes() const { return size_bytes_; }
  [[nodiscard]] std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }
  [[nodiscard]] const wasm::ModuleInfo& module_info() const { return module_->info(); }
  [[nodiscard]] bool Exports(Function function) const;

  // Runs one function per the contract. Never throws.
  [[nodiscard]] Outcome Call(Function function, const CallInputs& inputs,
                             const CallOptions& options = {}) const;

 private:
  Driver() = default;
  std::string provisioner_;
  std::filesystem::path path_;
  std::string sha256_;
  std::uint64_t size_bytes_ = 0;
  std::chrono::system_clock::time_point loaded_at_;
  std::shared_ptr<const wasm::Module> module_;
};

}  // namespace discoblocks::drivers
