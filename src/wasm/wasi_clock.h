// A continuous replacement for WASI preview 1 `clock_time_get`. Internal.
//
// Wasmtime's monotonic clock starts near 0 in every WASI context, that is in
// every call. A pre-initialized module (preinit.h) starts from a snapshot whose
// memory holds the readings its initializer made, in an earlier context: with
// Wasmtime's clock, time would go backwards between the initializer and the
// call (Go's runtime, for one, assumes it never does). This clock reads
// CallState::monotonic_base_ns + the time since the call started, and records
// the largest value it returned, from which the snapshot's base is made.
//
// For a module that is not pre-initialized the base is 0, as with Wasmtime's
// clock. The realtime clock is the system clock, as Wasmtime's. The process and
// thread CPU-time clocks are refused with EBADF, as Wasmtime refuses them.
#pragma once

#include <cstdint>

#include <wasmtime.h>

#include "util/result.h"

namespace discoblocks::wasm {

struct CallState;

// WASI clock ids (wasi_snapshot_preview1 witx).
inline constexpr std::uint32_t kClockRealtime = 0;
inline constexpr std::uint32_t kClockMonotonic = 1;

// The call's monotonic clock now, in nanoseconds, without recording it.
std::int64_t MonotonicNow(const CallState& state);

// Defines wasi_snapshot_preview1.clock_time_get in `linker`, shadowing
// Wasmtime's. Requires every store instantiated through the linker to carry a
// CallState as its data.
Status DefineContinuousClock(wasmtime_linker_t* linker);

}  // namespace discoblocks::wasm
