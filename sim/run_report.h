// What `failover run` reports of the scenarios it ran: per scenario the console tables
// and the verdict, and over all of them the closing tally, one JSON document
// ("failover-run/1") and one JUnit XML document with a test suite per scenario. It
// decides their layout and what passing means; running the scenarios is expect.h's,
// checking determinism determinism.h's, and the wall times are the caller's, measured
// where a clock may be read (cli/) and passed in as data.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/expect.h"
#include "sim/live_world.h"
#include "sim/report.h"

namespace failover::sim {

// One scenario as `failover run` ran it.
struct ScenarioRun {
  ScenarioResult result;
  std::vector<double> wall_seconds;   // per run, policy-major: run_scenario's task order
  std::optional<bool> deterministic;  // empty: not checked
  // A --live run (cli/live_run.h) is in the live world; beside each of its runs, in the
  // same order, the simulator's run of the same policy and seed and the notes on where
  // the two worlds differ. Both empty in the simulator's world.
  bool live = false;
  std::vector<RunResult> simulated{};
  std::vector<LiveNotes> live_notes{};

  // Every expectation holds, every run conserves its requests, no liveness invariant
  // broke, and the runs repeated when that was checked.
  [[nodiscard]] bool passed() const { return result.passed() && deterministic.value_or(true); }
};

// "scenario: NAME -- TITLE\nfile: PATH\nseeds: 1, 2\n".
std::string scenario_heading(const Scenario& scenario);
// The console tables, each after a blank line: the policies side by side per seed,
// min / median / max across seeds (two seeds or more), the expectations (PASS/FAIL,
// expected, measured) and each run's digest, wall time and speed.
// Precondition: run.wall_seconds has one entry per run.
std::string scenario_tables(const ScenarioRun& run);
// The scenario's closing lines: the broken invariant if any, then "NAME: PASS" or
// "NAME: FAIL" with the reason when it is not an expectation.
std::string verdict_text(const ScenarioRun& run);

// The outputs over every scenario, fed one scenario at a time as it finishes: it keeps
// what the documents need, not every run's time series.
class RunDocuments {
 public:
  void add(const ScenarioRun& run);
  // Every scenario added passed (true when none was).
  [[nodiscard]] bool passed() const { return failed_.empty(); }
  // After two scenarios or more: "\nN scenarios: P passed, F failed (a, b)\n"; else empty.
  [[nodiscard]] std::string tally() const;
  // JSON, format "failover-run/1": format, passed, scenarios [{scenario, title, path,
  // seeds, passed, conserved, deterministic (null: not checked), warnings [preflight
  // sentences], runs [one line per run: scenario, policy, seed, digest, sim {requests, events, wall_seconds},
  // conserved, availability, arrived, succeeded, failed, dropped, in_flight_end,
  // overflow_at_seconds, peak_queue, time_to_failover_seconds, recovery_seconds,
  // latency_ms {p50, p90, p99, p999}, attempts_per_request, breaker_trips, cost_usd,
  // possibly_billed_usd, plan_cost_usd, world ("sim" or "live"); a live run also
  // simulated {the same fields of the simulator's run, world "sim"} and two_worlds
  // {time_scale, live_wall_seconds, metrics [{metric, sim, live, difference}], notes
  // [sentences]}], summary [per policy: policy, seeds, then
  // {min, median, max} of availability, dropped, peak_queue, time_to_failover_seconds,
  // latency_p99_ms, attempts_per_request, cost_usd], expectations [{name, policy,
  // metric, expected, measured, worst_seed, pass}]}]. What never happened is null.
  [[nodiscard]] std::string json() const;
  // JUnit XML: one <testsuite> per scenario (report.h's junit_suite).
  [[nodiscard]] std::string junit() const;

 private:
  std::size_t scenarios_ = 0;
  std::vector<std::string> failed_;        // names of the scenarios that failed, in order
  std::vector<std::string> json_entries_;  // each scenario's entry of "scenarios"
  std::vector<JunitSuite> suites_;
};

}  // namespace failover::sim
