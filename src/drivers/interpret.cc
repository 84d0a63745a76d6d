#include "drivers/interpret.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "util/document.h"

namespace discoblocks::drivers {
namespace {

using nlohmann::json;

constexpr std::size_t kQuotedPrefix = 64;
constexpr std::size_t kStderrExcerpt = 512;

// Quotes at most a short prefix of untrusted output for a message.
std::string Quote(std::string_view text, std::size_t limit = kQuotedPrefix) {
  const bool cut = text.size() > limit;
  std::string quoted =
      json(std::string(text.substr(0, limit))).dump(-1, ' ', false, json::error_handler_t::replace);
  return cut ? quoted + "..." : quoted;
}

std::string Excerpt(std::string_view text) {
  text = Trim(text);
  if (text.size() <= kStderrExcerpt) return std::string(text);
  return std::string(text.substr(0, kStderrExcerpt)) + "...";
}

ErrorCause CauseOf(wasm::RunStatus status) {
  switch (status) {
    case wasm::RunStatus::kOk:
      return ErrorCause::kNone;
    case wasm::RunStatus::kTrap:
    case wasm::RunStatus::kStackOverflow:
      return ErrorCause::kTrap;
    case wasm::RunStatus::kExit:
      return ErrorCause::kExit;
    case wasm::RunStatus::kTimeLimit:
      return ErrorCause::kTimeLimit;
    case wasm::RunStatus::kMemoryLimit:
      return ErrorCause::kMemoryLimit;
    case wasm::RunStatus::kOutputLimit:
      return ErrorCause::kOutputLimit;
    case wasm::RunStatus::kMissingExport:
      return ErrorCause::kMissingExport;
    case wasm::RunStatus::kInstantiateFailed:
      return ErrorCause::kInstantiate;
  }
  return ErrorCause::kTrap;
}

bool IsStringArray(const json& value) {
  return value.is_array() &&
         std::all_of(value.begin(), value.end(), [](const json& item) { return item.is_string(); });
}

// TopologySelectorTerm: {"matchLabelExpressions": [{"key": k, "values": [v...]}]}
bool IsTopology(const json& value) {
  if (!value.is_array()) return false;
  for (const json& term : value) {
    if (!term.is_object()) return false;
    const auto expressions = term.find("matchLabelExpressions");
    if (expressions == term.end() || expressions->is_null()) continue;
    if (!expressions->is_array()) return false;
    for (const json& expression : *expressions) {
      if (!expression.is_object() || !expression.contains("key") ||
          !expression["key"].is_string() ||
          (expression.contains("values") && !IsStringArray(expression["values"]))) {
        return false;
      }
    }
  }
  return true;
}

bool IsPvc(const json& value) {
  return value.is_object() && value.value("kind", json()).is_string() &&
         value["kind"] == "PersistentVolumeClaim";
}

bool IsLabels(const json& value) {
  return value.is_object() && std::all_of(value.begin(), value.end(),
                                          [](const json& label) { return label.is_string(); });
}

class Interpreter {
 public:
  Interpreter(std::string_view provisioner, const FunctionSpec& function, wasm::RunResult run)
      : provisioner_(provisioner), function_(function), run_(std::move(run)) {
    outcome_.stdout_data = std::move(run_.stdout_data);
    outcome_.stderr_data = std::move(run_.stderr_data);
    outcome_.duration = run_.elapsed;
    outcome_.phases = run_.phases;
    outcome_.memory_bytes = run_.memory_bytes;
  }

  Outcome Take() && {
    if (!run_.ok()) return Fail(CauseOf(run_.status), RunFailure());
    const std::string_view stderr_text = Trim(outcome_.stderr_data);
    switch (function_.output) {
      case OutputKind::kValidity:
      case OutputKind::kBool:
        return Boolean(stderr_text);
      case OutputKind::kTopology:
        return Json(stderr_text, IsTopology, "a JSON array of TopologySelectorTerm", true);
      case OutputKind::kPvcStub:
        return Json(stderr_text, IsPvc, "a PersistentVolumeClaim as a JSON object", false);
      case OutputKind::kLabels:
        return Json(stderr_text, IsLabels, "a JSON object of string labels", false);
      case OutputKind::kNamespace:
      case OutputKind::kMetaKey:
      case OutputKind::kShell:
        return Text(stderr_text);
    }
    return Fail(ErrorCause::kBadOutput, "unknown output kind");
  }

