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
  failover::cli::add_sweep_command(app);
  failover::cli::add_merge_command(app);
  failover::cli::add_explore_command(app);
  failover::cli::add_fleet_command(app);
  failover::cli::add_live_command(app);
  failover::cli::add_serve_command(app);
  failover::cli::add_derive_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, as a bad file does.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return failover::cli::exit_code();
}
