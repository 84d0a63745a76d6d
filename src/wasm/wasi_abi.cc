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

Status DefineErrnoFunction(wasmtime_linker_t* linker, std::string_view name, int i32_params,
                           wasmtime_func_callback_t callback) {
  std::vector<wasm_valtype_t*> param_types;
  param_types.reserve(static_cast<std::size_t>(i32_params));
  for (int i = 0; i < i32_params; ++i) param_types.push_back(wasm_valtype_new(WASM_I32));
  wasm_valtype_t* result_types[1] = {wasm_valtype_new(WASM_I32)};
  wasm_valtype_vec_t params;
  wasm_valtype_vec_t results;
  wasm_valtype_vec_new(&params, param_types.size(), param_types.data());
  wasm_valtype_vec_new(&results, 1, result_types);
  const FuncTypePtr type(wasm_functype_new(&params, &results));
  constexpr std::string_view kModule = "wasi_snapshot_preview1";
  const ErrorPtr error(wasmtime_linker_define_func(linker, kModule.data(), kModule.size(),
                                                   name.data(), name.size(), type.get(), callback,
                                                   nullptr, nullptr));
  if (error) return MakeError("cannot define " + std::string(name) + ": " + MessageOf(error.get()));
  return {};
}

}  // namespace discoblocks::wasm::wasi
