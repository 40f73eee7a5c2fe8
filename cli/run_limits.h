// The gate before a long simulation: `failover run`, `sweep` and `explore` add up the
// estimate of every run they would make (sim/estimate.h) and refuse, with the figures,
// one above sim::kEventsMax unless --allow-long was given. Shared so that the three
// commands word the refusal alike and document one flag.
#pragma once

#include <cstddef>
#include <string>

#include "sim/estimate.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace failover::cli {

// Adds --allow-long to `cmd`, bound to `allow_long`.
CLI::Option* add_allow_long_flag(CLI::App& cmd, bool& allow_long);

// True when `total` (of `runs` runs of `what`, a file or folder name) is within
// sim::kEventsMax or `allow_long` is set; otherwise says why on stderr and returns false.
// With allow_long above the limit, prints the estimate on stderr and returns true.
bool within_run_limits(const std::string& what, const sim::RunEstimate& total, std::size_t runs, bool allow_long);

}  // namespace failover::cli
