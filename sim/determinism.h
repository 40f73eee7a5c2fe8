// The determinism check of `failover run --check-determinism`: every run of a scenario
// repeated twice more, with a trace recorder, must give the digest it gave the first
// time. It decides how runs are compared and how a difference is named (the three
// digests, then the first diverging event of the two recorded traces); which threads
// run the repeats is the caller's ParallelFor.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sim/expect.h"

namespace failover::sim {

// Events a recorder keeps per repeated run: enough for every scenario in scenarios/,
// bounded so that a long run cannot exhaust memory (its tail is compared by count).
inline constexpr std::size_t kDeterminismEventsKept = 2'000'000;

// Runs every (policy, seed) of `result` twice more -- task i is policy i / seeds, seed
// i % seeds, as run_scenario's -- and compares the two traces with each other and
// their digests with the result's. One message per run that differed, in task order
// whatever `parallel_for` does: "NOT DETERMINISTIC: <scenario>, policy P, seed S:
// digests A, B, C" and a line naming the first diverging event. Empty: every run
// repeated. Precondition: result.scenario is set and its runs are the scenario's.
std::vector<std::string> determinism_problems(const ScenarioResult& result, const ParallelFor& parallel_for = {});

}  // namespace failover::sim
