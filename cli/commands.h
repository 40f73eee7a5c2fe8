// Subcommand registration for the failover program. Each add_* function registers one
// subcommand on the CLI11 app; the work happens in the libraries.
#pragma once

namespace CLI {
class App;
}

namespace failover::cli {
void add_config_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_explore_command(CLI::App& app);
void add_fleet_command(CLI::App& app);
void add_live_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_derive_command(CLI::App& app);
// API keys sit in the process's memory: unless `allow_core_dump`, no core dump is written
// and the process is not dumpable. Call before a key is read (live_command.cpp).
bool keep_secrets_out_of_core_dumps(bool allow_core_dump);
int exit_code();
void set_exit_code(int code);
}  // namespace failover::cli
