// Expectation checks: runs every policy of a scenario on every seed and compares the
// measured figures with the scenario's [expect] bounds. Each check has exactly one
// verdict and carries both what was expected and what was measured, so the report can
// show a failing check next to its numbers. It also decides how the derived figures --
// time to fail over, time to recover -- are read off a run's time series.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/ratio.h"
#include "sim/scenario.h"
#include "sim/simulation.h"

namespace failover::sim {

// Success ratio of a healthy stretch of the series (succeeded / arrived, pooled over
// the stretch), and the stretch that "failed over" is measured on.
inline constexpr Ratio kHealthyBucket{99, 100};
inline constexpr Duration kFailoverHold = sec(60);

struct CheckResult {
  std::string policy;
  std::string metric;    // e.g. "availability"
  std::string expected;  // e.g. ">= 99.97%"
  std::string measured;  // worst value across seeds, formatted, e.g. "99.991% (seed 3)"
  std::uint64_t worst_seed = 0;
  bool passed = false;
};

struct PolicyResult {
  std::string name;
  std::string description;
  std::vector<RunResult> runs;  // one per seed, in seed order
};

struct ScenarioResult {
  const Scenario* scenario = nullptr;
  std::vector<PolicyResult> policies;
  std::vector<CheckResult> checks;
  bool conserved = true;  // every run conserved its requests
  std::string violation;  // the first run's broken liveness invariant ("policy seed 3: at ..."); empty: none
  // What the reader should know before trusting the verdicts (sim/preflight.h); set by
  // `failover run`, not judged by passed().
  std::vector<std::string> warnings;
  [[nodiscard]] bool passed() const;  // conserved, no invariant broken, and every check passed
};

// Metric values derived from a run (used by checks and reports alike), in the unit
// the scenario writes them in: percent (availability, cost_ratio), minutes
// (overflow_at, after scenario.overflow_from), seconds (failover_time,
// recovery_time), milliseconds (latencies), USD (cost_usd), plain counts otherwise.
// What never happened is +infinity: no overflow, no failover, no recovery, no success
// to take a latency from. Cost is the upper bound: billed for sure plus possibly
// billed (timed-out and cancelled attempts). cost_ratio compares it with the
// all-primary plan of `primary_plan` when given, else of `run` itself.
double metric_value(Metric metric, const Scenario& scenario, const RunResult& run, const RunResult* primary_plan);

// From F = scenario.overflow_from (the storm's start) to the start of the first
// bucket at or after F that begins kFailoverHold of series (cut short by the end of
// the run) whose pooled succeeded >= 99% of arrived -- "the first minute back above
// 99%". Pooling a minute keeps the noise of completions lagging arrivals below the
// 1% margin. Empty without faults, or when that never happens.
std::optional<double> failover_seconds(const Scenario& scenario, const RunResult& run);

// From L = the last fault's end to the start of the first bucket j at or after L such
// that every bucket from j to the end had no breaker open and held the buffer at most
// 25% (+1) above its peak before the first fault (no buffer condition when the first
// fault starts in the first bucket), and the buckets from j to the end, pooled,
// succeeded >= 99% of their arrivals. Empty without faults, or when the run ends
// before that.
std::optional<double> recovery_seconds(const Scenario& scenario, const RunResult& run);

// A metric value as the report prints it ("99.973%", "18.4 min", "never", "$12.34").
std::string format_metric(Metric metric, double value);
// The bound as text: ">= 99.970%", "<= 0", "between 17.0 min and 20.0 min", "never".
std::string expected_text(const Expectation& expectation);

// The verdict of one expectation over every seed of its policy: the worst seed's value
// decides (the lowest for at_least, the highest for at_most, the farthest outside --
// or nearest to an edge -- for between, the earliest overflow for never; ties go to
// the earlier seed). Precondition: policy.runs is not empty.
CheckResult check_expectation(const Expectation& expectation, const Scenario& scenario, const PolicyResult& policy);

// Runs `count` independent tasks, each exactly once, in any order or at once. The
// simulator owns no thread; a caller (the CLI) may pass one that uses several.
using ParallelFor = std::function<void(std::size_t count, const std::function<void(std::size_t)>& task)>;

// Runs every policy on every seed -- task i is policy i / seeds, seed i % seeds, each
// writing only its own result, so the result is the same whatever `parallel_for`
// does -- then checks every expectation. Empty `parallel_for`: one after another.
// The result points at `scenario`, which must outlive it.
ScenarioResult run_scenario(const Scenario& scenario, const ParallelFor& parallel_for = {});

}  // namespace failover::sim
