// The scenario loader: reads one TOML file holding the shared config schema (the policy
// under test, docs/config.md) plus the simulator's own tables -- [scenario], [traffic],
// [buffer], each provider's [providers.sim], [[faults]], [baselines] and [[expect]]
// (docs/scenarios.md). It decides what a well-formed scenario is: every unknown key,
// wrong type or impossible value is an Error naming file:line:col and the key path,
// never a default. Running the scenario is left to expect.h.
#pragma once

#include <string>
#include <string_view>

#include "core/engine/result.h"
#include "sim/scenario.h"

namespace failover::sim {

// Loads the scenario in the file at `path`; Scenario::name is the file's stem. Never
// throws.
Result<Scenario> load_scenario_file(const std::string& path);

// As load_scenario_file, for text in memory: `name` stands for the file in errors
// ("name:line:col") and its stem becomes Scenario::name.
Result<Scenario> load_scenario_string(std::string_view text, std::string_view name);

}  // namespace failover::sim
