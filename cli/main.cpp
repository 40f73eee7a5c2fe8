// The failover program: thin wiring of subcommands over the libraries.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"failover: LLM API failover core and deterministic outage simulator"};
  app.require_subcommand(1);
  failover::cli::add_config_command(app);
  failover::cli::add_run_command(app);
  CLI11_PARSE(app, argc, argv);
  return failover::cli::exit_code();
}
