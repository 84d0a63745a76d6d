#include "wasm/wasi_abi.h"

#include <string>
#include <vector>

#include "wasm/handles.h"

namespace discoblocks::wasm::wasi {

bool MemoryOf(wasmtime_caller_t* caller, GuestMemory* memory) {
  wasmtime_extern_t item;
  if (!wasmtime_caller_export_get(caller, "memory", 6, &item) ||
      item.kind != WASMTIME_EXTERN_MEMORY) {
    return false;
  }
  wasmtime_context_t* context = wasmtime_caller_context(caller);
  memory->data = wasmtime_memory_data(context, &item.of.memory);
  memory->size = wasmtime_memory_data_size(context, &item.of.memory);
  return true;
}

namespace {

Status DefineWithParams(wasmtime_linker_t* linker, std::string_view name,
                        const std::vector<wasm_valkind_t>& params,
                        wasmtime_func_callback_t callback) {
  std::vector<wasm_valtype_t*> param_types;
  param_types.reserve(params.size());
  for (const wasm_valkind_t kind : params) param_types.push_back(wasm_valtype_new(kind));
  wasm_valtype_t* result_types[1] = {wasm_valtype_new(WASM_I32)};
  wasm_valtype_vec_t param_vec;
  wasm_valtype_vec_t results;
  wasm_valtype_vec_new(&param_vec, param_types.size(), param_types.data());
  wasm_valtype_vec_new(&results, 1, result_types);
  const FuncTypePtr type(wasm_functype_new(&param_vec, &results));
  constexpr std::string_view kModule = "wasi_snapshot_preview1";
  const ErrorPtr error(wasmtime_linker_define_func(linker, kModule.data(), kModule.size(),
                                                   name.data(), name.size(), type.get(), callback,
                                                   nullptr, nullptr));
  if (error) return MakeError("cannot define " + std::string(name) + ": " + MessageOf(error.get()));
  return {};
}

}  // namespace

Status DefineErrnoFunction(wasmtime_linker_t* linker, std::string_view name, int i32_params,
                           wasmtime_func_callback_t callback) {
  return DefineWithParams(
      linker, name, std::vector<wasm_valkind_t>(static_cast<std::size_t>(i32_params), WASM_I32),
      callback);
}

Status DefineErrnoFunction(wasmtime_linker_t* linker, std::string_view name,
                           std::initializer_list<wasm_valkind_t> params,
                           wasmtime_func_callback_t callback) {
  return DefineWithParams(linker, name, std::vector<wasm_valkind_t>(params), callback);
}

}  // namespace discoblocks::wasm::wasi
