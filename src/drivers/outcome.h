// The outcome of one driver call, as the contract's outcome table defines it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wasm/run.h"

namespace discoblocks::drivers {

enum class OutcomeKind {
  kValid,    // IsStorageClassValid said true
  kInvalid,  // IsStorageClassValid said false; `reason` says why
  kOk,       // any other function answered; `result` holds the value
  kError,    // the call failed; `reason` names driver, function and cause
};

std::string_view OutcomeName(OutcomeKind kind);  // "valid", "invalid", "ok", "error"

// Why a call failed, for metrics and for tests to branch on; kNone unless kError.
enum class ErrorCause {
  kNone,
  kNoDriver,       // no loaded driver for the provisioner
  kMissingInput,   // the caller did not give an input the function reads
  kMissingExport,  // the module does not export the function
  kInstantiate,    // the instance could not be created
  kTrap,           // trapped (including stack overflow)
  kExit,           // exited with a non-zero code
  kTimeLimit,
  kMemoryLimit,
  kOutputLimit,
  kBadOutput,       // stdout unparsable, or of the wrong shape
  kDriverReported,  // the driver wrote an error on stderr
};

std::string_view ErrorCauseName(ErrorCause cause);

struct Outcome {
  OutcomeKind kind = OutcomeKind::kError;
  ErrorCause cause = ErrorCause::kNone;
  std::string reason;
  std::vector<std::string> warnings;  // stderr of a successful call
  // For kOk: the parsed value (boolean, array, object or string).
  // For kValid/kInvalid: true/false.
  nlohmann::json result;
  std::string stdout_data;
  std::string stderr_data;
  std::chrono::nanoseconds duration{0};
  wasm::RunPhases phases;          // where the time went (zero when no driver ran)
  std::uint64_t memory_bytes = 0;  // the instance's linear memory when the call ended

  [[nodiscard]] bool ok() const { return kind != OutcomeKind::kError; }
};

// An outcome that failed before any driver ran.
Outcome ErrorOutcome(ErrorCause cause, std::string reason);

}  // namespace discoblocks::drivers
