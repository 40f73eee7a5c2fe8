// Expectation checks and the figures derived from a run's time series. Floating point
// appears only here, in what is reported; every decision of a run stayed in integers.
#include "sim/expect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/engine/assert.h"
#include "sim/report_format.h"

namespace failover::sim {
namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

// The index of the first bucket that starts at or after `t`.
std::size_t first_bucket_from(const RunResult& run, Time t) {
  const std::int64_t width = to_us(run.bucket);
  FAILOVER_ASSERT(width > 0);
  FAILOVER_ASSERT(to_us(t) >= 0);
  return static_cast<std::size_t>((to_us(t) + width - 1) / width);
}

// Seconds from `from` to the start of bucket i (which starts at or after it).
double seconds_from(const RunResult& run, Time from, std::size_t bucket_index) {
  const std::int64_t bucket_start_us = static_cast<std::int64_t>(bucket_index) * to_us(run.bucket);
  FAILOVER_ASSERT(bucket_start_us >= to_us(from));
  return static_cast<double>(bucket_start_us - to_us(from)) / 1e6;
}

double latency_ms(const RunResult& run, Ratio q) {
  if (run.latency.count() == 0) return kNever;  // nothing succeeded: no latency to speak of
  return static_cast<double>(to_us(run.latency.percentile(q))) / 1e3;
}

std::string printf_text(const char* format, double value) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, format, value);
  FAILOVER_ASSERT(n > 0 && static_cast<std::size_t>(n) < sizeof buf);
  return std::string(buf, static_cast<std::size_t>(n));
}

// How far a value is on the wrong side of the bound: positive fails, larger is worse.
double badness(const Expectation& e, double v) {
  switch (e.bound) {
    case Bound::at_least:
      return e.lo - v;
    case Bound::at_most:
      return v - e.hi;
    case Bound::between:
      return std::max(e.lo - v, v - e.hi);
    case Bound::none_:
      return std::isinf(v) ? -kNever : -v;  // the earliest overflow is the worst
  }
  FAILOVER_ASSERT(false);
  return 0.0;
}

bool passes(const Expectation& e, double v) {
  switch (e.bound) {
    case Bound::at_least:
      return v >= e.lo;
    case Bound::at_most:
      return v <= e.hi;
    case Bound::between:
      return v >= e.lo && v <= e.hi;
    case Bound::none_:
      return std::isinf(v) && v > 0;
  }
  FAILOVER_ASSERT(false);
  return false;
}

}  // namespace

bool ScenarioResult::passed() const {
  return conserved && violation.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.passed; });
}

std::optional<double> failover_seconds(const Scenario& scenario, const RunResult& run) {
  if (!scenario.first_fault_start() || run.series.empty()) return std::nullopt;
  const Time from = scenario.overflow_from;
  const std::int64_t width = to_us(run.bucket);
  const auto hold = static_cast<std::size_t>(std::max<std::int64_t>(1, (to_us(kFailoverHold) + width - 1) / width));
  const std::size_t n = run.series.size();
  // A sliding window of `hold` buckets: its sums, moved one bucket at a time.
  std::int64_t arrived = 0;
  std::int64_t succeeded = 0;
  const std::size_t first = first_bucket_from(run, from);
  for (std::size_t k = first; k < std::min(n, first + hold); ++k) {
    arrived += run.series[k].arrived;
    succeeded += run.series[k].succeeded;
  }
  for (std::size_t i = first; i < n; ++i) {
    if (arrived == 0 || kHealthyBucket.reached_by(succeeded, arrived)) return seconds_from(run, from, i);
    arrived -= run.series[i].arrived;
    succeeded -= run.series[i].succeeded;
    if (i + hold < n) {
      arrived += run.series[i + hold].arrived;
      succeeded += run.series[i + hold].succeeded;
    }
  }
  return std::nullopt;
}

