// Module internals shared by the files of src/wasm/.
#pragma once

#include <functional>
#include <memory>

#include "wasm/call_state.h"
#include "wasm/handles.h"
#include "wasm/module.h"

namespace discoblocks::wasm {

struct Module::Impl {
  std::shared_ptr<Engine> engine;  // keeps the engine (and its ticker) alive
  ModulePtr module;
  InstancePrePtr instance_pre;  // imports resolved once, at compile time
};

// Called once the initializer has returned, while its instance is alive: the
// one moment its state can be read (preinit.cc). Not called when the
// initializer fails.
using AfterInitializer =
    std::function<void(wasmtime_context_t*, const wasmtime_instance_t&, const CallState&)>;

// Module::Run's body: one call in a fresh store, under the request's limits.
// With `after_initializer` set and an empty request.export_name, it runs the
// initializer and the hook only; the result then describes the initializer.
RunResult RunInStore(const Module& module, const RunRequest& request,
                     const AfterInitializer* after_initializer);

}  // namespace discoblocks::wasm
