// Pre-initialized drivers (issue 16): run a module's `_initialize` once, at
// load, and turn the module into a snapshot that starts in the state the
// initializer left. Every call then instantiates the snapshot fresh (from the
// pooling allocator's copy-on-write image) and skips the initializer; calls
// share nothing with each other, exactly as without a snapshot.
//
// Steps: validate; read the layout and refuse what a snapshot cannot capture
// (wasm_rewrite.h CheckSnapshottable); add exports for the module's hidden state
// (Instrument); run `_initialize` in a store exactly as a call runs (same
// limits, store limiter, epoch deadline, output capture and failure
// classification); while that instance is alive read its mutable globals, its
// memory and its table sizes; write the snapshot (Rewrite) and compile it.
//
// Any refusal is an error whose reason says why; callers fall back to running
// the original module, with its initializer at every call.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"
#include "wasm/engine.h"
#include "wasm/module.h"
#include "wasm/run.h"
#include "wasm/wasm_rewrite.h"

namespace discoblocks::wasm {

struct PreinitOptions {
  std::string program_name = "driver";  // argv[0] while the initializer runs
  binary::SegmentOptions segments;      // how the snapshot's data segments are cut
};

struct Preinitialized {
  std::string wasm;                      // the snapshot, a valid module
  std::shared_ptr<const Module> module;  // compiled from `wasm`, with `extras`
  // What the snapshot needs from the host beyond its bytes: pass it again to
  // Module::Compile or Deserialize when rebuilding the module from `wasm` or from
  // a serialized artifact. preinitialized is true, and the monotonic base lies
  // past every monotonic reading the initializer made.
  ModuleExtras extras;
  // Where the time went: the initializer run (instantiation and state capture
  // included), Rewrite (with reading its output back), the two compiles
  // (instrumented module and snapshot), and everything.
  std::chrono::nanoseconds initializer_time{0};
  std::chrono::nanoseconds rewrite_time{0};
  std::chrono::nanoseconds compile_time{0};
  std::chrono::nanoseconds total_time{0};
  std::uint64_t memory_bytes = 0;  // the snapshot's initial memory
  std::size_t data_segments = 0;   // in the snapshot
  // What the initializer wrote, for the log. Calls do not see it again.
  std::string init_stdout;
  std::string init_stderr;
};

enum class NoSnapshot {
  kInvalidModule,      // Wasmtime does not accept the bytes at all
  kNotSnapshottable,   // the module has state a snapshot cannot carry (CheckSnapshottable)
  kNoInitializer,      // no `_initialize` export: there is nothing to save
  kInitializerFailed,  // `_initialize` trapped, exited, or passed a limit
  kStateNotCaptured,   // the state after `_initialize` cannot be captured (a grown table)
  kSnapshotInvalid,    // the rewritten module did not compile: a rewriter bug
};
std::string_view NoSnapshotName(NoSnapshot reason);  // "invalid-module", ...

struct PreinitError {
  NoSnapshot reason = NoSnapshot::kNotSnapshottable;
  std::string message;  // "cannot snapshot: <why>"
  // The initializer's run when it was reached (its status, detail and output);
  // default otherwise.
  RunResult initializer;
};

// Pre-initializes `wasm` under `limits` (the limits of one call: the initializer
// must fit in them, as it does today at every call). Thread-safe; the returned
// module is as shareable as any Module.
Result<Preinitialized, PreinitError> PreInitialize(std::shared_ptr<Engine> engine,
                                                   std::string_view wasm, const Limits& limits,
                                                   const PreinitOptions& options = {});

}  // namespace discoblocks::wasm
