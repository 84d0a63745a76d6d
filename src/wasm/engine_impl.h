// Engine internals shared by the files of src/wasm/.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "wasm/engine.h"
#include "wasm/handles.h"

namespace discoblocks::wasm {

struct Engine::Impl {
  EngineOptions options;
  EnginePtr engine;
  // WASI preview 1, with poll_oneoff replaced by a deadline-aware version
  // (wasi_poll.h). Only read after construction, so shared by all threads.
  LinkerPtr linker;

  std::mutex ticker_mutex;
  std::condition_variable ticker_wakeup;
  bool stopping = false;
  std::thread ticker;

  ~Impl();
};

}  // namespace discoblocks::wasm
