#include "wasm/module.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "wasm/engine_impl.h"
#include "wasm/module_impl.h"

namespace discoblocks::wasm {
namespace {

std::string KindName(const wasm_externtype_t* type) {
  switch (wasm_externtype_kind(type)) {
    case WASM_EXTERN_FUNC:
      return "func";
    case WASM_EXTERN_GLOBAL:
      return "global";
    case WASM_EXTERN_TABLE:
      return "table";
    case WASM_EXTERN_MEMORY:
      return "memory";
    default:
      return "other";
  }
}

std::string NameOf(const wasm_name_t* name) { return {name->data, name->size}; }

bool IsNullaryFunc(const wasm_externtype_t* type) {
  if (wasm_externtype_kind(type) != WASM_EXTERN_FUNC) return false;
  const wasm_functype_t* func = wasm_externtype_as_functype_const(type);
  return wasm_functype_params(func)->size == 0 && wasm_functype_results(func)->size == 0;
}

ModuleInfo Describe(const wasmtime_module_t* module) {
  ModuleInfo info;
  wasm_importtype_vec_t imports;
  wasmtime_module_imports(module, &imports);
  for (std::size_t i = 0; i < imports.size; ++i) {
    const wasm_importtype_t* import = imports.data[i];
    info.imports.push_back({NameOf(wasm_importtype_module(import)),
                            NameOf(wasm_importtype_name(import)),
                            KindName(wasm_importtype_type(import))});
  }
  wasm_importtype_vec_delete(&imports);

  wasm_exporttype_vec_t exports;
  wasmtime_module_exports(module, &exports);
  for (std::size_t i = 0; i < exports.size; ++i) {
    const wasm_exporttype_t* export_type = exports.data[i];
    const wasm_externtype_t* type = wasm_exporttype_type(export_type);
    info.exports.push_back(
        {NameOf(wasm_exporttype_name(export_type)), KindName(type), IsNullaryFunc(type)});
    if (wasm_externtype_kind(type) == WASM_EXTERN_MEMORY) {
      const wasm_memorytype_t* memory = wasm_externtype_as_memorytype_const(type);
      info.initial_memory_bytes =
          std::max(info.initial_memory_bytes,
                   wasmtime_memorytype_minimum(memory) * wasmtime_memorytype_page_size(memory));
    }
  }
  wasm_exporttype_vec_delete(&exports);

  auto exported_nullary = [&](std::string_view name) {
    return std::any_of(info.exports.begin(), info.exports.end(),
                       [&](const ExportInfo& e) { return e.name == name && e.nullary_func; });
  };
  if (exported_nullary("_initialize")) {
    info.initializer = InitializerKind::kInitialize;
  } else if (exported_nullary("_start")) {
    info.initializer = InitializerKind::kStart;
  }
  return info;
}

}  // namespace

std::string_view InitializerName(InitializerKind kind) {
  switch (kind) {
    case InitializerKind::kInitialize:
      return "_initialize";
    case InitializerKind::kStart:
      return "_start";
    case InitializerKind::kNone:
      break;
  }
  return "none";
}

Module::Module(std::unique_ptr<Impl> impl, ModuleInfo info)
    : impl_(std::move(impl)), info_(std::move(info)) {}
Module::~Module() = default;

bool Module::Exports(std::string_view name) const {
  return std::any_of(info_.exports.begin(), info_.exports.end(),
                     [&](const ExportInfo& e) { return e.name == name; });
}

Result<std::shared_ptr<const Module>> Module::Compile(std::shared_ptr<Engine> engine,
                                                      std::string_view bytes, ModuleExtras extras) {
  if (bytes.empty()) return MakeError("empty file: not a WebAssembly module");
  const auto started = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->engine = std::move(engine);

  wasmtime_module_t* module = nullptr;
  if (const ErrorPtr error(wasmtime_module_new(impl->engine->impl().engine.get(),
                                               reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                               bytes.size(), &module));
      error) {
    return MakeError("does not compile: " + MessageOf(error.get()));
  }
  impl->module.reset(module);
  return Link(std::move(impl), started, /*from_cache=*/false, extras);
}

Result<std::shared_ptr<const Module>> Module::Deserialize(std::shared_ptr<Engine> engine,
                                                          std::string_view bytes,
                                                          ModuleExtras extras) {
  if (bytes.empty()) return MakeError("cached module does not deserialize: no bytes");
  const auto started = std::chrono::steady_clock::now();
  auto impl = std::make_unique<Impl>();
  impl->engine = std::move(engine);

  wasmtime_module_t* module = nullptr;
  if (const ErrorPtr error(wasmtime_module_deserialize(
          impl->engine->impl().engine.get(), reinterpret_cast<const std::uint8_t*>(bytes.data()),
          bytes.size(), &module));
      error) {
    return MakeError("cached module does not deserialize: " + MessageOf(error.get()));
  }
  impl->module.reset(module);
  return Link(std::move(impl), started, /*from_cache=*/true, extras);
}

Result<std::string> Module::Serialize() const {
  wasm_byte_vec_t serialized;
  if (const ErrorPtr error(wasmtime_module_serialize(impl_->module.get(), &serialized)); error) {
    return MakeError("module does not serialize: " + MessageOf(error.get()));
  }
  std::string bytes(serialized.data, serialized.size);
  wasm_byte_vec_delete(&serialized);
  return bytes;
}

Result<std::shared_ptr<const Module>> Module::Link(std::unique_ptr<Impl> impl,
                                                   std::chrono::steady_clock::time_point started,
                                                   bool from_cache, const ModuleExtras& extras) {
  wasmtime_instance_pre_t* instance_pre = nullptr;
  if (const ErrorPtr error(wasmtime_linker_instantiate_pre(impl->engine->impl().linker.get(),
                                                           impl->module.get(), &instance_pre));
      error) {
    return MakeError("does not link: " + MessageOf(error.get()) +
                     " (drivers may import only wasi_snapshot_preview1)");
  }
  impl->instance_pre.reset(instance_pre);

  ModuleInfo info = Describe(impl->module.get());
  info.compile_time = std::chrono::steady_clock::now() - started;
  info.from_cache = from_cache;
  info.preinitialized = extras.preinitialized;
  info.monotonic_base_ns = extras.monotonic_base_ns;
  return std::shared_ptr<const Module>(new Module(std::move(impl), std::move(info)));
}

}  // namespace discoblocks::wasm
