// Reports: what a scenario's result looks like to a person (a Markdown summary with SVG
// charts, readable on a code-hosting site), to a machine (JSON with every figure) and
// to a CI system (JUnit XML). It decides the files' names, layout and number formats;
// the figures themselves come from the simulation and the verdicts from expect.h.
// Output depends only on the input: the same result gives the same bytes, so a
// committed report can be checked for being current.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/result.h"
#include "sim/expect.h"

namespace failover::sim {

class JsonWriter;

// One expectation's check as the members of a JSON object (name, policy, metric,
// expected, measured, worst_seed, pass): the report's "checks" and the run document's
// "expectations" both write them. The caller opens and closes the object.
void write_check_fields(JsonWriter& j, const CheckResult& c);

// One chart: its file is "<scenario>-<slug>.svg".
struct ChartFile {
  std::string slug;   // "throughput", "buffer", "breakers", "latency", "cost"
  std::string title;  // alt text in the Markdown
  std::string svg;
};

// Writes into `dir` (created if missing): <scenario>.md, <scenario>.json,
// <scenario>.junit.xml and one <scenario>-<slug>.svg per chart. Precondition:
// result.scenario is set and every policy has at least one run. An Error names the
// path that could not be created or written.
Status write_reports(const ScenarioResult& result, const std::string& dir);

// The documents write_reports writes, for callers that print or upload them.
// Each has the same preconditions as write_reports.
std::string report_markdown(const ScenarioResult& result);
// JSON, format "failover-report/1", keys in this order:
//   format, scenario {name, title, description, source, path, duration_seconds, seeds,
//     overflow_from_seconds, buffer {capacity, mode, redelivery_delay_seconds},
//     cost_budget_usd (null: none), faults [{provider, kind, name, start_seconds,
//     duration_seconds, intensity}]},
//   passed, conserved, checks [{name, policy, metric, expected, measured, worst_seed, pass}],
//   warnings [the preflight's sentences, sim/preflight.h],
//   policies [{name, description, targets [{index, name}], runs [per seed: scenario,
//     policy, seed, digest, sim {requests, events, end_seconds}, conserved, availability,
//     arrived, succeeded, failed, dropped, in_flight_end, requeued, dropped_buffer_full,
//     failed_by {reason: n}, dropped_by {reason: n}, overflow_at_seconds (null: never),
//     overflow_after_minutes, peak_queue, time_to_failover_seconds, recovery_seconds,
//     buffer_capacity, latency_ms {count, clamped, min, mean, p50, p90, p99, p999, max},
//     attempts, attempts_per_request, hedges, retry_budget_denied, attempts_by_target,
//     successes_by_target,
//     cost_usd (billed for sure), possibly_billed_usd, cost_upper_usd, plan_cost_usd,
//     cost_upper_vs_plan, cost_by_target_micro_usd, breaker_trips, trips_by_target,
//     transitions_total, transitions [{at_seconds, target, from, to}], breaker_end,
//     open_seconds_by_target, half_open_seconds_by_target, ended_while_open and
//     ended_while_half_open {reason: [per target: requests failed or dropped with that
//     reason while the target's breaker was open / half-open]},
//     series {bucket_seconds, arrived, succeeded, failed, dropped, attempts, held_max,
//     cost_micro_usd, latency_p50_us, latency_p99_us, open_targets}]}].
// Money and seconds are exact decimals of their integers; what never happened is null.
// No wall-clock figure appears: the file is a pure function of the result.
std::string report_json(const ScenarioResult& result);
// JUnit XML: junit_document over the scenario's one suite.
std::string report_junit(const ScenarioResult& result);

// One scenario's <testsuite> element, for a document that gathers several: its
// properties (title, seeds, each run's digest), a testcase per expectation, the
// conservation testcase and, when `deterministic` is given, a "determinism" testcase;
// with the counts the <testsuites> root adds up.
struct JunitSuite {
  std::string xml;  // "  <testsuite ...>\n ... </testsuite>\n"
  std::size_t tests = 0;
  std::size_t failures = 0;
};
JunitSuite junit_suite(const ScenarioResult& result, std::optional<bool> deterministic = std::nullopt);
// The JUnit XML document: the <testsuites> root over `suites`, in order, counts summed.
std::string junit_document(const std::vector<JunitSuite>& suites);

// The charts, drawn from the first seed's run of each policy, in this order:
// throughput (arrivals vs successes per minute), buffer (depth against capacity),
// breakers (state per target over time), latency (p50 and p99), cost (cumulative,
// against the budget and the all-primary plan).
std::vector<ChartFile> report_charts(const ScenarioResult& result);

}  // namespace failover::sim