 private:
  [[nodiscard]] std::string RunFailure() const {
    std::string cause = run_.detail;
    if (run_.in_initializer) cause += " (in the module's initializer)";
    if ((run_.status == wasm::RunStatus::kExit || run_.status == wasm::RunStatus::kTrap ||
         run_.status == wasm::RunStatus::kMemoryLimit) &&
        !Trim(outcome_.stderr_data).empty()) {
      cause += "; stderr: " + Excerpt(outcome_.stderr_data);
    }
    return cause;
  }

  Outcome Fail(ErrorCause cause, const std::string& why) {
    outcome_.kind = OutcomeKind::kError;
    outcome_.cause = cause;
    outcome_.reason = fmt::format("driver {}: {}: {}", provisioner_, function_.name, why);
    outcome_.result = nullptr;
    return std::move(outcome_);
  }

  Outcome Succeed(OutcomeKind kind, json result, std::string_view warning) {
    outcome_.kind = kind;
    outcome_.result = std::move(result);
    if (!warning.empty()) outcome_.warnings.emplace_back(warning);
    return std::move(outcome_);
  }

  Outcome Boolean(std::string_view stderr_text) {
    const std::optional<bool> value = ParseBool(outcome_.stdout_data);
    if (!value) {
      if (Trim(outcome_.stdout_data).empty() && !stderr_text.empty()) {
        return Fail(ErrorCause::kDriverReported,
                    "printed no boolean; stderr: " + Excerpt(stderr_text));
      }
      return Fail(ErrorCause::kBadOutput,
                  "unparsable output: expected true or false, got " + Quote(outcome_.stdout_data));
    }
    if (function_.output == OutputKind::kBool)
      return Succeed(OutcomeKind::kOk, *value, stderr_text);
    if (*value) return Succeed(OutcomeKind::kValid, true, stderr_text);
    outcome_.kind = OutcomeKind::kInvalid;
    outcome_.result = false;
    outcome_.reason =
        stderr_text.empty()
            ? fmt::format("driver {} rejected the StorageClass without giving a reason",
                          provisioner_)
            : Excerpt(stderr_text);
    return std::move(outcome_);
  }

  Outcome Json(std::string_view stderr_text, bool (*valid_shape)(const json&),
               std::string_view shape, bool empty_is_none) {
    const std::string_view text = Trim(outcome_.stdout_data);
    if (text.empty()) {
      if (!stderr_text.empty()) return Fail(ErrorCause::kDriverReported, Excerpt(stderr_text));
      if (empty_is_none) return Succeed(OutcomeKind::kOk, json::array(), {});
      return Fail(ErrorCause::kBadOutput, fmt::format("printed nothing; expected {}", shape));
    }
    // Nesting is checked first: the result is copied (recursively) on its way to
    // callers. Its size is already bounded by the driver's stdout limit.
    if (auto limits = CheckJsonLimits(text, "output", {kNoByteLimit, kDefaultMaxDepth}); !limits) {
      return Fail(ErrorCause::kBadOutput, limits.error().message);
    }
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      return Fail(ErrorCause::kBadOutput,
                  fmt::format("output is not valid JSON (expected {}): {}", shape, Quote(text)));
    }
    if (!valid_shape(value)) {
      return Fail(ErrorCause::kBadOutput, fmt::format("output is not {}: {}", shape, Quote(text)));
    }
    return Succeed(OutcomeKind::kOk, std::move(value), stderr_text);
  }

  Outcome Text(std::string_view stderr_text) {
    if (!stderr_text.empty()) return Fail(ErrorCause::kDriverReported, Excerpt(stderr_text));
    if (function_.output == OutputKind::kShell) {
      return Succeed(OutcomeKind::kOk, outcome_.stdout_data, {});
    }
    const std::string_view text = Trim(outcome_.stdout_data);
    if (function_.output == OutputKind::kNamespace && text.empty()) {
      return Fail(ErrorCause::kBadOutput, "printed no namespace");
    }
    return Succeed(OutcomeKind::kOk, std::string(text), {});
  }

  std::string_view provisioner_;
  const FunctionSpec& function_;
  wasm::RunResult run_;
  Outcome outcome_;
};

}  // namespace

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

std::optional<bool> ParseBool(std::string_view text) {
  static constexpr std::array<std::string_view, 6> kTrue{"1", "t", "T", "TRUE", "true", "True"};
  static constexpr std::array<std::string_view, 6> kFalse{"0", "f", "F", "FALSE", "false", "False"};
  text = Trim(text);
  for (std::string_view word : kTrue) {
    if (text == word) return true;
  }
  for (std::string_view word : kFalse) {
    if (text == word) return false;
  }
  return std::nullopt;
}

Outcome Interpret(std::string_view provisioner, const FunctionSpec& function, wasm::RunResult run) {
  return Interpreter(provisioner, function, std::move(run)).Take();
}

}  // namespace discoblocks::drivers
