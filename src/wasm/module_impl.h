// Module internals shared by the files of src/wasm/.
#pragma once

#include <memory>

#include "wasm/handles.h"
#include "wasm/module.h"

namespace discoblocks::wasm {

struct Module::Impl {
  std::shared_ptr<Engine> engine;  // keeps the engine (and its ticker) alive
  ModulePtr module;
  InstancePrePtr instance_pre;  // imports resolved once, at compile time
};

}  // namespace discoblocks::wasm
