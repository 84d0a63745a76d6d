#include "drivers/conformance.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "drivers/conformance_shapes.h"
#include "drivers/interpret.h"

namespace discoblocks::drivers {
namespace {

using nlohmann::json;

// A hundred times a typical object: the size of one carrying a large annotation
// (kubectl's last-applied-configuration of a big object).
constexpr std::size_t kHugeBytes = std::size_t{256} << 10;
// Odd inputs test for traps and hangs, not for speed (the limits check does that
// on well-formed inputs): their calls get this many times the time limit, so that
// parsing a huge input on a busy machine is not taken for a hang.
constexpr int kOddInputTimeFactor = 5;
// Names are echoed into a PVC stub three times; this keeps the stub below the
// host's stdout limit (1 MiB by default) while far above any real name (253).
constexpr std::size_t kHugeTextBytes = std::size_t{64} << 10;

// A JSON object of the right kind in general but every field of the wrong type:
// the API server never sends it, a driver must still not trap on it.
constexpr std::string_view kWrongTypes =
    R"({"apiVersion":1,"kind":true,"metadata":["name"],"spec":"none","status":7,)"
    R"("provisioner":{},"parameters":[],"volumeBindingMode":5,"allowVolumeExpansion":"yes"})";

struct OddInput {
  std::string_view name;
  std::string value;
};

std::vector<OddInput> OddJsonInputs(const json& good) {
  json huge = good;
  if (!huge.is_object()) huge = json::object();
  if (!huge["metadata"].is_object()) huge["metadata"] = json::object();
  if (!huge["metadata"]["annotations"].is_object())
    huge["metadata"]["annotations"] = json::object();
  huge["metadata"]["annotations"]["example.com/padding"] = std::string(kHugeBytes, 'x');
  return {{"empty", ""},
          {"malformed", R"({"metadata": {"name": "cut-off)"},
          {"wrong-types", std::string(kWrongTypes)},
          {"not-an-object", "[1,2,3]"},
          {"huge", huge.dump()}};
}

std::vector<OddInput> OddTextInputs() {
  return {{"empty", ""},
          {"quotes-and-newlines", "a\"b\\c\nd'$(e)"},
          {"huge", std::string(kHugeTextBytes, 'a')}};
}

bool IsHostFailure(ErrorCause cause) {
  switch (cause) {
    case ErrorCause::kTrap:
    case ErrorCause::kExit:
    case ErrorCause::kTimeLimit:
    case ErrorCause::kMemoryLimit:
    case ErrorCause::kOutputLimit:
    case ErrorCause::kInstantiate:
    case ErrorCause::kMissingExport:
    case ErrorCause::kNoDriver:
    case ErrorCause::kMissingInput:
      return true;
    case ErrorCause::kNone:
    case ErrorCause::kBadOutput:
    case ErrorCause::kDriverReported:
      break;
  }
  return false;
}

std::string Short(std::string_view text, std::size_t limit = 100) {
  std::string line = SanitizeWarning(text);
  if (line.size() > limit) line = line.substr(0, limit) + "...";
  return line;
}

std::string Summary(const Outcome& outcome) {
  switch (outcome.kind) {
    case OutcomeKind::kValid:
      return "valid";
    case OutcomeKind::kInvalid:
      return "invalid: " + Short(outcome.reason);
    case OutcomeKind::kOk:
      return "ok: " + Short(outcome.result.dump(-1, ' ', false, json::error_handler_t::replace));
    case OutcomeKind::kError:
      break;
  }
  return fmt::format("error ({}): {}", ErrorCauseName(outcome.cause), Short(outcome.reason, 160));
}

double Ms(std::chrono::nanoseconds d) {
  return std::chrono::duration<double, std::milli>(d).count();
}
double MiB(std::uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

class Suite {
 public:
  Suite(const Driver& driver, const ConformanceOptions& options)
      : driver_(driver), options_(options), limits_(driver.EffectiveLimits(options.limits)) {
    const ConformanceInputs& in = options.inputs;
    good_.storage_class = in.storage_class;
    good_.node = in.node;
    good_.persistent_volume = in.persistent_volume;
    good_.volume_attachment = in.volume_attachment;
    good_.pvc_name = in.pvc_name;
    good_.pvc_namespace = in.pvc_namespace;
    good_.storage_class_name = in.storage_class_name;
    report_.provisioner = driver.provisioner();
    report_.path = driver.path().string();
    report_.inputs = in.source;
  }

  ConformanceReport Run() && {
    const auto& info = driver_.module_info();
    Add("module/loads", CheckStatus::kPass,
        fmt::format("compiled and linked; initializer {}; limits {} ms, {:.0f} MiB per call",
                    wasm::InitializerName(info.initializer), limits_.time.count(),
                    MiB(limits_.memory_bytes)));
    for (const std::string& warning : options_.load_warnings) {
      Add("module/manifest", CheckStatus::kWarn, Short(warning, 200));
    }
    for (const FunctionSpec& spec : AllFunctions()) CheckFunction(spec);
    return std::move(report_);
  }

 private:
  void Add(std::string name, CheckStatus status, std::string reason) {
    report_.checks.push_back({std::move(name), status, std::move(reason)});
  }

  Outcome Call(const FunctionSpec& spec, const Environment& overrides = {},
               bool odd = false) const {
    CallOptions call;
    call.limits = options_.limits;
    if (odd) call.limits.time *= kOddInputTimeFactor;
    call.extra_env = options_.extra_env;
    call.extra_env.insert(call.extra_env.end(), overrides.begin(), overrides.end());
    return driver_.Call(spec.function, good_, call);
  }

  void CheckFunction(const FunctionSpec& spec) {
    const std::string name(spec.name);
    if (!driver_.Exports(spec.function) && spec.optional) {
      // Drivers built before an optional function existed keep passing.
      Add(name + "/exists", CheckStatus::kPass,
          spec.function == Function::kGetResizePolicy
              ? "not exported (optional): the driver has no resize limits"
              : "not exported (optional)");
      return;
    }
    if (!driver_.Exports(spec.function)) {
      // The operator calls each required function.
      Add(name + "/exists", CheckStatus::kFail,
          "not exported; ABI v1 requires all nine of its required functions (a function with "
          "nothing to say prints nothing)");
      return;
    }
    Add(name + "/exists", CheckStatus::kPass, "exported");
    const Outcome first = Call(spec);
    if (!CheckLimits(name, first)) return;
    CheckShape(spec, first);
    CheckStderr(name, first);
    CheckDeterministic(name, spec, first);
    CheckOddInputs(spec);
  }

  // False when the call did not end normally: nothing more to learn from it.
  bool CheckLimits(const std::string& name, const Outcome& outcome) {
    if (outcome.kind == OutcomeKind::kError && IsHostFailure(outcome.cause)) {
      Add(name + "/limits", CheckStatus::kFail,
          Short(outcome.reason, 200) + "; the function's other checks are skipped");
      return false;
    }
    const double ms = Ms(outcome.duration);
    const double limit_ms = static_cast<double>(limits_.time.count());
    const std::string reason =
        fmt::format("{:.1f} ms of {:.0f} ms, memory {:.1f} MiB of {:.0f} MiB", ms, limit_ms,
                    MiB(outcome.memory_bytes), MiB(limits_.memory_bytes));
    // Half the limit: a busier node or a bigger input may push it over.
    const bool close = ms > limit_ms / 2 || outcome.memory_bytes > limits_.memory_bytes / 2;
    Add(name + "/limits", close ? CheckStatus::kWarn : CheckStatus::kPass,
        close ? reason + ": above half a limit" : reason);
    return true;
  }

  void CheckShape(const FunctionSpec& spec, const Outcome& outcome) {
    const std::string check = std::string(spec.name) + "/shape";
    if (outcome.kind == OutcomeKind::kError) {
      if (outcome.cause == ErrorCause::kDriverReported && !options_.inputs.from_fixtures) {
        Add(check, CheckStatus::kWarn,
            "reported an error on the built-in inputs (" + Short(outcome.reason) +
                "); run with --fixtures holding inputs it should accept");
      } else {
        Add(check, CheckStatus::kFail, Summary(outcome));
      }
      return;
    }
    std::string problem;
    std::string fine;
    const std::string stdout_text(Trim(outcome.stdout_data));
    switch (spec.output) {
      case OutputKind::kValidity:
      case OutputKind::kBool:
        fine = "prints " + json(stdout_text).dump();
        if (stdout_text != "true" && stdout_text != "false") {
          Add(check, CheckStatus::kWarn,
              fmt::format("prints {}, which parses, but other tools expect true or false",
                          json(stdout_text).dump()));
          return;
        }
        break;
      case OutputKind::kTopology:
        problem = conformance::TopologyProblem(outcome.result);
        fine = outcome.result.empty()
                   ? "no topology: any node"
                   : fmt::format("{} TopologySelectorTerm(s)", outcome.result.size());
        break;
      case OutputKind::kPvcStub:
        problem = conformance::PvcStubProblem(outcome.result, options_.inputs);
        fine = "a PersistentVolumeClaim with the given name, namespace and StorageClass";
        break;
      case OutputKind::kLabels:
        problem = conformance::LabelsProblem(outcome.result);
        fine = fmt::format("{} label(s)", outcome.result.size());
        break;
      case OutputKind::kNamespace:
        problem = conformance::NamespaceProblem(outcome.result.get<std::string>());
        fine = outcome.result.get<std::string>();
        break;
      case OutputKind::kMetaKey:
        problem = conformance::MetaKeyProblem(outcome.result.get<std::string>());
        fine = stdout_text.empty() ? "nothing to wait for" : json(stdout_text).dump();
        break;
      case OutputKind::kShell:
        if (stdout_text.empty()) {
          if (spec.function == Function::kGetPreMountCommand) {
            problem = "prints no command: the mount job needs one that sets DEV";
          }
          fine = "no command: the resize job needs no device";
        } else if (!SetsDev(outcome.stdout_data)) {
          problem = "the command does not set DEV (DEV=..., export DEV=... or read DEV)";
        } else {
          fine = "sets DEV";
        }
        break;
      case OutputKind::kResizePolicy:
        problem = conformance::ResizePolicyProblem(outcome.result);
        fine = conformance::DescribeResizePolicy(outcome.result);
        break;
    }
    if (problem.empty()) {
      Add(check, CheckStatus::kPass, fine);
    } else {
      Add(check, CheckStatus::kFail, problem);
    }
  }

  void CheckStderr(const std::string& name, const Outcome& outcome) {
    const std::string check = name + "/stderr";
    const bool quiet = Trim(outcome.stderr_data).empty();
    switch (outcome.kind) {
      case OutcomeKind::kError:
        Add(check, CheckStatus::kPass, quiet ? "failed without stderr" : "stderr on a failure");
        return;
      case OutcomeKind::kInvalid:
        if (quiet) {
          Add(check, CheckStatus::kWarn,
              "false without a reason on stderr: the operator can only say the driver refused");
        } else {
          Add(check, CheckStatus::kPass, "the reason of a false on stderr");
        }
        return;
      case OutcomeKind::kValid:
      case OutcomeKind::kOk:
        if (quiet) {
          Add(check, CheckStatus::kPass, "nothing on stderr");
        } else {
          Add(check, CheckStatus::kWarn,
              "stderr on a successful answer (passed on as a warning): " +
                  Short(outcome.stderr_data));
        }
        return;
    }
  }

  void CheckDeterministic(const std::string& name, const FunctionSpec& spec, const Outcome& first) {
    const Outcome second = Call(spec);
    const std::string check = name + "/deterministic";
    if (second.kind != first.kind || second.stdout_data != first.stdout_data) {
      Add(check, CheckStatus::kFail,
          fmt::format("the same inputs gave two answers: {} then {}", Summary(first),
                      Summary(second)));
    } else if (second.stderr_data != first.stderr_data) {
      Add(check, CheckStatus::kFail,
          fmt::format("the same inputs gave two stderr texts: {} then {}",
                      json(Short(first.stderr_data, 60)).dump(),
                      json(Short(second.stderr_data, 60)).dump()));
    } else {
      Add(check, CheckStatus::kPass, "the same answer twice");
    }
  }

  void CheckOddInputs(const FunctionSpec& spec) {
    if (spec.env.empty()) return;
    if (spec.function == Function::kGetPVCStub) {
      // The three names are checked together: the stub embeds all of them.
      for (const OddInput& odd : OddTextInputs()) {
        Environment env;
        for (std::string_view var : spec.env) env.emplace_back(var, odd.value);
        JudgeOdd(spec, odd.name, Call(spec, env, true), odd.value);
      }
      return;
    }
    for (std::string_view var : spec.env) {
      const json& good = GoodObject(var);
      for (const OddInput& odd : OddJsonInputs(good)) {
        // An empty attachment is the contract's "no attachment" for resizing.
        if (odd.name == "empty" && spec.function == Function::kGetPreResizeCommand &&
            var == "VOLUME_ATTACHMENT_JSON") {
          continue;
        }
        JudgeOdd(spec, fmt::format("{}={}", var, odd.name),
                 Call(spec, {{std::string(var), odd.value}}, true), {});
      }
    }
  }

  const json& GoodObject(std::string_view var) const {
    if (var == "STORAGE_CLASS_JSON") return *good_.storage_class;
    if (var == "NODE_JSON") return *good_.node;
    if (var == "PERSISTENT_VOLUME_JSON") return *good_.persistent_volume;
    return *good_.volume_attachment;
  }

  void JudgeOdd(const FunctionSpec& spec, std::string_view variant, const Outcome& outcome,
                const std::string& text_input) {
    const std::string check = fmt::format("{}/odd-input/{}", spec.name, variant);
    if (outcome.kind == OutcomeKind::kError && IsHostFailure(outcome.cause)) {
      Add(check, CheckStatus::kFail, "no outcome: " + Short(outcome.reason, 200));
      return;
    }
    if (outcome.kind == OutcomeKind::kError && outcome.cause == ErrorCause::kBadOutput) {
      Add(check, CheckStatus::kWarn,
          "printed an unusable answer instead of an error on stderr: " + Short(outcome.reason));
      return;
    }
    const bool broken = variant.find("huge") == std::string_view::npos &&
                        variant.find("quotes") == std::string_view::npos;
    if (spec.function == Function::kIsStorageClassValid && broken &&
        outcome.kind == OutcomeKind::kValid) {
      Add(check, CheckStatus::kWarn, "accepted a StorageClass it cannot have understood");
      return;
    }
    if (spec.function == Function::kGetPVCStub && outcome.kind == OutcomeKind::kOk) {
      ConformanceInputs echo = options_.inputs;
      echo.pvc_name = echo.pvc_namespace = echo.storage_class_name = text_input;
      if (const std::string problem = conformance::PvcStubProblem(outcome.result, echo);
          !problem.empty()) {
        Add(check, CheckStatus::kWarn, "the stub does not carry the inputs as given: " + problem);
        return;
      }
    }
    Add(check, CheckStatus::kPass, Summary(outcome));
  }

  const Driver& driver_;
  const ConformanceOptions& options_;
  wasm::Limits limits_;
  CallInputs good_;
  ConformanceReport report_;
};

}  // namespace

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      break;
  }
  return "fail";
}

