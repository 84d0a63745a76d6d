#include "wasm/preinit.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "wasm/engine_impl.h"
#include "wasm/module_impl.h"
#include "wasm/wasm_binary.h"

namespace discoblocks::wasm {
namespace {

using Clock = std::chrono::steady_clock;

// A call's monotonic clock starts this far past the initializer's last reading,
// so that no call reads a time the initializer has already read.
constexpr std::int64_t kMonotonicMarginNs = 1000;

PreinitError Refuse(NoSnapshot reason, std::string why) {
  return PreinitError{reason, "cannot snapshot: " + std::move(why), {}};
}

// What the hook reads from the instance once `_initialize` has returned.
struct Captured {
  Status status;  // why the state could not be read, if it could not
  std::uint64_t memory_pages = 0;
  std::string memory;
  std::map<std::uint32_t, binary::GlobalValue> globals;
  std::int64_t monotonic_max_ns = 0;
};

Result<wasmtime_extern_t> ExportOf(wasmtime_context_t* context, const wasmtime_instance_t& instance,
                                   const std::string& name, wasmtime_extern_kind_t kind) {
  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(context, &instance, name.data(), name.size(), &item)) {
    return MakeError(fmt::format("the instrumented module lacks the export {}", name));
  }
  if (item.kind != kind) {
    wasmtime_extern_delete(&item);
    return MakeError(fmt::format("the instrumented module's export {} is of another kind", name));
  }
  return item;
}

Result<binary::GlobalValue> ValueOf(wasmtime_context_t* context, const wasmtime_global_t& global,
                                    std::uint32_t index) {
  wasmtime_val_t value;
  wasmtime_global_get(context, &global, &value);
  binary::GlobalValue out;
  switch (value.kind) {
    case WASMTIME_I32:
      out.type = binary::valtype::kI32;
      out.bits = static_cast<std::uint32_t>(value.of.i32);
      return out;
    case WASMTIME_I64:
      out.type = binary::valtype::kI64;
      out.bits = static_cast<std::uint64_t>(value.of.i64);
      return out;
    case WASMTIME_F32: {
      out.type = binary::valtype::kF32;
      std::uint32_t bits = 0;
      std::memcpy(&bits, &value.of.f32, sizeof bits);
      out.bits = bits;
      return out;
    }
    case WASMTIME_F64:
      out.type = binary::valtype::kF64;
      std::memcpy(&out.bits, &value.of.f64, sizeof out.bits);
      return out;
    case WASMTIME_V128:
      out.type = binary::valtype::kV128;
      std::memcpy(out.v128.data(), value.of.v128, out.v128.size());
      return out;
    default:
      // CheckSnapshottable refuses mutable reference globals before this runs.
      wasmtime_val_unroot(&value);
      return MakeError(
          fmt::format("global {} holds a reference, which a snapshot cannot carry", index));
  }
}

// Reads every instrumented global, the tables' sizes and the memory.
Status Capture(wasmtime_context_t* context, const wasmtime_instance_t& instance,
               const binary::ModuleLayout& layout, const binary::Instrumented& instrumented,
               Captured* captured) {
  for (const auto& [index, name] : instrumented.globals) {
    auto item = ExportOf(context, instance, name, WASMTIME_EXTERN_GLOBAL);
    if (!item) return item.error();
    auto value = ValueOf(context, item->of.global, index);
    if (!value) return value.error();
    captured->globals.emplace(index, *value);
  }
  // A table's contents are not captured: the snapshot keeps the module's element
  // segments. Growing a table is the visible sign that the initializer changed
  // it; a table.set in place is not detected (issue16-plan.md §6, risk 2).
  for (const auto& [index, name] : instrumented.tables) {
    auto item = ExportOf(context, instance, name, WASMTIME_EXTERN_TABLE);
    if (!item) return item.error();
    const std::uint64_t size = wasmtime_table_size(context, &item->of.table);
    const std::uint64_t declared = layout.tables.at(index).limits.min;
    if (size != declared) {
      return MakeError(fmt::format(
          "the initializer grew table {} from {} to {} elements, and a snapshot keeps tables as "
          "declared",
          index, declared, size));
    }
  }
  auto memory = ExportOf(context, instance, instrumented.memory, WASMTIME_EXTERN_MEMORY);
  if (!memory) return memory.error();
  captured->memory_pages = wasmtime_memory_size(context, &memory->of.memory);
  const std::size_t bytes = wasmtime_memory_data_size(context, &memory->of.memory);
  if (bytes != captured->memory_pages * binary::kPageBytes) {
    return MakeError(fmt::format("memory 0 holds {} bytes, not {} pages of 64 KiB", bytes,
                                 captured->memory_pages));
  }
  const std::uint8_t* data = wasmtime_memory_data(context, &memory->of.memory);
  captured->memory.assign(reinterpret_cast<const char*>(data), bytes);
  return {};
}

}  // namespace

