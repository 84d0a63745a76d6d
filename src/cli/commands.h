// Sub-command registration, one function per command group. Internal to src/cli/.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace discoblocks::cli {

// A command's action, run after parsing; returns the exit status.
using Action = std::function<int()>;

// Adds `drivers list|inspect|call` to `app`; the chosen one sets `action`.
void AddDriversCommands(CLI::App& app, Action& action);

// Adds `drivers test` (the conformance suite) to the `drivers` group.
void AddDriversTestCommand(CLI::App& group, Action& action);

// Adds `drivers new` (a skeleton driver from sdk/templates) to the `drivers` group.
void AddDriversNewCommand(CLI::App& group, Action& action);

// Adds `validate`.
void AddValidateCommand(CLI::App& app, Action& action);

// Adds `mutate`.
void AddMutateCommand(CLI::App& app, Action& action);

// Adds `autoscale plan` (one monitoring cycle, offline).
void AddAutoscaleCommands(CLI::App& app, Action& action);

// Adds `serve`.
void AddServeCommand(CLI::App& app, Action& action);

// Adds `version` and the top-level `--version` flag.
void AddVersionCommand(CLI::App& app, Action& action);

}  // namespace discoblocks::cli
