// Module::Run and RunInStore: one call in a fresh store and instance, under the
// call's limits.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "wasm/call_state.h"
#include "wasm/engine_impl.h"
#include "wasm/module_impl.h"

namespace discoblocks::wasm {
namespace {

using Clock = std::chrono::steady_clock;

// A failure with the module's memory this close to the cap is reported as hitting
// the memory limit: Wasmtime refuses the memory.grow, and the module then traps or
// exits in its own way (Go's runtime grows its heap 4 MiB at a time).
std::uint64_t MemoryHeadroom(std::uint64_t cap) {
  return std::max<std::uint64_t>(cap / 8, 4 << 20);
}

// `started + limit`, or the end of time for a limit that would run past it: a
// time limit of any size must not overflow the clock's arithmetic.
Clock::time_point DeadlineAfter(Clock::time_point started, std::chrono::milliseconds limit) {
  const auto room =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - started);
  return limit >= room ? Clock::time_point::max() : started + limit;
}

// Called by Wasmtime at every epoch tick while WebAssembly runs in this store.
wasmtime_error_t* OnEpochDeadline(const wasmtime_context_t* /*context*/, void* data,
                                  std::uint64_t* delta, wasmtime_update_deadline_kind_t* kind) {
  auto* state = static_cast<CallState*>(data);
  if (Clock::now() >= state->deadline) {
    state->timed_out.store(true);
    return wasmtime_error_new("time limit reached");
  }
  if (state->out.overflowed() || state->err.overflowed()) {
    return wasmtime_error_new("output limit reached");
  }
  *delta = 1;
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return nullptr;
}

// Builds the call's WASI context: only the given environment and argv[0]; no
// preopened directories, no network. stdin is read by our fd_read (wasi_input.h)
// from the request's input; stdout and stderr are written by our fd_write
// (wasi_output.h) into `state`.
WasiConfigPtr MakeWasiConfig(const RunRequest& request) {
  WasiConfigPtr config(wasi_config_new());
  const char* argv[] = {request.program_name.c_str()};
  wasi_config_set_argv(config.get(), 1, argv);
  std::vector<const char*> names;
  std::vector<const char*> values;
  for (const auto& [name, value] : request.env) {
    names.push_back(name.c_str());
    values.push_back(value.c_str());
  }
  wasi_config_set_env(config.get(), names.size(), names.data(), values.data());
  return config;
}

// Wasmtime's messages read "error while executing at wasm backtrace: <frames>
// Caused by: <cause>"; people need the cause, the frames are noise in a reason.
std::string CauseOf(const std::string& message) {
  constexpr std::string_view kCausedBy = "Caused by:";
  std::string_view cause = message;
  if (const auto at = cause.rfind(kCausedBy); at != std::string_view::npos) {
    cause.remove_prefix(at + kCausedBy.size());
  } else if (const auto newline = cause.find('\n'); newline != std::string_view::npos) {
    cause = cause.substr(0, newline);
  }
  std::string text;
  for (char c : cause) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && (text.empty() || text.back() == ' ')) continue;
    text.push_back(c);
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The size of the instance's exported memory; 0 without an instance or memory.
std::uint64_t MemorySize(wasmtime_context_t* context, const wasmtime_instance_t* instance) {
  wasmtime_extern_t memory;
  if (instance == nullptr ||
      !wasmtime_instance_export_get(context, instance, "memory", 6, &memory) ||
      memory.kind != WASMTIME_EXTERN_MEMORY) {
    return 0;
  }
  return wasmtime_memory_data_size(context, &memory.of.memory);
}

struct Failure {
  RunStatus status;
  std::string detail;
  int exit_code = 0;
};

// Classifies a failed instantiate or call. `error` or `trap` is set.
Failure Classify(const CallState& state, const wasmtime_error_t* error, const wasm_trap_t* trap,
                 wasmtime_context_t* context, const wasmtime_instance_t* instance,
                 const Limits& limits) {
  if (state.timed_out.load()) {
    return {RunStatus::kTimeLimit,
            fmt::format("time limit of {} ms exceeded", limits.time.count())};
  }
  if (state.out.overflowed()) {
    return {RunStatus::kOutputLimit,
            fmt::format("wrote more than the stdout limit of {} bytes", limits.stdout_bytes)};
  }
  if (state.err.overflowed()) {
    return {RunStatus::kOutputLimit,
            fmt::format("wrote more than the stderr limit of {} bytes", limits.stderr_bytes)};
  }
  int exit_code = 0;
  if (error != nullptr && wasmtime_error_exit_status(error, &exit_code)) {
    return {RunStatus::kExit, fmt::format("exited with code {}", exit_code), exit_code};
  }
  wasmtime_trap_code_t code = 0;
  if (trap != nullptr && wasmtime_trap_code(trap, &code) &&
      code == WASMTIME_TRAP_CODE_STACK_OVERFLOW) {
    return {RunStatus::kStackOverflow, "stack overflow (recursion deeper than the stack limit)"};
  }
  const std::string message = CauseOf(error != nullptr ? MessageOf(error) : MessageOf(trap));
  if (const auto size = MemorySize(context, instance);
      instance != nullptr && size + MemoryHeadroom(limits.memory_bytes) >= limits.memory_bytes) {
    return {RunStatus::kMemoryLimit,
            fmt::format("memory limit of {} MiB reached ({} MiB in use; failed with: {})",
                        limits.memory_bytes >> 20, size >> 20, message)};
  }
  return {RunStatus::kTrap, "trapped: " + message};
}

}  // namespace

