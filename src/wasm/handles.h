// RAII ownership of Wasmtime C API objects, and their messages as strings.
// Internal to src/wasm/.
#pragma once

#include <memory>
#include <string>

#include <wasmtime.h>

namespace discoblocks::wasm {

template <typename T, void (*Delete)(T*)>
struct CDeleter {
  void operator()(T* pointer) const {
    if (pointer != nullptr) Delete(pointer);
  }
};

using ErrorPtr =
    std::unique_ptr<wasmtime_error_t, CDeleter<wasmtime_error_t, wasmtime_error_delete>>;
using TrapPtr = std::unique_ptr<wasm_trap_t, CDeleter<wasm_trap_t, wasm_trap_delete>>;
using StorePtr =
    std::unique_ptr<wasmtime_store_t, CDeleter<wasmtime_store_t, wasmtime_store_delete>>;
using ModulePtr =
    std::unique_ptr<wasmtime_module_t, CDeleter<wasmtime_module_t, wasmtime_module_delete>>;
using InstancePrePtr =
    std::unique_ptr<wasmtime_instance_pre_t,
                    CDeleter<wasmtime_instance_pre_t, wasmtime_instance_pre_delete>>;
using LinkerPtr =
    std::unique_ptr<wasmtime_linker_t, CDeleter<wasmtime_linker_t, wasmtime_linker_delete>>;
using EnginePtr = std::unique_ptr<wasm_engine_t, CDeleter<wasm_engine_t, wasm_engine_delete>>;
using WasiConfigPtr = std::unique_ptr<wasi_config_t, CDeleter<wasi_config_t, wasi_config_delete>>;
using FuncTypePtr =
    std::unique_ptr<wasm_functype_t, CDeleter<wasm_functype_t, wasm_functype_delete>>;

// Wasmtime's text for an error or a trap (its first line carries the cause;
// further lines carry a WebAssembly backtrace).
std::string MessageOf(const wasmtime_error_t* error);
std::string MessageOf(const wasm_trap_t* trap);

}  // namespace discoblocks::wasm
