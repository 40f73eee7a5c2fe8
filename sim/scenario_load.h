// The scenario loader: reads one TOML file holding the shared config schema (the policy
// under test, docs/config.md) plus the simulator's own tables -- [scenario], [traffic],
// [buffer], each provider's [providers.sim], [[faults]], [baselines] and [[expect]]
// (docs/scenarios.md). It decides what a well-formed scenario is: every unknown key,
// wrong type or impossible value is an Error naming file:line:col and the key path,
// never a default. Running the scenario is left to expect.h.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/config/policy_override.h"
#include "core/engine/result.h"
#include "sim/scenario.h"

namespace failover::sim {

// Loads the scenario in the file at `path`; Scenario::name is the file's stem. Never
// throws.
Result<Scenario> load_scenario_file(const std::string& path);

// As load_scenario_file, for text in memory: `name` stands for the file in errors
// ("name:line:col") and its stem becomes Scenario::name.
Result<Scenario> load_scenario_string(std::string_view text, std::string_view name);

// One value set on the policy under test before the scenario is built (a point of a
// sweep, sim/sweep.h): core/config/policy_override.h.
using config::kOverridesMax;
using config::PolicyOverride;

// As load_scenario_file / load_scenario_string, with `overrides` applied to the parsed
// table first, so that the same loader and validate() judge them: an unknown key or a
// bad value is an Error naming the file and the key path ("policy.breaker.open_base:
// ..."). A key that is not a dotted path of names, a value that is not one TOML number,
// boolean or string, or a key crossing a non-table is an Error naming the override.
Result<Scenario> load_scenario_file(const std::string& path, const std::vector<PolicyOverride>& overrides);
Result<Scenario> load_scenario_string(std::string_view text, std::string_view name,
                                      const std::vector<PolicyOverride>& overrides);

// The scenario `text` as one TOML tree that stands alone: with [scenario] config, the
// live config's providers, routes, tiers and policy merged in (scenario_config.h) and
// the config key dropped. For a tool that writes scenarios derived from this one (a
// draw of `failover explore`), so that the derived file does not depend on where the
// live config sits relative to it. Never throws.
Result<toml::table> parse_scenario_toml(std::string_view text, std::string_view name);

}  // namespace failover::sim
