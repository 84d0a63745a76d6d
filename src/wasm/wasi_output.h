// A replacement for WASI preview 1 `fd_write` that appends stdout and stderr
// straight to the call's captures. Internal.
//
// Wasmtime's own stdout goes through an asynchronous stream serviced by a
// background task, a thread hand-off on every write that cost a C driver call
// about half its time (see docs/performance.md). Drivers have no other
// descriptors to write to, so every other fd gets EBADF.
#pragma once

#include <wasmtime.h>

#include "util/result.h"

namespace discoblocks::wasm {

// Defines wasi_snapshot_preview1.fd_write in `linker`, shadowing Wasmtime's.
// Requires every store instantiated through the linker to carry a CallState as
// its data.
Status DefineCapturedOutput(wasmtime_linker_t* linker);

}  // namespace discoblocks::wasm
