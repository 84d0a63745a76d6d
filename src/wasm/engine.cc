#include "wasm/engine.h"

#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "wasm/engine_impl.h"
#include "wasm/wasi_clock.h"
#include "wasm/wasi_input.h"
#include "wasm/wasi_output.h"
#include "wasm/wasi_poll.h"

namespace discoblocks::wasm {
namespace {

// The wasm_config settings Create applies beyond EngineOptions. Named once so that
// Fingerprint cannot drift from what Create does.
constexpr bool kEpochInterruption = true;  // how calls past their time limit are stopped
// Drivers are single-threaded WASI modules; shared memories are not offered.
constexpr bool kWasmThreads = false;

// The compilation target, as Wasmtime's artifacts depend on it. Wasmtime also checks
// the host's CPU features when deserializing and refuses a mismatch, which callers
// treat like any other unusable entry.
#if defined(__x86_64__)
constexpr std::string_view kArch = "x86_64";
#elif defined(__aarch64__)
constexpr std::string_view kArch = "aarch64";
#elif defined(__riscv) && __riscv_xlen == 64
constexpr std::string_view kArch = "riscv64";
#elif defined(__s390x__)
constexpr std::string_view kArch = "s390x";
#else
constexpr std::string_view kArch = "unknown-arch";
#endif
#if defined(__linux__)
constexpr std::string_view kOs = "linux";
#elif defined(__APPLE__)
constexpr std::string_view kOs = "macos";
#elif defined(_WIN32)
constexpr std::string_view kOs = "windows";
#else
constexpr std::string_view kOs = "unknown-os";
#endif

Result<wasmtime_opt_level_t> OptLevel(std::string_view name) {
  if (name == "speed") return WASMTIME_OPT_LEVEL_SPEED;
  if (name == "speed_and_size") return WASMTIME_OPT_LEVEL_SPEED_AND_SIZE;
  if (name == "none") return WASMTIME_OPT_LEVEL_NONE;
  return MakeError(fmt::format(
      "engine: unknown optimisation level \"{}\" (speed, speed_and_size or none)", name));
}

}  // namespace

Engine::Impl::~Impl() {
  {
    const std::lock_guard lock(ticker_mutex);
    stopping = true;
  }
  ticker_wakeup.notify_all();
  if (ticker.joinable()) ticker.join();
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

const EngineOptions& Engine::options() const { return impl_->options; }

std::string Engine::WasmtimeVersion() { return WASMTIME_VERSION; }

std::string Engine::Fingerprint() const {
  // epoch_tick does not change compiled code, but every option is listed so that a
  // new option cannot be forgotten here by reasoning that it does not matter.
  const EngineOptions& o = impl_->options;
  return fmt::format(
      "wasmtime={};target={}-{};max_stack={};epoch_tick_ms={};epoch={:d};threads={:d};"
      "pooling={:d};pool_instances={};keep_resident={};table_keep_resident={};opt={}",
      WasmtimeVersion(), kArch, kOs, o.max_stack_bytes, o.epoch_tick.count(), kEpochInterruption,
      kWasmThreads, o.pooling_allocator, o.max_concurrent_instances, o.keep_resident_bytes,
      o.table_keep_resident_bytes, o.opt_level);
}

Result<std::shared_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (options.epoch_tick.count() <= 0) return MakeError("engine: epoch tick must be positive");
  if (options.max_stack_bytes < std::size_t{16} * 1024) {
    return MakeError("engine: stack limit must be at least 16 KiB");
  }
  const auto opt_level = OptLevel(options.opt_level);
  if (!opt_level) return opt_level.error();
  if (options.pooling_allocator && options.max_concurrent_instances == 0) {
    return MakeError("engine: the instance pool needs at least one slot");
  }
  wasm_config_t* config = wasm_config_new();
  wasmtime_config_cranelift_opt_level_set(config, *opt_level);
  if (options.pooling_allocator) {
    wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
    // One memory and one table per driver instance, as WASI modules have.
    wasmtime_pooling_allocation_config_total_core_instances_set(pool,
                                                                options.max_concurrent_instances);
    wasmtime_pooling_allocation_config_total_memories_set(pool, options.max_concurrent_instances);
    wasmtime_pooling_allocation_config_total_tables_set(pool, options.max_concurrent_instances);
    // The 32-bit address space: per-call caps below it are the store limiter's job.
    wasmtime_pooling_allocation_config_max_memory_size_set(pool, std::size_t{4} << 30);
    wasmtime_pooling_allocation_config_table_elements_set(
        pool, static_cast<std::size_t>(kMaxTableElements));
    wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool,
                                                                       options.keep_resident_bytes);
    wasmtime_pooling_allocation_config_table_keep_resident_set(pool,
                                                               options.table_keep_resident_bytes);
    wasmtime_pooling_allocation_strategy_set(config, pool);
    wasmtime_pooling_allocation_config_delete(pool);
  }
  wasmtime_config_epoch_interruption_set(config, kEpochInterruption);
  wasmtime_config_max_wasm_stack_set(config, options.max_stack_bytes);
  wasmtime_config_wasm_threads_set(config, kWasmThreads);

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->engine.reset(wasm_engine_new_with_config(config));  // takes ownership of config
  if (!impl->engine) return MakeError("engine: Wasmtime could not create an engine");

  impl->linker.reset(wasmtime_linker_new(impl->engine.get()));
  if (const ErrorPtr error(wasmtime_linker_define_wasi(impl->linker.get())); error) {
    return MakeError("engine: cannot define WASI: " + MessageOf(error.get()));
  }
  wasmtime_linker_allow_shadowing(impl->linker.get(), true);
  if (auto defined = DefineDeadlineAwarePoll(impl->linker.get()); !defined) {
    return defined.error();
  }
  if (auto defined = DefineCapturedOutput(impl->linker.get()); !defined) return defined.error();
  if (auto defined = DefineCallInput(impl->linker.get()); !defined) return defined.error();
  if (auto defined = DefineContinuousClock(impl->linker.get()); !defined) return defined.error();
  wasmtime_linker_allow_shadowing(impl->linker.get(), false);

  Impl* raw = impl.get();
  raw->ticker = std::thread([raw] {
    std::unique_lock lock(raw->ticker_mutex);
    while (!raw->ticker_wakeup.wait_for(lock, raw->options.epoch_tick,
                                        [raw] { return raw->stopping; })) {
      wasmtime_engine_increment_epoch(raw->engine.get());
    }
  });
  return std::shared_ptr<Engine>(new Engine(std::move(impl)));
}

}  // namespace discoblocks::wasm