bool ConformanceReport::passed() const { return Count(CheckStatus::kFail) == 0; }

int ConformanceReport::Count(CheckStatus status) const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(),
                                        [&](const CheckResult& c) { return c.status == status; }));
}

ConformanceReport RunConformance(const Driver& driver, const ConformanceOptions& options) {
  return Suite(driver, options).Run();
}

ConformanceReport LoadFailureReport(std::string provisioner, std::string path, std::string reason) {
  ConformanceReport report;
  report.provisioner = std::move(provisioner);
  report.path = std::move(path);
  report.checks.push_back({"module/loads", CheckStatus::kFail, std::move(reason)});
  return report;
}

json ConformanceReportJson(const ConformanceReport& report) {
  json checks = json::array();
  for (const CheckResult& check : report.checks) {
    checks.push_back({{"name", check.name},
                      {"status", CheckStatusName(check.status)},
                      {"reason", check.reason}});
  }
  return {{"provisioner", report.provisioner},
          {"path", report.path},
          {"inputs", report.inputs},
          {"passed", report.passed()},
          {"summary",
           {{"pass", report.Count(CheckStatus::kPass)},
            {"warn", report.Count(CheckStatus::kWarn)},
            {"fail", report.Count(CheckStatus::kFail)}}},
          {"checks", std::move(checks)}};
}

}  // namespace discoblocks::drivers