void OutputCapture::Append(const unsigned char* bytes, std::size_t length) {
  const std::uint64_t room = cap_ > data_.size() ? cap_ - data_.size() : 0;
  if (length > room) overflowed_.store(true, std::memory_order_relaxed);
  data_.append(reinterpret_cast<const char*>(bytes), std::min<std::uint64_t>(length, room));
}

std::string OutputCapture::Take() { return std::move(data_); }

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kOk:
      return "ok";
    case RunStatus::kTrap:
      return "trap";
    case RunStatus::kExit:
      return "exit";
    case RunStatus::kTimeLimit:
      return "time-limit";
    case RunStatus::kMemoryLimit:
      return "memory-limit";
    case RunStatus::kStackOverflow:
      return "stack-overflow";
    case RunStatus::kOutputLimit:
      return "output-limit";
    case RunStatus::kMissingExport:
      return "missing-export";
    case RunStatus::kInstantiateFailed:
      return "instantiate-failed";
  }
  return "unknown";
}

RunResult Module::Run(const RunRequest& request) const {
  return RunInStore(*this, request, nullptr);
}

RunResult RunInStore(const Module& module, const RunRequest& request,
                     const AfterInitializer* after_initializer) {
  const ModuleInfo& info = module.info();
  const Module::Impl& impl = module.impl();
  const auto started = Clock::now();
  RunResult result;
  CallState state(DeadlineAfter(started, request.limits.time), request.limits.stdout_bytes,
                  request.limits.stderr_bytes);
  state.started = started;
  state.monotonic_base_ns = info.monotonic_base_ns;
  const bool initializer_only = after_initializer != nullptr && request.export_name.empty();
  auto finish = [&]() -> RunResult {
    result.stdout_data = state.out.Take();
    result.stderr_data = state.err.Take();
    result.elapsed = Clock::now() - started;
    return std::move(result);
  };
  auto fail = [&](Failure failure, bool in_initializer) -> RunResult {
    result.status = failure.status;
    result.detail = std::move(failure.detail);
    result.exit_code = failure.exit_code;
    result.in_initializer = in_initializer;
    return finish();
  };

  const auto exported =
      std::find_if(info.exports.begin(), info.exports.end(),
                   [&](const ExportInfo& e) { return e.name == request.export_name; });
  if (!initializer_only && exported == info.exports.end()) {
    return fail({RunStatus::kMissingExport,
                 fmt::format("the module does not export {}", request.export_name)},
                false);
  }
  if (!initializer_only && !exported->nullary_func) {
    return fail({RunStatus::kMissingExport,
                 fmt::format("the module exports {}, but not as a function without parameters "
                             "and results",
                             request.export_name)},
                false);
  }

  if (info.initial_memory_bytes > request.limits.memory_bytes) {
    return fail({RunStatus::kMemoryLimit,
                 fmt::format("the module's initial memory of {} MiB is above the memory limit of "
                             "{} MiB",
                             info.initial_memory_bytes >> 20, request.limits.memory_bytes >> 20)},
                false);
  }

  StorePtr store(wasmtime_store_new(impl.engine->impl().engine.get(), &state, nullptr));
  wasmtime_context_t* context = wasmtime_store_context(store.get());
  // Wasmtime reads a negative limit as none at all, so a limit past int64 is held there.
  const auto memory_limit = static_cast<std::int64_t>(std::min<std::uint64_t>(
      request.limits.memory_bytes, std::numeric_limits<std::int64_t>::max()));
  wasmtime_store_limiter(store.get(), memory_limit, kMaxTableElements, /*instances=*/-1,
                         /*tables=*/-1, /*memories=*/-1);
  wasmtime_context_set_epoch_deadline(context, 1);
  wasmtime_store_epoch_deadline_callback(store.get(), OnEpochDeadline, &state, nullptr);
  if (const ErrorPtr error(wasmtime_context_set_wasi(context, MakeWasiConfig(request).release()));
      error) {
    return fail({RunStatus::kInstantiateFailed, "cannot set up WASI: " + MessageOf(error.get())},
                true);
  }

  auto phase_started = Clock::now();
  // Sets `phase` to the time since the previous mark.
  auto mark = [&](std::chrono::nanoseconds& phase) {
    const auto now = Clock::now();
    phase = now - phase_started;
    phase_started = now;
  };
  result.phases.setup = phase_started - started;

  wasmtime_instance_t instance;
  {
    wasm_trap_t* raw_trap = nullptr;
    const ErrorPtr error(
        wasmtime_instance_pre_instantiate(impl.instance_pre.get(), context, &instance, &raw_trap));
    const TrapPtr trap(raw_trap);
    if (error || trap) {
      Failure failure = Classify(state, error.get(), trap.get(), context, nullptr, request.limits);
      if (failure.status == RunStatus::kTrap) {
        failure = {
            RunStatus::kInstantiateFailed,
            "cannot instantiate: " + (error ? MessageOf(error.get()) : MessageOf(trap.get()))};
      }
      return fail(std::move(failure), false);
    }
  }
  mark(result.phases.instantiate);

  // Runs a nullary export. proc_exit(0) ends it normally.
  auto call = [&](std::string_view name, bool in_initializer) -> std::optional<RunResult> {
    wasmtime_extern_t item;
    if (!wasmtime_instance_export_get(context, &instance, name.data(), name.size(), &item) ||
        item.kind != WASMTIME_EXTERN_FUNC) {
      return fail({RunStatus::kMissingExport, fmt::format("{} is not an exported function", name)},
                  in_initializer);
    }
    wasm_trap_t* raw_trap = nullptr;
    const ErrorPtr error(
        wasmtime_func_call(context, &item.of.func, nullptr, 0, nullptr, 0, &raw_trap));
    const TrapPtr trap(raw_trap);
    if (!error && !trap) return std::nullopt;
    Failure failure = Classify(state, error.get(), trap.get(), context, &instance, request.limits);
    if (failure.status == RunStatus::kExit && failure.exit_code == 0 && !state.out.overflowed() &&
        !state.err.overflowed()) {
      return std::nullopt;
    }
    return fail(std::move(failure), in_initializer);
  };

  const InitializerKind initializer = info.initializer;
  if (initializer != InitializerKind::kNone) {
    if (auto failed = call(InitializerName(initializer), true)) return std::move(*failed);
  }
  if (after_initializer != nullptr) (*after_initializer)(context, instance, state);
  mark(result.phases.initialize);
  if (!initializer_only) {
    // The input is the function's: the initializer reads an empty stdin, as
    // it does when the host initializes a module once for many calls.
    state.input = request.input;
    if (auto failed = call(request.export_name, false)) return std::move(*failed);
  }
  mark(result.phases.call);
  result.memory_bytes = MemorySize(context, &instance);
  if (state.out.overflowed() || state.err.overflowed()) {
    return fail(Classify(state, nullptr, nullptr, context, &instance, request.limits), false);
  }
  store.reset();  // here rather than on return, so that elapsed includes it
  mark(result.phases.teardown);
  return finish();
}

}  // namespace discoblocks::wasm
