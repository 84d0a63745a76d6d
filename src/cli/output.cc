#include "cli/output.h"

#include <algorithm>
#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "cli/app.h"

namespace discoblocks::cli {

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json OutcomeJson(std::string_view provisioner, std::string_view function,
                           const drivers::Outcome& outcome) {
  using std::chrono::duration;
  nlohmann::json doc = {
      {"provisioner", provisioner},
      {"function", function},
      {"outcome", drivers::OutcomeName(outcome.kind)},
      {"warnings", outcome.warnings},
      {"stdout", outcome.stdout_data},
      {"stderr", outcome.stderr_data},
      {"duration_ms", duration<double, std::milli>(outcome.duration).count()},
  };
  if (outcome.kind == drivers::OutcomeKind::kInvalid ||
      outcome.kind == drivers::OutcomeKind::kError) {
    doc["reason"] = outcome.reason;
  }
  if (outcome.kind == drivers::OutcomeKind::kError) {
    doc["cause"] = drivers::ErrorCauseName(outcome.cause);
  }
  doc["result"] = outcome.kind == drivers::OutcomeKind::kError ? nlohmann::json() : outcome.result;
  return doc;
}

void PrintOutcome(std::ostream& out, const drivers::Outcome& outcome) {
  switch (outcome.kind) {
    case drivers::OutcomeKind::kValid:
      out << "valid\n";
      break;
    case drivers::OutcomeKind::kInvalid:
      out << "invalid: " << outcome.reason << "\n";
      break;
    case drivers::OutcomeKind::kOk:
      if (outcome.result.is_string()) {
        out << outcome.result.get<std::string>() << "\n";
      } else {
        out << DumpJson(outcome.result) << "\n";
      }
      break;
    case drivers::OutcomeKind::kError:
      out << "error: " << outcome.reason << "\n";
      break;
  }
  for (const std::string& warning : outcome.warnings) out << "warning: " << warning << "\n";
}

int ExitCodeFor(const drivers::Outcome& outcome) {
  switch (outcome.kind) {
    case drivers::OutcomeKind::kValid:
    case drivers::OutcomeKind::kOk:
      return kExitOk;
    case drivers::OutcomeKind::kInvalid:
      return kExitInvalid;
    case drivers::OutcomeKind::kError:
      break;
  }
  return kExitError;
}

std::vector<std::string> ContractExports(const drivers::Driver& driver) {
  std::vector<std::string> names;
  for (const auto& spec : drivers::AllFunctions()) {
    if (driver.Exports(spec.function)) names.emplace_back(spec.name);
  }
  return names;
}

double Milliseconds(std::chrono::nanoseconds duration) {
  return std::chrono::duration<double, std::milli>(duration).count();
}

namespace {

std::string Timestamp(std::chrono::system_clock::time_point time) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::time_point_cast<std::chrono::seconds>(time));
}

}  // namespace

nlohmann::json DriverEntryJson(const drivers::DriverEntry& entry) {
  nlohmann::json doc = {{"provisioner", entry.provisioner},
                        {"state", drivers::DriverStateName(entry.state)}};
  if (!entry.reason.empty()) doc["reason"] = entry.reason;
  if (entry.driver) {
    const drivers::Driver& driver = *entry.driver;
    doc["abi"] = static_cast<int>(driver.abi());
    doc["exports"] = ContractExports(driver);
    doc["sha256"] = driver.sha256();
    doc["size_bytes"] = driver.size_bytes();
    doc["loaded_at"] = Timestamp(driver.loaded_at());
    doc["compile_ms"] = Milliseconds(driver.module_info().compile_time);
    doc["from_module_cache"] = driver.from_cache();
    doc["preinitialized"] = driver.preinit().preinitialized;
    if (driver.preinit().preinitialized) doc["preinit_ms"] = Milliseconds(driver.preinit().time);
    if (!driver.preinit().not_preinitialized.empty()) {
      doc["not_preinitialized"] = driver.preinit().not_preinitialized;
    }
    doc["pinned_by_manifest"] = driver.manifest() && driver.manifest()->sha256.has_value();
    if (driver.manifest() && !driver.manifest()->description.empty()) {
      doc["description"] = driver.manifest()->description;
    }
  }
  if (!entry.warnings.empty()) doc["warnings"] = entry.warnings;
  if (!entry.last_load_error.empty()) {
    doc["last_load_error"] = entry.last_load_error;
    if (entry.last_load_error_at) doc["last_load_error_at"] = Timestamp(*entry.last_load_error_at);
  }
  doc["load_failures"] = entry.load_failures;
  doc["versions_loaded"] = entry.versions_loaded;
  doc["calls"] = entry.calls;
  doc["call_failures"] = entry.call_failures;
  return doc;
}

}  // namespace discoblocks::cli
