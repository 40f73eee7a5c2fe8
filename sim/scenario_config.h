// A scenario that tests a live config: `[scenario] config = "../live/prod.toml"` takes the
// providers, routes, tiers and policy from that file, so that CI replays the very file
// production loads (docs/scenarios.md, "One policy file for both worlds"). This file
// decides how the two files combine -- the scenario adds each provider's `sim` table,
// may override single policy keys and may not redefine providers, routes or tiers -- and
// reads the live file with the one TOML reader, which names whichever file a bad value
// sits in. Reading the merged tree is left to the scenario loader (scenario_load.cpp).
#pragma once

#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "core/engine/result.h"

namespace failover::sim {

// `config` as written in the scenario at `scenario_source`, resolved against the
// scenario's folder (as written when absolute).
std::string live_config_path(std::string_view scenario_source, std::string_view config);

// The scenario tree `root` (parsed from `scenario_source`) with its live config merged
// in, or `root` unchanged when [scenario] names none. The live config must load on its
// own as a live config (its errors name its file:line:col); the scenario's [[providers]]
// entries then hold only a name of a live provider and its `sim` table, one for each
// live provider; [policy] keys replace the live config's key by key; the scenario may
// not hold [[routes]] or [[tiers]]. Nodes keep their source, so a later error names
// the file the value came from. Never throws.
Result<toml::table> with_live_config(toml::table root, const std::string& scenario_source);

// Moves every key of `src` into `dst`, merging tables key by key (an array or value
// replaces what was there). Moving keeps toml++'s source positions, so errors in the
// merged tree still point at the overriding line. False when tables nest too deeply.
bool merge_into(toml::table& dst, toml::table& src);

}  // namespace failover::sim