std::optional<double> recovery_seconds(const Scenario& scenario, const RunResult& run) {
  const std::optional<Time> first = scenario.first_fault_start();
  const std::optional<Time> last = scenario.last_fault_end();
  if (!first || !last || run.series.empty()) return std::nullopt;
  const std::size_t n = run.series.size();
  const std::size_t pre_fault = std::min(n, static_cast<std::size_t>(to_us(*first) / to_us(run.bucket)));
  std::int64_t peak = 0;
  for (std::size_t i = 0; i < pre_fault; ++i) peak = std::max(peak, run.series[i].held_max);
  const std::int64_t held_limit = peak + peak / 4 + 1;
  const auto settled = [&](const Bucket& b) {
    return b.open_targets == 0 && (pre_fault == 0 || b.held_max <= held_limit);
  };
  const std::size_t from = first_bucket_from(run, *last);
  // The buckets from j on are all settled; then the first of them whose tail (j to the
  // end, pooled) succeeded >= 99% of its arrivals.
  std::size_t j = n;
  while (j > from && settled(run.series[j - 1])) --j;
  std::int64_t arrived = 0;
  std::int64_t succeeded = 0;
  for (std::size_t k = j; k < n; ++k) {
    arrived += run.series[k].arrived;
    succeeded += run.series[k].succeeded;
  }
  for (; j < n; ++j) {
    if (arrived == 0 || kHealthyBucket.reached_by(succeeded, arrived)) return seconds_from(run, *last, j);
    arrived -= run.series[j].arrived;
    succeeded -= run.series[j].succeeded;
  }
  return std::nullopt;
}

