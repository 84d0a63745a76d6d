#include "drivers/outcome.h"

#include <utility>

namespace discoblocks::drivers {

std::string_view OutcomeName(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kValid:
      return "valid";
    case OutcomeKind::kInvalid:
      return "invalid";
    case OutcomeKind::kOk:
      return "ok";
    case OutcomeKind::kError:
      break;
  }
  return "error";
}

std::string_view ErrorCauseName(ErrorCause cause) {
  switch (cause) {
    case ErrorCause::kNone:
      return "none";
    case ErrorCause::kNoDriver:
      return "no-driver";
    case ErrorCause::kMissingInput:
      return "missing-input";
    case ErrorCause::kMissingExport:
      return "missing-export";
    case ErrorCause::kInstantiate:
      return "instantiate";
    case ErrorCause::kTrap:
      return "trap";
    case ErrorCause::kExit:
      return "exit";
    case ErrorCause::kTimeLimit:
      return "time-limit";
    case ErrorCause::kMemoryLimit:
      return "memory-limit";
    case ErrorCause::kOutputLimit:
      return "output-limit";
    case ErrorCause::kBadOutput:
      return "bad-output";
    case ErrorCause::kDriverReported:
      return "driver-reported";
  }
  return "unknown";
}

Outcome ErrorOutcome(ErrorCause cause, std::string reason) {
  Outcome outcome;
  outcome.kind = OutcomeKind::kError;
  outcome.cause = cause;
  outcome.reason = std::move(reason);
  return outcome;
}

}  // namespace discoblocks::drivers
