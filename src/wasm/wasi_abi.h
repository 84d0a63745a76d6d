// Shared by the host functions that replace parts of Wasmtime's WASI preview 1
// (wasi_poll.cc, wasi_output.cc, wasi_clock.cc): ABI constants, guest memory access, and
// defining a function in the linker. Internal to src/wasm/.
#pragma once

#include <wasmtime.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string_view>

#include "util/result.h"

namespace discoblocks::wasm::wasi {

// Error numbers of wasi_snapshot_preview1 (witx).
inline constexpr std::uint16_t kErrnoSuccess = 0;
inline constexpr std::uint16_t kErrnoBadf = 8;
inline constexpr std::uint16_t kErrnoFault = 21;
inline constexpr std::uint16_t kErrnoInval = 28;
inline constexpr std::uint16_t kErrnoNotsup = 58;

template <typename T>
T Load(const std::uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));  // guest memory is little-endian and unaligned
  return value;
}

template <typename T>
void Store(std::uint8_t* at, T value) {
  std::memcpy(at, &value, sizeof(T));
}

// The calling instance's exported memory.
struct GuestMemory {
  std::uint8_t* data = nullptr;
  std::uint64_t size = 0;

  // Whether [offset, offset + length) lies inside the memory.
  [[nodiscard]] bool Holds(std::uint64_t offset, std::uint64_t length) const {
    return offset <= size && length <= size - offset;
  }
};

// False when the caller exports no memory named "memory".
bool MemoryOf(wasmtime_caller_t* caller, GuestMemory* memory);

// Sets a host function's single i32 result to `error`.
inline wasm_trap_t* ReturnErrno(wasmtime_val_t* results, std::uint16_t error) {
  results[0].kind = WASMTIME_I32;
  results[0].of.i32 = error;
  return nullptr;
}

// Defines wasi_snapshot_preview1.<name> as a function of `i32_params` i32
// parameters returning an i32 errno, shadowing Wasmtime's.
Status DefineErrnoFunction(wasmtime_linker_t* linker, std::string_view name, int i32_params,
                           wasmtime_func_callback_t callback);
// The same with parameters of the given kinds (WASM_I32, WASM_I64, ...).
Status DefineErrnoFunction(wasmtime_linker_t* linker, std::string_view name,
                           std::initializer_list<wasm_valkind_t> params,
                           wasmtime_func_callback_t callback);

}  // namespace discoblocks::wasm::wasi
