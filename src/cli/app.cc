#include "cli/app.h"

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace discoblocks::cli {

int Run(int argc, char** argv) {
  CLI::App app{"Discoblocks: declarative disks for Kubernetes, with drivers in WebAssembly"};
  app.require_subcommand(1);
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  Action action;
  AddDriversCommands(app, action);
  AddValidateCommand(app, action);
  AddMutateCommand(app, action);
  AddAutoscaleCommands(app, action);
  AddServeCommand(app, action);
  AddVersionCommand(app, action);

  // CLI11 would only say "a subcommand is required"; name what was typed instead.
  const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  const bool known =
      argc > 1 && std::any_of(commands.begin(), commands.end(),
                              [&](const CLI::App* c) { return c->get_name() == argv[1]; });
  if (argc > 1 && argv[1][0] != '-' && !known) {
    std::cerr << "discoblocks: unknown command " << argv[1] << "; run with --help for the list\n";
    return kExitError;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitError;
  }
  auto logger = spdlog::stderr_color_mt("discoblocks");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    return action ? action() : kExitError;
  } catch (const std::exception& e) {
    // Every expected failure is a value; reaching this is a bug, reported as such.
    std::cerr << "discoblocks: internal error: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace discoblocks::cli
