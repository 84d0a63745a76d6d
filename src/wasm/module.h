// A compiled, pre-linked WebAssembly module: immutable once built, safe to run
// from any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "wasm/engine.h"
#include "wasm/run.h"

namespace discoblocks::wasm {

struct ImportInfo {
  std::string module;  // e.g. "wasi_snapshot_preview1"
  std::string name;    // e.g. "fd_write"
  std::string kind;    // "func", "memory", "table", "global", "tag" or "other"
};

struct ExportInfo {
  std::string name;
  std::string kind;
  bool nullary_func = false;  // a function with no parameters and no results
};

enum class InitializerKind { kNone, kInitialize, kStart };
std::string_view InitializerName(InitializerKind kind);  // "_initialize", "_start", "none"

struct ModuleInfo {
  std::vector<ImportInfo> imports;
  std::vector<ExportInfo> exports;
  InitializerKind initializer = InitializerKind::kNone;
  // The largest initial size among the module's exported memories, in bytes.
  std::uint64_t initial_memory_bytes = 0;
  std::chrono::nanoseconds compile_time{0};
};

class Module {
 public:
  // Compiles `bytes` and resolves its imports against what the host provides
  // (WASI preview 1 only). Fails with Wasmtime's reason when the bytes are not a
  // valid module or an import cannot be satisfied.
  static Result<std::shared_ptr<const Module>> Compile(std::shared_ptr<Engine> engine,
                                                       std::string_view bytes);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();

  [[nodiscard]] const ModuleInfo& info() const { return info_; }
  [[nodiscard]] bool Exports(std::string_view name) const;

  // Runs one call in a fresh store and instance (see run.h). Never throws; every
  // failure, including every breach of a limit, is described in the result.
  [[nodiscard]] RunResult Run(const RunRequest& request) const;

  struct Impl;

 private:
  Module(std::unique_ptr<Impl> impl, ModuleInfo info);
  std::unique_ptr<Impl> impl_;
  ModuleInfo info_;
};

}  // namespace discoblocks::wasm
