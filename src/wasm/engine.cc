#include "wasm/engine.h"

#include <utility>

#include "wasm/engine_impl.h"
#include "wasm/wasi_poll.h"

namespace discoblocks::wasm {

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

Result<std::shared_ptr<Engine>> Engine::Create(const EngineOptions& options) {
  if (options.epoch_tick.count() <= 0) return MakeError("engine: epoch tick must be positive");
  if (options.max_stack_bytes < std::size_t{16} * 1024) {
    return MakeError("engine: stack limit must be at least 16 KiB");
  }
  wasm_config_t* config = wasm_config_new();
  wasmtime_config_epoch_interruption_set(config, true);
  wasmtime_config_max_wasm_stack_set(config, options.max_stack_bytes);
  // Drivers are single-threaded WASI modules; shared memories are not offered.
  wasmtime_config_wasm_threads_set(config, false);

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
