// discoblocks drivers test PATH|PROVISIONER: the conformance suite
// (drivers/conformance.h) on one driver, loaded as `serve` loads it.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/output.h"
#include "drivers/conformance.h"
#include "util/duration.h"

namespace discoblocks::cli {
namespace {

namespace fs = std::filesystem;

struct TestFlags {
  DriverFlags drivers;
  std::string target;
  std::optional<std::string> provisioner;
  std::optional<std::string> fixtures;
  std::optional<std::string> timeout;
  std::string output = "text";
};

// A temporary drivers directory holding one folder whose main.wasm links to a
// module file of any name: the registry loads folders, and this way a bare .wasm
// goes through the same loading as the bundled drivers.
class LinkedModule {
 public:
  static Result<std::unique_ptr<LinkedModule>> Create(const fs::path& module,
                                                      const std::string& provisioner) {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "discoblocks-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return MakeError("cannot create a temporary directory for " + module.string());
    }
    auto linked = std::unique_ptr<LinkedModule>(new LinkedModule(pattern));
    fs::create_directory(linked->dir_ / provisioner, ec);
    if (!ec) fs::create_symlink(fs::absolute(module), linked->dir_ / provisioner / "main.wasm", ec);
    if (ec) return MakeError(fmt::format("{}: {}", module.string(), ec.message()));
    return Result<std::unique_ptr<LinkedModule>>(std::move(linked));
  }
  ~LinkedModule() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  LinkedModule(const LinkedModule&) = delete;
  LinkedModule& operator=(const LinkedModule&) = delete;
  [[nodiscard]] const fs::path& dir() const { return dir_; }

