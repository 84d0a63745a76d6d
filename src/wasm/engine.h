// The WebAssembly engine: one per process, shared by every driver and thread.
//
// This folder (src/wasm/) is the only code that touches Wasmtime; nothing above
// it includes a Wasmtime header. The engine owns the compilation settings and a
// ticker thread that advances Wasmtime's epoch, which is how running calls are
// interrupted when they pass their time limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "util/result.h"

namespace discoblocks::wasm {

struct EngineOptions {
  // Deepest WebAssembly stack a call may use; deeper recursion traps with a stack
  // overflow instead of crashing the process. Wasmtime's own default.
  std::size_t max_stack_bytes = std::size_t{512} * 1024;
  // How often the epoch advances. A call that passes its time limit is stopped
  // within about one tick, and an output flood within about one tick of the cap.
  std::chrono::milliseconds epoch_tick{5};
  // Take instances from a pool of slots reserved once (Wasmtime's pooling
  // allocator) instead of mapping fresh memory for every call; a slot's memory is
  // reset from the module's copy-on-write image. Every call gets a fresh instance
  // either way; this only makes creating one cheaper.
  bool pooling_allocator = true;
  // Pool size: instances alive at once. A call beyond it fails to instantiate
  // (an error outcome), so it must exceed the calls the process runs at once.
  std::uint32_t max_concurrent_instances = 256;
  // Bytes of each slot's linear memory kept resident between calls (reset from
  // the module's image in place rather than returned to the kernel), sparing the
  // page faults of touching them again. Measured (docs/performance.md): 4 MiB
  // covers a Go driver's whole memory (3.1 MiB), and halves its calls from a
  // snapshot (491 -> 194-248 µs) and its v1 calls (965-1036 -> 630 µs), where
  // faults and madvise cost more than the copy; two threads then run Go calls
  // 1.6-1.9 times as fast as one instead of slower. It costs up to 4 MiB of
  // resident memory per slot that has run a call.
  std::size_t keep_resident_bytes = std::size_t{4} << 20;
  // The same for each slot's table: a Go driver's 6,000-entry function table is
  // 48 KiB. Measured: the C++ driver's call 25-35 -> 16-17 µs with no page
  // fault, and Go's calls faster too.
  std::size_t table_keep_resident_bytes = std::size_t{64} << 10;
  // Cranelift optimisation: "speed" (default), "speed_and_size" or "none".
  std::string opt_level = "speed";
};

class Engine {
 public:
  // Creates the engine and starts its epoch ticker.
  static Result<std::shared_ptr<Engine>> Create(const EngineOptions& options = {});

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();  // Stops the ticker.

  [[nodiscard]] const EngineOptions& options() const;

  // The Wasmtime version this build links against.
  static std::string WasmtimeVersion();

  // Everything a serialized module depends on, human readable, e.g.
  // "wasmtime=50.0.1;target=x86_64-linux;max_stack=524288;...". Two engines with
  // the same fingerprint accept each other's serialized modules; any setting that
  // engine.cc applies is part of it, so a module cache keyed on it never offers a
  // module built for another configuration.
  [[nodiscard]] std::string Fingerprint() const;

  struct Impl;  // Defined in engine_impl.h, visible to src/wasm/ only.
  [[nodiscard]] Impl& impl() const { return *impl_; }

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace discoblocks::wasm
