#include "drivers/interpret.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "util/document.h"

namespace discoblocks::drivers {
namespace {

using nlohmann::json;

constexpr std::size_t kQuotedPrefix = 64;
constexpr std::size_t kStderrExcerpt = 512;
// A JSON result is a Kubernetes object or a piece of one; etcd refuses requests
// above 1.5 MiB, so larger output can never be used, whatever the stdout limit.
constexpr std::size_t kMaxJsonResultBytes = std::size_t{3} << 19;

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

bool IsObject(const json& value) { return value.is_object(); }

// A Kubernetes quantity as JSON: a string ("1Gi") or an integer of bytes.
bool IsQuantity(const json& value) { return value.is_string() || value.is_number_integer(); }

bool IsCount(const json& value) {
  return value.is_number_unsigned() ||
         (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

struct ResizeField {
  std::string_view name;
  bool (*valid)(const json&);
  std::string_view expected;
};

// GetResizePolicy's fields (docs/driver-abi.md). Their values are judged by
// the operator (operator/resize_policy.h); here only their JSON types.
constexpr std::array<ResizeField, 4> kResizeFields{{
    {"granularity", IsQuantity, "a quantity (a string such as \"1Gi\", or an integer of bytes)"},
    {"minimumIncrease", IsQuantity,
     "a quantity (a string such as \"1Gi\", or an integer of bytes)"},
    {"maxModifications", IsCount, "an integer of at least 0"},
    {"window", [](const json& value) { return value.is_string(); },
     "a Go duration string such as \"24h\""},
}};

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
      case OutputKind::kResizePolicy:
        return ResizePolicy(stderr_text);
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
    if (!warning.empty()) outcome_.warnings.push_back(SanitizeWarning(warning));
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
    // Size and nesting are checked before parsing: the result is copied
    // (recursively) on its way to callers, and the stdout limit, which the
    // operator may raise, is no bound on what a result may sensibly be.
    if (auto limits = CheckJsonLimits(text, "output", {kMaxJsonResultBytes, kDefaultMaxDepth});
        !limits) {
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

  // Nothing: no limits (result null). Otherwise an object whose known fields
  // have their JSON types; unknown fields are passed on for newer hosts, a known
  // one that is null is dropped (as Kubernetes treats an explicit null).
  Outcome ResizePolicy(std::string_view stderr_text) {
    if (Trim(outcome_.stdout_data).empty() && stderr_text.empty()) {
      return Succeed(OutcomeKind::kOk, nullptr, {});
    }
    Outcome parsed = Json(stderr_text, IsObject, "a JSON object", false);
    if (parsed.kind != OutcomeKind::kOk) return parsed;
    outcome_ = std::move(parsed);
    for (const ResizeField& field : kResizeFields) {
      const auto found = outcome_.result.find(field.name);
      if (found == outcome_.result.end()) continue;
      if (found->is_null()) {
        outcome_.result.erase(found);
      } else if (!field.valid(*found)) {
        const std::string got = Quote(found->dump(-1, ' ', false, json::error_handler_t::replace));
        outcome_.warnings.clear();
        return Fail(ErrorCause::kBadOutput,
                    fmt::format("field {}: expected {}, got {}", field.name, field.expected, got));
      }
    }
    return std::move(outcome_);
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

// The length of the UTF-8 sequence starting `text` (at least 1 byte), or 0 when
// it is not valid UTF-8 as Go's utf8.ValidString sees it: no overlong forms, no
// surrogates, nothing above U+10FFFF.
std::size_t ValidSequenceLength(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range of the byte after the lead
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Go's unicode.IsControl for a valid sequence: C0, DEL and C1 (U+0080..U+009F,
// encoded C2 80..C2 9F).
bool IsControl(std::string_view sequence) {
  const auto lead = static_cast<unsigned char>(sequence[0]);
  if (sequence.size() == 1) return lead < 0x20 || lead == 0x7F;
  return sequence.size() == 2 && lead == 0xC2 && static_cast<unsigned char>(sequence[1]) <= 0x9F;
}

}  // namespace

std::string SanitizeWarning(std::string_view text) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  constexpr std::string_view kCut = "...";
  std::string out;
  out.reserve(std::min(text.size(), kMaxWarningCharacters * 4));
  std::size_t characters = 0;
  std::size_t fits = 0;  // the bytes of `out` that leave room for kCut
  bool cut = false;
  while (!text.empty()) {
    const std::size_t length = ValidSequenceLength(text);
    std::string_view piece;
    if (length == 0) {
      piece = kReplacement;
      text.remove_prefix(1);
    } else if (IsControl(text.substr(0, length))) {
      text.remove_prefix(length);
      // A line break or tab usually separates words: one space for a run.
      if (!out.empty() && out.back() == ' ') continue;
      piece = " ";
    } else {
      piece = text.substr(0, length);
      text.remove_prefix(length);
    }
    if (characters == kMaxWarningCharacters) {
      cut = true;
      break;
    }
    out += piece;
    ++characters;
    if (characters <= kMaxWarningCharacters - kCut.size()) fits = out.size();
  }
  if (cut) {
    out.resize(fits);
    out += kCut;
  }
  return out;
}

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
