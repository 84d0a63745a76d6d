// A deadline-aware replacement for WASI preview 1 `poll_oneoff`. Internal.
//
// Epoch interruption only stops running WebAssembly code; a driver blocked in
// the host, sleeping in poll_oneoff, would outlive its time limit. This version
// sleeps no later than the call's deadline and then stops the call. The host
// gives drivers no sockets, no files and an empty stdin, so only clock
// subscriptions ever wait; descriptor subscriptions on stdin/stdout/stderr are
// ready at once, others get EBADF. An absolute monotonic time is read on the
// clock of wasi_clock.h, the one clock_time_get returns.
#pragma once

#include <wasmtime.h>

#include "util/result.h"

namespace discoblocks::wasm {

// Defines wasi_snapshot_preview1.poll_oneoff in `linker`, shadowing Wasmtime's.
// Requires every store instantiated through the linker to carry a CallState as
// its data.
Status DefineDeadlineAwarePoll(wasmtime_linker_t* linker);

}  // namespace discoblocks::wasm
