#include "wasm/wasi_input.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "wasm/call_state.h"
#include "wasm/wasi_abi.h"

namespace discoblocks::wasm {
namespace {

using wasi::GuestMemory;
using wasi::Load;
using wasi::ReturnErrno;

constexpr std::uint32_t kStdin = 0;
constexpr std::uint64_t kIovecSize = 8;  // {buf: u32, buf_len: u32}

// fd_read(fd, iovs, iovs_len, nread) -> errno
wasm_trap_t* FdRead(void* /*env*/, wasmtime_caller_t* caller, const wasmtime_val_t* args,
                    size_t /*nargs*/, wasmtime_val_t* results, size_t /*nresults*/) {
  const auto fd = static_cast<std::uint32_t>(args[0].of.i32);
  const auto iovs = static_cast<std::uint32_t>(args[1].of.i32);
  const auto iovs_len = static_cast<std::uint32_t>(args[2].of.i32);
  const auto nread_at = static_cast<std::uint32_t>(args[3].of.i32);
  if (fd != kStdin) return ReturnErrno(results, wasi::kErrnoBadf);
  auto* state = static_cast<CallState*>(wasmtime_context_get_data(wasmtime_caller_context(caller)));
  GuestMemory memory;
  if (!wasi::MemoryOf(caller, &memory) ||
      !memory.Holds(iovs, std::uint64_t{iovs_len} * kIovecSize) || !memory.Holds(nread_at, 4)) {
    return ReturnErrno(results, wasi::kErrnoFault);
  }
  // Every buffer is checked before any byte is consumed, so a fault leaves the
  // input where it was.
  for (std::uint32_t i = 0; i < iovs_len; ++i) {
    const std::uint8_t* iovec = memory.data + iovs + i * kIovecSize;
    if (!memory.Holds(Load<std::uint32_t>(iovec), Load<std::uint32_t>(iovec + 4))) {
      return ReturnErrno(results, wasi::kErrnoFault);
    }
  }
  std::uint64_t read = 0;
  for (std::uint32_t i = 0; i < iovs_len && state->input_pos < state->input.size(); ++i) {
    const std::uint8_t* iovec = memory.data + iovs + i * kIovecSize;
    const auto buffer = Load<std::uint32_t>(iovec);
    const auto length = Load<std::uint32_t>(iovec + 4);
    // One read returns at most 4 GiB - 1 (nread is a u32); the rest comes on
    // the next read.
    const std::uint64_t count = std::min<std::uint64_t>(
        {length, state->input.size() - state->input_pos, UINT32_MAX - read});
    std::memcpy(memory.data + buffer, state->input.data() + state->input_pos, count);
    state->input_pos += count;
    read += count;
  }
  wasi::Store<std::uint32_t>(memory.data + nread_at, static_cast<std::uint32_t>(read));
  return ReturnErrno(results, wasi::kErrnoSuccess);
}

}  // namespace

Status DefineCallInput(wasmtime_linker_t* linker) {
  return wasi::DefineErrnoFunction(linker, "fd_read", 4, FdRead);
}

}  // namespace discoblocks::wasm
