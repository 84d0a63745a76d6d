#include "wasm/wasi_output.h"

#include <cstdint>

#include "wasm/call_state.h"
#include "wasm/wasi_abi.h"

namespace discoblocks::wasm {
namespace {

using wasi::GuestMemory;
using wasi::Load;
using wasi::ReturnErrno;

constexpr std::uint32_t kStdout = 1;
constexpr std::uint32_t kStderr = 2;
constexpr std::uint64_t kIovecSize = 8;  // {buf: u32, buf_len: u32}

// fd_write(fd, iovs, iovs_len, nwritten) -> errno
wasm_trap_t* FdWrite(void* /*env*/, wasmtime_caller_t* caller, const wasmtime_val_t* args,
                     size_t /*nargs*/, wasmtime_val_t* results, size_t /*nresults*/) {
  const auto fd = static_cast<std::uint32_t>(args[0].of.i32);
  const auto iovs = static_cast<std::uint32_t>(args[1].of.i32);
  const auto iovs_len = static_cast<std::uint32_t>(args[2].of.i32);
  const auto nwritten_at = static_cast<std::uint32_t>(args[3].of.i32);
  auto* state = static_cast<CallState*>(wasmtime_context_get_data(wasmtime_caller_context(caller)));
  // Drivers get no files or sockets: stdout and stderr are the only descriptors
  // that can be written.
  OutputCapture* capture = fd == kStdout ? &state->out : fd == kStderr ? &state->err : nullptr;
  if (capture == nullptr) return ReturnErrno(results, wasi::kErrnoBadf);
  GuestMemory memory;
  if (!wasi::MemoryOf(caller, &memory) || !memory.Holds(iovs, iovs_len * kIovecSize) ||
      !memory.Holds(nwritten_at, 4)) {
    return ReturnErrno(results, wasi::kErrnoFault);
  }
  std::uint64_t written = 0;
  for (std::uint32_t i = 0; i < iovs_len; ++i) {
    const std::uint8_t* iovec = memory.data + iovs + i * kIovecSize;
    const auto buffer = Load<std::uint32_t>(iovec);
    const auto length = Load<std::uint32_t>(iovec + 4);
    if (!memory.Holds(buffer, length)) return ReturnErrno(results, wasi::kErrnoFault);
    // Bytes past the cap are dropped but reported as written: the call is stopped
    // at the next epoch tick, which is more predictable than an error the module
    // might ignore or handle in its own way.
    capture->Append(memory.data + buffer, length);
    written += length;
  }
  wasi::Store<std::uint32_t>(
      memory.data + nwritten_at,
      static_cast<std::uint32_t>(std::min<std::uint64_t>(written, UINT32_MAX)));
  return ReturnErrno(results, wasi::kErrnoSuccess);
}

}  // namespace

Status DefineCapturedOutput(wasmtime_linker_t* linker) {
  return wasi::DefineErrnoFunction(linker, "fd_write", 4, FdWrite);
}

}  // namespace discoblocks::wasm
