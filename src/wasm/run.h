// One sandboxed call into a WebAssembly module: what goes in and what comes out.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace discoblocks::wasm {

// Per-call limits. Every call runs under all of them.
struct Limits {
  std::chrono::milliseconds time{2000};       // wall clock, initializer included
  std::uint64_t memory_bytes = 128ULL << 20;  // linear memory
  std::uint64_t stdout_bytes = 1ULL << 20;    // captured standard output
  std::uint64_t stderr_bytes = 64ULL << 10;   // captured standard error
};

struct RunRequest {
  std::string program_name;                              // argv[0] as the module sees it
  std::vector<std::pair<std::string, std::string>> env;  // the whole environment
  std::string export_name;  // nullary function to call after the initializer
  // Standard input: what the function reads from fd 0 before end of file (the
  // ABI v2 call document). The initializer reads an empty stdin. Empty for ABI
  // v1 calls, whose stdin is always empty.
  std::string input;
  Limits limits;
};

enum class RunStatus {
  kOk,                 // the function returned (or called proc_exit(0))
  kTrap,               // a WebAssembly trap, e.g. unreachable
  kExit,               // proc_exit with a non-zero code
  kTimeLimit,          // ran past limits.time
  kMemoryLimit,        // failed while its memory was at the cap
  kStackOverflow,      // recursion deeper than the engine's stack limit
  kOutputLimit,        // wrote more than the stdout or stderr cap
  kMissingExport,      // no such export, or not a nullary function
  kInstantiateFailed,  // the instance could not be created
};

std::string_view RunStatusName(RunStatus status);

// Where a call's time went, for benchmarks and debug logs.
struct RunPhases {
  std::chrono::nanoseconds setup{0};        // store, limits, WASI context
  std::chrono::nanoseconds instantiate{0};  // instance from the pre-linked module
  std::chrono::nanoseconds initialize{0};   // _initialize or _start
  std::chrono::nanoseconds call{0};         // the function itself
  std::chrono::nanoseconds teardown{0};     // dropping the instance and store
};

struct RunResult {
  RunStatus status = RunStatus::kOk;
  std::string detail;           // what happened, for people; empty when kOk
  int exit_code = 0;            // for kExit
  bool in_initializer = false;  // the failure happened in _initialize/_start
  std::string stdout_data;
  std::string stderr_data;
  std::chrono::nanoseconds elapsed{0};
  RunPhases phases;
  std::uint64_t memory_bytes = 0;  // the exported memory's size when the call ended

  [[nodiscard]] bool ok() const { return status == RunStatus::kOk; }
};

}  // namespace discoblocks::wasm