double metric_value(Metric metric, const Scenario& scenario, const RunResult& run, const RunResult* primary_plan) {
  const double cost_upper = static_cast<double>(run.cost_micro_usd + run.possibly_billed_micro_usd);
  switch (metric) {
    case Metric::availability:
      return run.availability() * 100.0;
    case Metric::dropped:
      return static_cast<double>(run.dropped);
    case Metric::failed:
      return static_cast<double>(run.failed);
    case Metric::overflow_at:
      if (!run.overflow_at) return kNever;
      return static_cast<double>(to_us(*run.overflow_at) - to_us(scenario.overflow_from)) / 60e6;
    case Metric::failover_time:
      return failover_seconds(scenario, run).value_or(kNever);
    case Metric::recovery_time:
      return recovery_seconds(scenario, run).value_or(kNever);
    case Metric::latency_p50:
      return latency_ms(run, Ratio{50, 100});
    case Metric::latency_p90:
      return latency_ms(run, Ratio{90, 100});
    case Metric::latency_p99:
      return latency_ms(run, Ratio{99, 100});
    case Metric::latency_p999:
      return latency_ms(run, Ratio{999, 1'000});
    case Metric::attempts_per_request:
      return run.arrived == 0 ? 0.0 : static_cast<double>(run.attempts) / static_cast<double>(run.arrived);
    case Metric::breaker_trips: {
      std::int64_t trips = 0;
      for (const std::int64_t t : run.trips_by_target) trips += t;
      return static_cast<double>(trips);
    }
    case Metric::cost_usd:
      return cost_upper / 1e6;
    case Metric::cost_ratio: {
      const std::int64_t plan = (primary_plan != nullptr ? *primary_plan : run).plan_cost_micro_usd;
      if (plan == 0) return cost_upper == 0.0 ? 0.0 : kNever;
      return 100.0 * cost_upper / static_cast<double>(plan);
    }
  }
  FAILOVER_ASSERT(false);
  return 0.0;
}

std::string format_metric(Metric metric, double value) {
  if (std::isinf(value)) {
    const bool timed =
        metric == Metric::overflow_at || metric == Metric::failover_time || metric == Metric::recovery_time;
    if (timed) return "never";
    if (metric >= Metric::latency_p50 && metric <= Metric::latency_p999) return "n/a (nothing succeeded)";
    return "unbounded";
  }
  switch (metric) {
    case Metric::availability:
    case Metric::cost_ratio:
      return printf_text("%.3f%%", value);
    case Metric::dropped:
    case Metric::failed:
    case Metric::breaker_trips:
      return printf_text("%.0f", value);
    case Metric::overflow_at:
      return printf_text("%.1f min", value);
    case Metric::failover_time:
    case Metric::recovery_time:
      return printf_text("%.0f s", value);
    case Metric::latency_p50:
    case Metric::latency_p90:
    case Metric::latency_p99:
    case Metric::latency_p999:
      // In the unit that reads best, as the report prints it: "29.4 min", not "1761608 ms".
      return report::latency_text(std::llround(value * 1'000.0));
    case Metric::attempts_per_request:
      return printf_text("%.3f", value);
    case Metric::cost_usd:
      return printf_text("$%.2f", value);
  }
  FAILOVER_ASSERT(false);
  return {};
}

std::string expected_text(const Expectation& e) {
  switch (e.bound) {
    case Bound::at_least:
      return ">= " + format_metric(e.metric, e.lo);
    case Bound::at_most:
      return "<= " + format_metric(e.metric, e.hi);
    case Bound::between:
      return "between " + format_metric(e.metric, e.lo) + " and " + format_metric(e.metric, e.hi);
    case Bound::none_:
      return "never";
  }
  FAILOVER_ASSERT(false);
  return {};
}

CheckResult check_expectation(const Expectation& e, const Scenario& scenario, const PolicyResult& policy) {
  FAILOVER_ASSERT(!policy.runs.empty());
  FAILOVER_ASSERT(policy.name == e.policy);
  std::size_t worst = 0;
  double worst_value = 0.0;
  double worst_badness = -kNever;
  bool all_pass = true;
  for (std::size_t i = 0; i < policy.runs.size(); ++i) {
    const double v = metric_value(e.metric, scenario, policy.runs[i], nullptr);
    const double b = badness(e, v);
    all_pass = all_pass && passes(e, v);
    if (i == 0 || b > worst_badness) {
      worst = i;
      worst_value = v;
      worst_badness = b;
    }
  }
  CheckResult c;
  c.policy = e.policy;
  c.metric = std::string(metric_name(e.metric));
  c.expected = expected_text(e);
  c.worst_seed = policy.runs[worst].seed;
  c.measured = format_metric(e.metric, worst_value);
  if (e.metric == Metric::cost_usd || e.metric == Metric::cost_ratio) c.measured += " incl. possibly billed";
  c.measured += " (seed " + std::to_string(c.worst_seed) + ")";
  c.passed = all_pass;
  FAILOVER_ASSERT(!all_pass || passes(e, worst_value));
  return c;
}

ScenarioResult run_scenario(const Scenario& scenario, const ParallelFor& parallel_for) {
  FAILOVER_ASSERT(!scenario.policies.empty());
  FAILOVER_ASSERT(!scenario.seeds.empty());
  const std::size_t seeds = scenario.seeds.size();
  const std::size_t count = scenario.policies.size() * seeds;
  std::vector<RunResult> runs(count);
  const std::function<void(std::size_t)> task = [&](std::size_t i) {
    FAILOVER_ASSERT(i < count);
    runs[i] = run_simulation(scenario.run_spec(scenario.policies[i / seeds], scenario.seeds[i % seeds]));
  };
  if (parallel_for) {
    parallel_for(count, task);
  } else {
    for (std::size_t i = 0; i < count; ++i) task(i);
  }
  ScenarioResult result;
  result.scenario = &scenario;
  for (std::size_t p = 0; p < scenario.policies.size(); ++p) {
    PolicyResult& pr = result.policies.emplace_back();
    pr.name = scenario.policies[p].name;
    pr.description = scenario.policies[p].description;
    for (std::size_t s = 0; s < seeds; ++s) {
      RunResult& run = runs[p * seeds + s];
      FAILOVER_ASSERT(!run.digest.empty());  // every task ran
      FAILOVER_ASSERT(run.seed == scenario.seeds[s]);
      result.conserved = result.conserved && run.conserved;
      if (result.violation.empty() && !run.violation.empty()) {
        result.violation = pr.name + " seed " + std::to_string(run.seed) + ": " + run.violation;
      }
      pr.runs.push_back(std::move(run));
    }
  }
  for (const Expectation& e : scenario.expectations) {
    const auto it = std::find_if(result.policies.begin(), result.policies.end(),
                                 [&](const PolicyResult& p) { return p.name == e.policy; });
    FAILOVER_ASSERT(it != result.policies.end());  // the loader checked the name
    result.checks.push_back(check_expectation(e, scenario, *it));
  }
  return result;
}

}  // namespace failover::sim
