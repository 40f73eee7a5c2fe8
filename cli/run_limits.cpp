#include "cli/run_limits.h"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace failover::cli {

CLI::Option* add_allow_long_flag(CLI::App& cmd, bool& allow_long) {
  return cmd.add_flag("--allow-long", allow_long,
                      "run even when the estimate is above the limit of events (docs/scenarios.md, \"How long a run "
                      "takes\")");
}

bool within_run_limits(const std::string& what, const sim::RunEstimate& total, std::size_t runs, bool allow_long) {
  if (total.events <= sim::kEventsMax) return true;
  const std::string why = sim::too_long_message(total, runs);
  if (allow_long) {
    std::fprintf(stderr, "warning: %s %s; running it as --allow-long asks\n", what.c_str(), why.c_str());
    return true;
  }
  std::fprintf(stderr, "error: %s %s\n", what.c_str(), why.c_str());
  return false;
}

}  // namespace failover::cli
