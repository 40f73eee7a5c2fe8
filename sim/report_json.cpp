// The report's JSON: every figure of every run, for machines. Keys come in a fixed
// order, money and time are written exactly from their integers (micro-dollars,
// microseconds), ratios with fixed precision; "never" and "none" are null.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/engine/assert.h"
#include "sim/json_writer.h"
#include "sim/report.h"

#include <algorithm>
#include "sim/report_format.h"
#include "sim/svg.h"

namespace failover::sim {
namespace {

void write_faults(JsonWriter& j, const Scenario& s) {
  j.open("faults", '[');
  for (const ProviderSpec& p : s.providers) {
    for (const Fault& f : p.faults) {
      j.open("", '{');
      j.text("provider", p.name);
      j.text("kind", to_string(f.kind));
      j.text("name", f.stream_key());
      j.raw("start_seconds", report::decimal(to_us(f.start), 6));
      j.raw("duration_seconds", report::decimal(to_us(f.duration), 6));
      j.real("intensity", static_cast<double>(f.intensity.num) / static_cast<double>(f.intensity.den), 6);
      j.close('}');
    }
  }
  j.close(']');
}

void write_scenario(JsonWriter& j, const ScenarioResult& result) {
  const Scenario& s = *result.scenario;
  j.open("scenario", '{');
  j.text("name", s.name);
  j.text("title", s.title);
  j.text("description", s.description);
  j.text("source", s.source);
  j.text("path", s.path);
  j.raw("duration_seconds", report::decimal(to_us(s.duration), 6));
  j.integers("seeds", s.seeds);
  j.raw("overflow_from_seconds", report::decimal(to_us(s.overflow_from), 6));
  j.open("buffer", '{');
  j.integer("capacity", s.buffer.capacity);
  j.text("mode", s.buffer.mode == BufferMode::requeue ? "requeue" : "fail");
  j.raw("redelivery_delay_seconds", report::decimal(to_us(s.buffer.redelivery_delay), 6));
  j.close('}');
  j.raw("cost_budget_usd", s.cost_budget_micro_usd > 0 ? report::decimal(s.cost_budget_micro_usd, 6) : "null");
  write_faults(j, s);
  j.close('}');
}

void write_checks(JsonWriter& j, const ScenarioResult& result) {
  j.open("checks", '[');
  for (const CheckResult& c : result.checks) {
    j.open("", '{');
    write_check_fields(j, c);
    j.close('}');
  }
  j.close(']');
}

void write_reasons(JsonWriter& j, std::string_view key, const std::array<std::int64_t, kEndReasonCount>& counts) {
  j.open(key, '{');
  for (std::size_t r = 0; r < kEndReasonCount; ++r) j.integer(to_string(static_cast<EndReason>(r)), counts[r]);
  j.close('}');
}

void write_latency(JsonWriter& j, const Histogram& h) {
  const auto ms = [](Duration d) { return report::decimal(to_us(d), 3); };
  j.open("latency_ms", '{');
  j.integer("count", h.count());
  j.integer("clamped", h.clamped());
  j.raw("min", ms(h.min()));
  j.raw("mean", report::decimal(h.mean_us(), 3));
  j.raw("p50", ms(h.percentile(Ratio{50, 100})));
  j.raw("p90", ms(h.percentile(Ratio{90, 100})));
  j.raw("p99", ms(h.percentile(Ratio{99, 100})));
  j.raw("p999", ms(h.percentile(Ratio{999, 1000})));
  j.raw("max", ms(h.max()));
  j.close('}');
}

void write_breakers(JsonWriter& j, const RunResult& run) {
  j.integer("breaker_trips", report::trips_total(run));
  j.integers("trips_by_target", run.trips_by_target);
  j.integer("transitions_total", run.transitions_total);
  j.open("transitions", '[');
  for (const Transition& t : run.transitions) {
    j.open_inline("", '{');
    j.raw("at_seconds", report::decimal(to_us(t.at), 6));
    j.integer("target", t.target);
    j.text("from", to_string(t.from));
    j.text("to", to_string(t.to));
    j.close('}');
  }
  j.close(']');
  j.open("breaker_end", '[');
  for (const BreakerState s : run.breaker_end) j.text("", to_string(s));
  j.close(']');
  const auto seconds = [&](std::string_view name, const std::vector<Duration>& by_target) {
    j.open(name, '[');
    for (const Duration d : by_target) j.raw("", report::decimal(to_us(d), 6));
    j.close(']');
  };
  seconds("open_seconds_by_target", run.open_time_by_target);
  seconds("half_open_seconds_by_target", run.half_open_time_by_target);
  // Per end reason, how many requests failed or were dropped while each target's
  // breaker was open or half-open.
  const std::size_t targets = run.breaker_end.size();
  const auto ended = [&](std::string_view name, const std::vector<std::int64_t>& counts) {
    j.open(name, '{');
    // A result built by hand may leave the counts empty: then there is nothing to write.
    const bool sized = targets > 0 && counts.size() == kEndReasonCount * targets;
    for (std::size_t r = 0; r < kEndReasonCount && sized; ++r) {
      const auto from = counts.begin() + static_cast<std::ptrdiff_t>(r * targets);
      if (std::all_of(from, from + static_cast<std::ptrdiff_t>(targets), [](std::int64_t n) { return n == 0; }))
        continue;
      j.integers(to_string(static_cast<EndReason>(r)),
                 std::vector<std::int64_t>(from, from + static_cast<std::ptrdiff_t>(targets)));
    }
    j.close('}');
  };
  ended("ended_while_open", run.ended_while_open);
  ended("ended_while_half_open", run.ended_while_half_open);
}

void write_cost(JsonWriter& j, const RunResult& run, std::optional<double> cost_ratio) {
  j.raw("cost_usd", report::decimal(run.cost_micro_usd, 6));
  j.raw("possibly_billed_usd", report::decimal(run.possibly_billed_micro_usd, 6));
  j.raw("cost_upper_usd", report::decimal(run.cost_micro_usd + run.possibly_billed_micro_usd, 6));
  j.raw("plan_cost_usd", report::decimal(run.plan_cost_micro_usd, 6));
  j.real("cost_upper_vs_plan", cost_ratio, 6);
  j.integers("cost_by_target_micro_usd", run.cost_by_target_micro_usd);
}

void write_series(JsonWriter& j, const RunResult& run) {
  using Field = std::int64_t (*)(const Bucket&);
  static constexpr std::pair<const char*, Field> kFields[] = {
      {"arrived", [](const Bucket& b) { return b.arrived; }},
      {"succeeded", [](const Bucket& b) { return b.succeeded; }},
      {"failed", [](const Bucket& b) { return b.failed; }},
      {"dropped", [](const Bucket& b) { return b.dropped; }},
      {"attempts", [](const Bucket& b) { return b.attempts; }},
      {"held_max", [](const Bucket& b) { return b.held_max; }},
      {"cost_micro_usd", [](const Bucket& b) { return b.cost_micro_usd; }},
      {"latency_p50_us", [](const Bucket& b) { return b.latency_p50_us; }},
      {"latency_p99_us", [](const Bucket& b) { return b.latency_p99_us; }},
      {"open_targets", [](const Bucket& b) { return static_cast<std::int64_t>(b.open_targets); }},
  };
  j.open("series", '{');
  j.raw("bucket_seconds", report::decimal(to_us(run.bucket), 6));
  for (const auto& [name, field] : kFields) {
    std::vector<std::int64_t> values;
    values.reserve(run.series.size());
    for (const Bucket& b : run.series) values.push_back(field(b));
    j.integers(name, values);
  }
  j.close('}');
}

void write_run(JsonWriter& j, const ScenarioResult& result, const PolicyResult& policy, const RunResult& run) {
  const Scenario& s = *result.scenario;
  const report::RunFigures f = report::figures_of(s, run);
  j.open("", '{');
  j.text("scenario", s.name);
  j.text("policy", policy.name);
  j.integer("seed", run.seed);
  j.text("digest", run.digest);
  j.open("sim", '{');
  j.integer("requests", run.arrived);
  j.integer("events", run.events);
  j.raw("end_seconds", report::decimal(to_us(run.end), 6));
  j.close('}');
  j.boolean("conserved", run.conserved);
  if (run.violation.empty())
    j.null("violation");
  else
    j.text("violation", run.violation);
  j.real("availability", run.availability(), 6);
  j.integer("arrived", run.arrived);
  j.integer("succeeded", run.succeeded);
  j.integer("failed", run.failed);
  j.integer("dropped", run.dropped);
  j.integer("in_flight_end", run.in_flight_end);
  j.integer("requeued", run.requeued);
  j.integer("dead_lettered", run.dead_lettered);
  j.integer("downgraded", run.downgraded);
  j.integer("dropped_buffer_full", run.dropped_buffer_full);
  write_reasons(j, "failed_by", run.failed_by);
  write_reasons(j, "dropped_by", run.dropped_by);
  j.raw("overflow_at_seconds", run.overflow_at ? report::decimal(to_us(*run.overflow_at), 6) : "null");
  j.real("overflow_after_minutes", f.overflow_minutes, 3);
  j.integer("peak_queue", run.held_peak);
  j.real("time_to_failover_seconds", f.failover_seconds, 3);
  j.real("recovery_seconds", f.recovery_seconds, 3);
  j.integer("buffer_capacity", s.buffer.capacity);
  write_latency(j, run.latency);
  j.integer("attempts", run.attempts);
  j.real("attempts_per_request", f.attempts_per_request, 6);
  j.integer("hedges", run.hedges);
  j.integer("retry_budget_denied", run.retry_budget_denied);
  j.integers("attempts_by_target", run.attempts_by_target);
  j.integers("successes_by_target", run.successes_by_target);
  write_cost(j, run, f.cost_ratio);
  write_breakers(j, run);
  write_series(j, run);
  j.close('}');
}

void write_policy(JsonWriter& j, const ScenarioResult& result, std::size_t i) {
  const PolicyResult& policy = result.policies[i];
  const Config* config = report::policy_config(result, i);
  j.open("", '{');
  j.text("name", policy.name);
  j.text("description", policy.description);
  j.open("targets", '[');
  for (std::size_t t = 0; t < report::target_count(result, i); ++t) {
    j.open("", '{');
    j.integer("index", static_cast<std::int64_t>(t));
    j.text("name", report::target_name(config, t));
    j.close('}');
  }
  j.close(']');
  j.open("runs", '[');
  for (const RunResult& run : policy.runs) write_run(j, result, policy, run);
  j.close(']');
  j.close('}');
}

}  // namespace

std::string report_json(const ScenarioResult& result) {
  FAILOVER_ASSERT(result.scenario != nullptr);
  JsonWriter j;
  j.open("", '{');
  j.text("format", "failover-report/1");
  write_scenario(j, result);
  j.boolean("passed", report::overall_pass(result));
  j.boolean("conserved", report::all_conserved(result));
  write_checks(j, result);
  j.open("warnings", '[');
  for (const std::string& w : result.warnings) j.text("", w);
  j.close(']');
  j.open("policies", '[');
  for (std::size_t i = 0; i < result.policies.size(); ++i) write_policy(j, result, i);
  j.close(']');
  j.close('}');
  return j.finish();
}

void write_check_fields(JsonWriter& j, const CheckResult& c) {
  j.text("name", c.policy + ": " + c.metric + " " + c.expected);
  j.text("policy", c.policy);
  j.text("metric", c.metric);
  j.text("expected", c.expected);
  j.text("measured", c.measured);
  j.integer("worst_seed", c.worst_seed);
  j.boolean("pass", c.passed);
}

}  // namespace failover::sim
