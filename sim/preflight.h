// Preflight: what a reader should know before trusting a run's verdicts (issue 17).
// Each `failover run` replays the policy under test once more with every fault removed
// (one more simulation, on the scenario's first seed) and warns when it fails on that
// healthy day -- a breaker trip, a lost request, a harm bound broken -- naming the limit
// most likely to blame: the provider whose attempts stood longest at its
// concurrency_max. It also warns about a fault window to whose provider no policy sent
// a call: that fault tests nothing. Warnings only: the verdicts are the expectations'.
#pragma once

#include <string>
#include <vector>

#include "sim/expect.h"
#include "sim/scenario.h"
#include "sim/simulation.h"

namespace failover::sim {

// A provider's concurrency is "saturated" for the preflight when its attempts stood at
// concurrency_max for at least this share of the run (percent).
inline constexpr double kSaturatedPercent = 50.0;

// The warnings for `result` (the run of `scenario`), one sentence each, in a fixed
// order; empty when there is nothing to say. `fault_free` is the policy under test on
// without_faults(scenario), first seed (see preflight_run).
std::vector<std::string> preflight_warnings(const Scenario& scenario, const ScenarioResult& result,
                                            const RunResult& fault_free);

// The policy under test on the scenario with every fault removed, first seed.
RunResult preflight_run(const Scenario& scenario);

// The sentence naming the provider whose concurrency_max held its attempts longest, if
// that was at least kSaturatedPercent of the run; empty otherwise.
std::string likely_limit(const NamedPolicy& policy, const RunResult& run);

}  // namespace failover::sim
