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
  // Time to build this Module: compiling, or deserializing when from_cache.
  std::chrono::nanoseconds compile_time{0};
  bool from_cache = false;  // made by Deserialize rather than Compile
  // Built from a snapshot (preinit.h): its initializer already ran, and calls
  // start in the state it left. Such a module exports no initializer.
  bool preinitialized = false;
  // Where the module's WASI monotonic clock starts at every call (wasi_clock.h).
  std::int64_t monotonic_base_ns = 0;
};

// What the host knows of a module beyond its bytes. Defaults describe a module
// run from its start.
struct ModuleExtras {
  // For a snapshot: past every monotonic reading its initializer made, so that
  // a call's clock continues from the initializer's.
  std::int64_t monotonic_base_ns = 0;
  bool preinitialized = false;
};

class Module {
 public:
  // Compiles `bytes` and resolves its imports against what the host provides
  // (WASI preview 1 only). Fails with Wasmtime's reason when the bytes are not a
  // valid module or an import cannot be satisfied.
  static Result<std::shared_ptr<const Module>> Compile(std::shared_ptr<Engine> engine,
                                                       std::string_view bytes,
                                                       ModuleExtras extras = {});

  // Rebuilds a module from what Serialize produced, skipping compilation, then links
  // it like Compile. UNSAFE on untrusted bytes: Wasmtime maps them as machine code
  // after only a compatibility check, so callers must only pass bytes they wrote
  // themselves (e.g. from a private cache directory, after verifying a checksum).
  // Wasmtime refuses, as an error, artifacts from another Wasmtime version or
  // with settings it checks; key stored bytes on Engine::Fingerprint, which
  // covers every setting, rather than rely on that check.
  // A serialized artifact does not carry the extras: pass those the module was
  // compiled with.
  static Result<std::shared_ptr<const Module>> Deserialize(std::shared_ptr<Engine> engine,
                                                           std::string_view bytes,
                                                           ModuleExtras extras = {});

  // The compiled artifact, for Deserialize with an engine of the same fingerprint.
  [[nodiscard]] Result<std::string> Serialize() const;

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();

  [[nodiscard]] const ModuleInfo& info() const { return info_; }
  [[nodiscard]] bool Exports(std::string_view name) const;

  // Runs one call in a fresh store and instance (see run.h). Never throws; every
  // failure, including every breach of a limit, is described in the result.
  [[nodiscard]] RunResult Run(const RunRequest& request) const;

  struct Impl;  // Defined in module_impl.h, visible to src/wasm/ only.
  [[nodiscard]] const Impl& impl() const { return *impl_; }

 private:
  Module(std::unique_ptr<Impl> impl, ModuleInfo info);
  // The part Compile and Deserialize share once impl->module is set: resolve
  // imports and describe the module.
  static Result<std::shared_ptr<const Module>> Link(std::unique_ptr<Impl> impl,
                                                    std::chrono::steady_clock::time_point started,
                                                    bool from_cache, const ModuleExtras& extras);
  std::unique_ptr<Impl> impl_;
  ModuleInfo info_;
};

}  // namespace discoblocks::wasm
