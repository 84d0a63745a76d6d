// How the command line prints things: aligned tables for people, JSON for tools.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/outcome.h"
#include "drivers/registry.h"

namespace discoblocks::cli {

// Prints rows with columns padded to their widest cell; the first row is the header.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// The `drivers call -o json` document.
nlohmann::json OutcomeJson(std::string_view provisioner, std::string_view function,
                           const drivers::Outcome& outcome);

// Prints an outcome for people: the outcome, the value or reason, warnings.
void PrintOutcome(std::ostream& out, const drivers::Outcome& outcome);

// 0 for valid/ok, 1 for invalid, 2 for error.
int ExitCodeFor(const drivers::Outcome& outcome);

// The functions of the contract that a driver exports, in contract order.
std::vector<std::string> ContractExports(const drivers::Driver& driver);

// Milliseconds, fractional, for JSON.
double Milliseconds(std::chrono::nanoseconds duration);

// One driver folder as `drivers list -o json` and serve's /drivers show it.
nlohmann::json DriverEntryJson(const drivers::DriverEntry& entry);

// JSON text that never throws on invalid UTF-8 coming from a driver.
std::string DumpJson(const nlohmann::json& value, int indent = 2);

}  // namespace discoblocks::cli
