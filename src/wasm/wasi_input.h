// A replacement for WASI preview 1 `fd_read` that reads standard input from the
// call's input (RunRequest::input, the ABI v2 call document). Internal.
//
// ABI v2 drivers read their inputs when the function runs, from stdin, rather
// than from the environment, which runtimes like Go's copy once at start-up:
// that is what lets a call start from an already initialized instance. Copying
// straight from the host's buffer into the guest's memory costs one copy and no
// stream machinery. A call without input (every ABI v1 call) reads end of file
// at once, as Wasmtime's default empty stdin did. Drivers have no other readable
// descriptors, so every other fd gets EBADF.
#pragma once

#include <wasmtime.h>

#include "util/result.h"

namespace discoblocks::wasm {

// Defines wasi_snapshot_preview1.fd_read in `linker`, shadowing Wasmtime's.
// Requires every store instantiated through the linker to carry a CallState as
// its data.
Status DefineCallInput(wasmtime_linker_t* linker);

}  // namespace discoblocks::wasm