std::string_view NoSnapshotName(NoSnapshot reason) {
  switch (reason) {
    case NoSnapshot::kInvalidModule:
      return "invalid-module";
    case NoSnapshot::kNotSnapshottable:
      return "not-snapshottable";
    case NoSnapshot::kNoInitializer:
      return "no-initializer";
    case NoSnapshot::kInitializerFailed:
      return "initializer-failed";
    case NoSnapshot::kStateNotCaptured:
      return "state-not-captured";
    case NoSnapshot::kSnapshotInvalid:
      return "snapshot-invalid";
  }
  return "unknown";
}

Result<Preinitialized, PreinitError> PreInitialize(std::shared_ptr<Engine> engine,
                                                   std::string_view wasm, const Limits& limits,
                                                   const PreinitOptions& options) {
  const auto started = Clock::now();
  // The binary reader is bounds-checked, yet it only ever sees modules Wasmtime
  // accepts, so that a refusal here means the module cannot run at all.
  if (const ErrorPtr error(wasmtime_module_validate(
          engine->impl().engine.get(), reinterpret_cast<const std::uint8_t*>(wasm.data()),
          wasm.size()));
      error) {
    return Refuse(NoSnapshot::kInvalidModule,
                  "not a valid WebAssembly module: " + MessageOf(error.get()));
  }
  auto layout = binary::ParseLayout(wasm);
  if (!layout) {
    return Refuse(NoSnapshot::kNotSnapshottable,
                  "cannot read the module's layout: " + layout.error().message);
  }
  if (auto snapshottable = binary::CheckSnapshottable(*layout); !snapshottable) {
    return Refuse(NoSnapshot::kNotSnapshottable, snapshottable.error().message);
  }
  const binary::Export* initialize = layout->FindExport(binary::kInitializeExport);
  if (initialize == nullptr || initialize->kind != binary::ExternalKind::kFunction) {
    return Refuse(NoSnapshot::kNoInitializer,
                  "the module exports no _initialize function: there is no state to save");
  }

  auto instrumented = binary::Instrument(wasm, *layout);
  if (!instrumented) {
    return Refuse(NoSnapshot::kNotSnapshottable, instrumented.error().message);
  }
  auto instrumented_module = Module::Compile(engine, instrumented->bytes);
  if (!instrumented_module) {
    return Refuse(NoSnapshot::kSnapshotInvalid,
                  "the instrumented module " + instrumented_module.error().message);
  }
  if ((*instrumented_module)->info().initializer != InitializerKind::kInitialize) {
    return Refuse(NoSnapshot::kNoInitializer,
                  "_initialize is not a function without parameters and results");
  }

  RunRequest request;
  request.program_name = options.program_name;
  request.limits = limits;
  Captured captured;
  const AfterInitializer hook = [&](wasmtime_context_t* context,
                                    const wasmtime_instance_t& instance, const CallState& state) {
    captured.monotonic_max_ns = state.monotonic_max_ns;
    captured.status = Capture(context, instance, *layout, *instrumented, &captured);
  };
  RunResult run = RunInStore(**instrumented_module, request, &hook);
  if (!run.ok()) {
    PreinitError error =
        Refuse(NoSnapshot::kInitializerFailed,
               fmt::format("_initialize failed ({}): {}", RunStatusName(run.status), run.detail));
    error.initializer = std::move(run);
    return error;
  }
  if (!captured.status) {
    PreinitError error = Refuse(NoSnapshot::kStateNotCaptured, captured.status.error().message);
    error.initializer = std::move(run);
    return error;
  }

  const auto rewrite_started = Clock::now();
  const binary::SnapshotState state{.memory_pages = captured.memory_pages,
                                    .memory = captured.memory,
                                    .globals = captured.globals};
  auto snapshot =
      binary::Rewrite(wasm, *layout, state, binary::RewriteOptions{.segments = options.segments});
  if (!snapshot) return Refuse(NoSnapshot::kStateNotCaptured, snapshot.error().message);
  auto snapshot_layout = binary::ParseLayout(*snapshot);
  if (!snapshot_layout) {
    return Refuse(NoSnapshot::kSnapshotInvalid,
                  "the snapshot does not read back: " + snapshot_layout.error().message);
  }
  const auto rewrite_time = Clock::now() - rewrite_started;
  const ModuleExtras extras{.monotonic_base_ns = captured.monotonic_max_ns + kMonotonicMarginNs,
                            .preinitialized = true};
  auto module = Module::Compile(engine, *snapshot, extras);
  if (!module)
    return Refuse(NoSnapshot::kSnapshotInvalid, "the snapshot " + module.error().message);

  Preinitialized result;
  result.wasm = std::move(*snapshot);
  result.module = std::move(*module);
  result.extras = extras;
  result.initializer_time = run.elapsed;
  result.rewrite_time = rewrite_time;
  result.compile_time =
      (*instrumented_module)->info().compile_time + result.module->info().compile_time;
  result.memory_bytes = captured.memory.size();
  result.data_segments = snapshot_layout->data.size();
  result.init_stdout = std::move(run.stdout_data);
  result.init_stderr = std::move(run.stderr_data);
  result.total_time = Clock::now() - started;
  return result;
}

}  // namespace discoblocks::wasm
