// Engine internals shared by the files of src/wasm/.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "wasm/engine.h"
#include "wasm/handles.h"

namespace discoblocks::wasm {

// Largest table a driver may grow; generous for real toolchains (a Go driver has a
// few thousand entries), small enough that a hostile table cannot exhaust memory.
inline constexpr std::int64_t kMaxTableElements = 1 << 20;

struct Engine::Impl {
  EngineOptions options;
  EnginePtr engine;
  // WASI preview 1, with poll_oneoff replaced by a deadline-aware version
  // (wasi_poll.h), fd_write by one that captures output directly
  // (wasi_output.h) and clock_time_get by one whose monotonic clock continues
  // from a snapshot's (wasi_clock.h). Only read after construction, so shared
  // by all threads.
  LinkerPtr linker;

  std::mutex ticker_mutex;
  std::condition_variable ticker_wakeup;
  bool stopping = false;
  std::thread ticker;

  ~Impl();
};

}  // namespace discoblocks::wasm
