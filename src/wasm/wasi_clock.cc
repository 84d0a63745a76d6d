#include "wasm/wasi_clock.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "wasm/call_state.h"
#include "wasm/wasi_abi.h"

namespace discoblocks::wasm {
namespace {

constexpr std::uint32_t kClockProcessCputime = 2;
constexpr std::uint32_t kClockThreadCputime = 3;

std::int64_t Nanoseconds(auto duration) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
}

// clock_time_get(id: u32, precision: u64, time: *u64) -> errno
wasm_trap_t* ClockTimeGet(void* /*env*/, wasmtime_caller_t* caller, const wasmtime_val_t* args,
                          size_t /*nargs*/, wasmtime_val_t* results, size_t /*nresults*/) {
  const auto id = static_cast<std::uint32_t>(args[0].of.i32);
  const auto time_at = static_cast<std::uint32_t>(args[2].of.i32);
  auto* state = static_cast<CallState*>(wasmtime_context_get_data(wasmtime_caller_context(caller)));
  std::int64_t now = 0;
  switch (id) {
    case kClockRealtime:
      now = Nanoseconds(std::chrono::system_clock::now().time_since_epoch());
      break;
    case kClockMonotonic:
      now = MonotonicNow(*state);
      break;
    case kClockProcessCputime:
    case kClockThreadCputime:
      // Wasmtime's preview 1 refuses them so; drivers must not measure the host.
      return wasi::ReturnErrno(results, wasi::kErrnoBadf);
    default:
      return wasi::ReturnErrno(results, wasi::kErrnoInval);
  }
  wasi::GuestMemory memory;
  if (!wasi::MemoryOf(caller, &memory) || !memory.Holds(time_at, 8)) {
    return wasi::ReturnErrno(results, wasi::kErrnoFault);
  }
  if (id == kClockMonotonic) state->monotonic_max_ns = std::max(state->monotonic_max_ns, now);
  wasi::Store<std::uint64_t>(memory.data + time_at, static_cast<std::uint64_t>(now));
  return wasi::ReturnErrno(results, wasi::kErrnoSuccess);
}

}  // namespace

std::int64_t MonotonicNow(const CallState& state) {
  return state.monotonic_base_ns + Nanoseconds(std::chrono::steady_clock::now() - state.started);
}

Status DefineContinuousClock(wasmtime_linker_t* linker) {
  return wasi::DefineErrnoFunction(linker, "clock_time_get", {WASM_I32, WASM_I64, WASM_I32},
                                   ClockTimeGet);
}

}  // namespace discoblocks::wasm
