// The verdicts and documents of `failover run` over several scenarios (run_report.h);
// the console tables are run_tables.cpp's.
#include "sim/run_report.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>

#include "core/engine/assert.h"
#include "sim/json_writer.h"
#include "sim/report_format.h"

namespace failover::sim {
namespace {

// The lower median (an actual run's value), as the Markdown report takes it.
void write_spread(JsonWriter& j, std::string_view key, std::vector<double> values, int digits) {
  std::sort(values.begin(), values.end());
  j.open_inline(key, '{');
  j.real("min", values.empty() ? 0.0 : values.front(), digits);
  j.real("median", values.empty() ? 0.0 : values[(values.size() - 1) / 2], digits);
  j.real("max", values.empty() ? 0.0 : values.back(), digits);
  j.close('}');
}

// One run's fields, without the braces.
void write_run_fields(JsonWriter& j, const Scenario& s, const std::string& policy, const RunResult& run, double wall,
                      bool live) {
  const auto metric = [&](std::string_view key, Metric m, int digits) {
    j.real(key, metric_value(m, s, run, nullptr), digits);
  };
  j.text("scenario", s.name);
  j.text("policy", policy);
  j.integer("seed", run.seed);
  j.text("digest", run.digest);
  j.open_inline("sim", '{');
  j.integer("requests", run.arrived);
  j.integer("events", run.events);
  j.real("wall_seconds", wall, 6);
  j.close('}');
  j.boolean("conserved", run.conserved);
  j.real("availability", run.availability(), 6);
  j.integer("arrived", run.arrived);
  j.integer("succeeded", run.succeeded);
  j.integer("failed", run.failed);
  j.integer("dropped", run.dropped);
  j.integer("in_flight_end", run.in_flight_end);
  j.raw("overflow_at_seconds", run.overflow_at ? report::decimal(to_us(*run.overflow_at), 6) : "null");
  j.integer("peak_queue", run.held_peak);
  j.real("time_to_failover_seconds", failover_seconds(s, run), 3);
  j.real("recovery_seconds", recovery_seconds(s, run), 3);
  j.open_inline("latency_ms", '{');
  metric("p50", Metric::latency_p50, 3);
  metric("p90", Metric::latency_p90, 3);
  metric("p99", Metric::latency_p99, 3);
  metric("p999", Metric::latency_p999, 3);
  j.close('}');
  metric("attempts_per_request", Metric::attempts_per_request, 6);
  metric("breaker_trips", Metric::breaker_trips, 0);
  j.raw("cost_usd", report::decimal(run.cost_micro_usd, 6));
  j.raw("possibly_billed_usd", report::decimal(run.possibly_billed_micro_usd, 6));
  j.raw("plan_cost_usd", report::decimal(run.plan_cost_micro_usd, 6));
  j.text("world", live ? "live" : "sim");
}

void write_run(JsonWriter& j, const Scenario& s, const std::string& policy, const RunResult& run, double wall) {
  j.open_inline("", '{');
  write_run_fields(j, s, policy, run, wall, false);
  j.close('}');
}

// A live run, with the simulator's run of the same policy and seed beside it.
void write_live_run(JsonWriter& j, const Scenario& s, const std::string& policy, const RunResult& run, double wall,
                    const RunResult& simulated, const LiveNotes& notes) {
  j.open("", '{');
  write_run_fields(j, s, policy, run, wall, true);
  j.open_inline("simulated", '{');
  write_run_fields(j, s, policy, simulated, 0.0, false);
  j.close('}');
  j.open("two_worlds", '{');
  write_two_worlds(j, s, simulated, run, notes);
  j.close('}');
  j.close('}');
}

void write_summary(JsonWriter& j, const Scenario& s, const PolicyResult& p) {
  const auto field = [&](std::string_view key, double (*value)(const Scenario&, const RunResult&), int digits) {
    std::vector<double> values;
    for (const RunResult& run : p.runs) values.push_back(value(s, run));
    write_spread(j, key, std::move(values), digits);
  };
  const auto metric = [&](std::string_view key, Metric m, int digits) {
    std::vector<double> values;
    for (const RunResult& run : p.runs) values.push_back(metric_value(m, s, run, nullptr));
    write_spread(j, key, std::move(values), digits);
  };
  j.open_inline("", '{');
  j.text("policy", p.name);
  j.integer("seeds", p.runs.size());
  field(
      "availability", [](const Scenario&, const RunResult& r) { return r.availability(); }, 6);
  metric("dropped", Metric::dropped, 0);
  field(
      "peak_queue", [](const Scenario&, const RunResult& r) { return static_cast<double>(r.held_peak); }, 0);
  field(
      "time_to_failover_seconds",
      [](const Scenario& sc, const RunResult& r) {
        return failover_seconds(sc, r).value_or(std::numeric_limits<double>::infinity());
      },
      3);
  metric("latency_p99_ms", Metric::latency_p99, 3);
  metric("attempts_per_request", Metric::attempts_per_request, 6);
  field(
      "cost_usd", [](const Scenario&, const RunResult& r) { return static_cast<double>(r.cost_micro_usd) / 1e6; }, 6);
  j.close('}');
}

void write_checks(JsonWriter& j, const std::vector<CheckResult>& checks) {
  j.open("expectations", '[');
  for (const CheckResult& c : checks) {
    j.open_inline("", '{');
    write_check_fields(j, c);
    j.close('}');
  }
  j.close(']');
}

// The scenario's entry in the document's "scenarios" list, two containers deep.
std::string scenario_entry(const ScenarioRun& run) {
  const ScenarioResult& r = run.result;
  const Scenario& s = *r.scenario;
  JsonWriter j(2);
  j.open("", '{');
  j.text("scenario", s.name);
  j.text("title", s.title);
  j.text("path", s.path);
  j.integers("seeds", s.seeds);
  j.boolean("passed", run.passed());
  j.boolean("conserved", r.conserved);
  if (run.deterministic)
    j.boolean("deterministic", *run.deterministic);
  else
    j.null("deterministic");
  j.open("warnings", '[');
  for (const std::string& w : r.warnings) j.text("", w);
  j.close(']');
  j.open("runs", '[');
  std::size_t k = 0;
  for (const PolicyResult& p : r.policies) {
    for (const RunResult& one : p.runs) {
      const std::size_t i = k++;
      if (run.live) {
        write_live_run(j, s, p.name, one, run.wall_seconds.at(i), run.simulated.at(i), run.live_notes.at(i));
      } else {
        write_run(j, s, p.name, one, run.wall_seconds.at(i));
      }
    }
  }
  j.close(']');
  j.open("summary", '[');
  for (const PolicyResult& p : r.policies) write_summary(j, s, p);
  j.close(']');
  write_checks(j, r.checks);
  j.close('}');
  return j.value();
}

}  // namespace

std::string verdict_text(const ScenarioRun& run) {
  const ScenarioResult& r = run.result;
  FAILOVER_ASSERT(r.scenario != nullptr);
  std::string out;
  if (!r.violation.empty()) out += "\ninvariant broken: " + r.violation + "\n";
  const char* verdict = run.passed()           ? "PASS"
                        : !r.conserved         ? "FAIL (a run lost requests)"
                        : !r.violation.empty() ? "FAIL (a liveness invariant broke)"
                                               : "FAIL";
  return out + "\n" + r.scenario->name + ": " + verdict + "\n";
}

void RunDocuments::add(const ScenarioRun& run) {
  FAILOVER_ASSERT(run.result.scenario != nullptr);
  FAILOVER_ASSERT(run.wall_seconds.size() == report::runs_total(run.result));
  FAILOVER_ASSERT(!run.live || (run.simulated.size() == run.wall_seconds.size() &&
                                run.live_notes.size() == run.wall_seconds.size()));
  ++scenarios_;
  if (!run.passed()) failed_.push_back(run.result.scenario->name);
  json_entries_.push_back(scenario_entry(run));
  suites_.push_back(junit_suite(run.result, run.deterministic));
}

std::string RunDocuments::tally() const {
  if (scenarios_ < 2) return {};
  std::string names;
  for (const std::string& n : failed_) names += (names.empty() ? " (" : ", ") + n;
  return "\n" + std::to_string(scenarios_) + " scenarios: " + std::to_string(scenarios_ - failed_.size()) +
         " passed, " + std::to_string(failed_.size()) + " failed" + (names.empty() ? "" : names + ")") + "\n";
}

std::string RunDocuments::json() const {
  JsonWriter j;
  j.open("", '{');
  j.text("format", "failover-run/1");
  j.boolean("passed", passed());
  j.open("scenarios", '[');
  for (const std::string& entry : json_entries_) j.raw("", entry);
  j.close(']');
  j.close('}');
  return j.finish();
}

std::string RunDocuments::junit() const {
  return junit_document(suites_);
}

}  // namespace failover::sim