 private:
  explicit LinkedModule(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
};

struct Target {
  std::string provisioner;
  DriverFlags flags;  // with drivers_dir pointing at the folder's parent
  std::unique_ptr<LinkedModule> linked;
};

// PATH is a driver folder, its main.wasm, or any .wasm; anything else is a
// provisioner in the drivers directory.
Result<Target> ResolveTarget(const TestFlags& flags) {
  Target target;
  target.flags = flags.drivers;
  const fs::path path(flags.target);
  std::error_code ec;
  const bool looks_like_path = flags.target.find('/') != std::string::npos ||
                               path.extension() == ".wasm" ||
                               (!flags.drivers.drivers_dir && fs::exists(path / "main.wasm", ec));
  if (!looks_like_path) {
    target.provisioner = flags.provisioner.value_or(flags.target);
    if (flags.provisioner && *flags.provisioner != flags.target) {
      return MakeError("--provisioner: a driver in the drivers directory is named by its folder");
    }
    return Result<Target>(std::move(target));
  }
  if (!fs::exists(path, ec)) return MakeError(flags.target + ": no such file or directory");
  const fs::path absolute = fs::absolute(path).lexically_normal();
  fs::path folder;
  if (fs::is_directory(absolute, ec)) {
    folder = absolute.has_filename() ? absolute : absolute.parent_path();
  } else if (absolute.filename() == "main.wasm") {
    folder = absolute.parent_path();
  }
  if (!folder.empty() && (!flags.provisioner || *flags.provisioner == folder.filename())) {
    target.provisioner = folder.filename().string();
    target.flags.drivers_dir = folder.parent_path().string();
    return Result<Target>(std::move(target));
  }
  // A module file, or a folder tested under another provisioner's name.
  const fs::path module = folder.empty() ? absolute : folder / "main.wasm";
  target.provisioner = flags.provisioner.value_or(absolute.stem().string());
  auto linked = LinkedModule::Create(module, target.provisioner);
  if (!linked) return linked.error();
  target.linked = std::move(linked).value();
  target.flags.drivers_dir = target.linked->dir().string();
  return Result<Target>(std::move(target));
}

void PrintReport(const drivers::ConformanceReport& report) {
  std::cout << fmt::format("drivers test {} ({}), inputs: {}\n", report.provisioner, report.path,
                           report.inputs.empty() ? "-" : report.inputs);
  std::vector<std::vector<std::string>> rows{{"STATUS", "CHECK", "WHY"}};
  for (const auto& check : report.checks) {
    std::string status(drivers::CheckStatusName(check.status));
    std::transform(status.begin(), status.end(), status.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    rows.push_back({status, check.name, check.reason});
  }
  PrintTable(std::cout, rows);
  std::cout << fmt::format(
      "{}: {} checks, {} passed, {} warned, {} failed\n", report.passed() ? "PASS" : "FAIL",
      report.checks.size(), report.Count(drivers::CheckStatus::kPass),
      report.Count(drivers::CheckStatus::kWarn), report.Count(drivers::CheckStatus::kFail));
}

int Test(const TestFlags& flags) {
  auto target = ResolveTarget(flags);
  if (!target) return Fail(target.error().message);
  std::optional<std::chrono::milliseconds> time_limit;
  if (flags.timeout) {
    auto timeout = ParseDuration(*flags.timeout);
    if (!timeout) return Fail("--timeout: " + timeout.error().message);
    if (timeout->count() <= 0) return Fail("--timeout: must be positive");
    time_limit = std::chrono::ceil<std::chrono::milliseconds>(*timeout);
  }
  drivers::ConformanceOptions options;
  if (flags.fixtures) {
    auto inputs = drivers::FixtureInputs(*flags.fixtures, target->provisioner);
    if (!inputs) return Fail(inputs.error().message);
    options.inputs = std::move(inputs).value();
  } else {
    options.inputs = drivers::BuiltInInputs(target->provisioner);
  }

  auto registry = LoadRegistry(target->flags, target->provisioner, time_limit);
  if (!registry) return kExitError;
  const auto entry = registry->Entry(target->provisioner);
  if (!entry || entry->state == drivers::DriverState::kSkipped) {
    return Fail(fmt::format("no driver {} in {}{}", target->provisioner,
                            registry->directory().string(),
                            entry ? ": " + entry->reason : std::string()));
  }
  drivers::ConformanceReport report;
  if (!entry->driver) {
    report = drivers::LoadFailureReport(
        target->provisioner, (registry->directory() / target->provisioner).string(), entry->reason);
  } else {
    options.limits = registry->limits();
    options.load_warnings = entry->warnings;
    report = drivers::RunConformance(*entry->driver, options);
  }
  report.inputs = options.inputs.source;
  if (target->linked) {
    // Name the file the author gave, not the temporary link to it.
    const std::string linked = (target->linked->dir() / target->provisioner / "main.wasm").string();
    report.path = fs::absolute(flags.target).lexically_normal().string();
    for (auto& check : report.checks) {
      for (auto at = check.reason.find(linked); at != std::string::npos;
           at = check.reason.find(linked, at + report.path.size())) {
        check.reason.replace(at, linked.size(), report.path);
      }
    }
  }
  if (flags.output == "json") {
    std::cout << DumpJson(drivers::ConformanceReportJson(report)) << "\n";
  } else {
    PrintReport(report);
  }
  return report.passed() ? kExitOk : kExitInvalid;
}

}  // namespace

void AddDriversTestCommand(CLI::App& group, Action& action) {
  auto flags = std::make_shared<TestFlags>();
  auto* test = group.add_subcommand(
      "test",
      "check a driver against the contract (ABI v1): exit 0 pass, 1 a check failed, "
      "2 could not run");
  test->add_option("TARGET", flags->target,
                   "a driver folder, a .wasm file, or a provisioner in the drivers directory")
      ->required();
  AddDriverFlags(*test, flags->drivers);
  test->add_option("--fixtures", flags->fixtures,
                   "inputs in the fixture layout (storageclasses/, nodes/, persistentvolumes/, "
                   "volumeattachments/); default: built-in inputs for the provisioner");
  test->add_option("--provisioner", flags->provisioner,
                   "the provisioner a .wasm file is tested as (default: its folder or file name)");
  test->add_option("--timeout", flags->timeout, "time limit per call (default 2s)");
  AddTextOrJsonFlag(*test, flags->output);
  test->callback([&action, flags] { action = [flags] { return Test(*flags); }; });
}

}  // namespace discoblocks::cli
