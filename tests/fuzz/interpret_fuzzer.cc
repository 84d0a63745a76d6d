// Fuzzes the driver output interpreter (drivers/interpret.h): what a driver
// printed, which no one but its author controls, turned into an outcome.
//
// Input layout (tests/fuzz/make_seeds.py writes seeds in it):
//   byte 0   the function (index into AllFunctions(), modulo its size)
//   byte 1   low nibble 0-7: the call returned (kOk); 8-15: the run statuses
//            kTrap ... kInstantiateFailed; bit 4: the failure happened in the
//            initializer; bits 5-7: the exit code
//   rest     standard output, then a NUL byte, then standard error
// Checked besides "no crash": the outcome's kind, cause and reason agree with
// each other and with the run; a successful outcome has the shape of its
// function's output kind and stays within the depth limit; the outcome dumps
// to JSON as the webhook and the CLI dump it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "drivers/interpret.h"
#include "fuzz_check.h"
#include "util/document.h"

namespace {

namespace drivers = discoblocks::drivers;
namespace wasm = discoblocks::wasm;
using discoblocks::fuzz::Require;
using nlohmann::json;

constexpr wasm::RunStatus kFailures[] = {
    wasm::RunStatus::kTrap,          wasm::RunStatus::kExit,
    wasm::RunStatus::kTimeLimit,     wasm::RunStatus::kMemoryLimit,
    wasm::RunStatus::kStackOverflow, wasm::RunStatus::kOutputLimit,
    wasm::RunStatus::kMissingExport, wasm::RunStatus::kInstantiateFailed,
};

int DepthOf(const json& root) {
  int deepest = 0;
  std::vector<std::pair<const json*, int>> pending{{&root, 0}};
  while (!pending.empty()) {
    auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    deepest = std::max(deepest, depth + 1);
    for (const json& item : *value) pending.emplace_back(&item, depth + 1);
  }
  return deepest;
}

void CheckShape(const drivers::FunctionSpec& spec, const drivers::Outcome& outcome) {
  const json& result = outcome.result;
  switch (spec.output) {
    case drivers::OutputKind::kValidity:
      Require(outcome.kind == drivers::OutcomeKind::kValid ||
                  outcome.kind == drivers::OutcomeKind::kInvalid,
              "a validity call is valid or invalid");
      Require(result.is_boolean(), "a validity result is a boolean");
      Require(outcome.kind != drivers::OutcomeKind::kInvalid || !outcome.reason.empty(),
              "an invalid outcome says why");
      return;
    case drivers::OutputKind::kBool:
      Require(result.is_boolean(), "a boolean result is a boolean");
      break;
    case drivers::OutputKind::kTopology:
      Require(result.is_array(), "a topology result is an array");
      break;
    case drivers::OutputKind::kPvcStub:
      Require(result.is_object() && result.value("kind", "") == "PersistentVolumeClaim",
              "a PVC stub is a PersistentVolumeClaim object");
      break;
    case drivers::OutputKind::kLabels:
      Require(result.is_object(), "labels are an object");
      for (const auto& [key, value] : result.items()) {
        Require(value.is_string(), "label values are strings", key);
      }
      break;
    case drivers::OutputKind::kNamespace:
      Require(result.is_string() && !result.get<std::string>().empty(),
              "a namespace is a non-empty string");
      break;
    case drivers::OutputKind::kResizePolicy:
      Require(result.is_null() || result.is_object(), "a resize policy is null or an object");
      for (const char* field : {"granularity", "minimumIncrease", "maxModifications", "window"}) {
        Require(!result.is_object() || !result.contains(field) || !result[field].is_null(),
                "a resize policy's known fields are not null", field);
      }
      break;
    case drivers::OutputKind::kMetaKey:
    case drivers::OutputKind::kShell:
      Require(result.is_string(), "a text result is a string");
      break;
  }
  Require(outcome.kind == drivers::OutcomeKind::kOk, "other functions answer ok");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const auto& functions = drivers::AllFunctions();
  const drivers::FunctionSpec& spec = functions[data[0] % functions.size()];
  wasm::RunResult run;
  const unsigned status = data[1] & 0x0fU;
  if (status >= 8) {
    run.status = kFailures[status - 8];
    run.detail = std::string(wasm::RunStatusName(run.status));
  }
  run.in_initializer = (data[1] & 0x10U) != 0;
  run.exit_code = data[1] >> 5U;
  const std::string_view rest = discoblocks::fuzz::AsText(data + 2, size - 2);
  const std::size_t separator = rest.find('\0');
  run.stdout_data = std::string(rest.substr(0, separator));
  if (separator != std::string_view::npos)
    run.stderr_data = std::string(rest.substr(separator + 1));
  const std::string stdout_data = run.stdout_data;
  const std::string stderr_data = run.stderr_data;
  const bool run_ok = run.ok();

  const drivers::Outcome outcome = drivers::Interpret("fuzz.csi.example.com", spec, std::move(run));

  Require(outcome.stdout_data == stdout_data && outcome.stderr_data == stderr_data,
          "the outcome keeps what the driver printed");
  Require(outcome.ok() == (outcome.kind != drivers::OutcomeKind::kError), "ok() is not kError");
  Require((outcome.cause == drivers::ErrorCause::kNone) == outcome.ok(),
          "an error has a cause and only an error has one");
  if (!run_ok) Require(!outcome.ok(), "a failed run is an error");
  if (outcome.ok()) {
    CheckShape(spec, outcome);
    Require(DepthOf(outcome.result) <= discoblocks::kDefaultMaxDepth,
            "a result stays within the depth limit");
  } else {
    Require(!outcome.reason.empty(), "an error says why");
    Require(outcome.result.is_null(), "an error has no result");
    if (!run_ok) {
      Require(outcome.cause != drivers::ErrorCause::kBadOutput &&
                  outcome.cause != drivers::ErrorCause::kDriverReported,
              "a failed run is blamed on the run, not on its output");
    }
  }
  // What the webhook answers and the CLI prints; dumping must not throw.
  const json answer = {{"result", outcome.result},
                       {"reason", outcome.reason},
                       {"warnings", outcome.warnings},
                       {"outcome", drivers::OutcomeName(outcome.kind)},
                       {"cause", drivers::ErrorCauseName(outcome.cause)}};
  Require(!answer.dump(-1, ' ', false, json::error_handler_t::replace).empty(), "it dumps");
  return 0;
}
