// The console tables of `failover run` (run_report.h): fixed-width columns for a
// terminal, written with printf formats so that the text is the same on every machine.
#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/engine/assert.h"
#include "sim/report_format.h"
#include "sim/run_report.h"

namespace failover::sim {
namespace {

// Appends printf-formatted text.
[[gnu::format(printf, 2, 3)]] void appendf(std::string& out, const char* format, ...) {
  char buf[512];
  std::va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  va_end(args);
  FAILOVER_ASSERT(n >= 0);
  if (static_cast<std::size_t>(n) < sizeof buf) {
    out += buf;
    return;
  }
  std::vector<char> big(static_cast<std::size_t>(n) + 1);  // a long policy or metric name
  va_start(args, format);
  std::vsnprintf(big.data(), big.size(), format, args);
  va_end(args);
  out += big.data();
}

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string dollars(std::int64_t micro_usd) {
  return fmt("$%.2f", static_cast<double>(micro_usd) / 1e6);
}

// The lower median (an actual run's value), as the Markdown report takes it.
struct Spread {
  double min = 0.0;
  double median = 0.0;
  double max = 0.0;
};

Spread spread(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return {};
  return {values.front(), values[(values.size() - 1) / 2], values.back()};
}

Spread metric_spread(const Scenario& s, const PolicyResult& p, Metric metric) {
  std::vector<double> values;
  for (const RunResult& run : p.runs) values.push_back(metric_value(metric, s, run, nullptr));
  return spread(std::move(values));
}

// The policy column: wide enough for the longest name.
int policy_width(const ScenarioResult& r) {
  std::size_t width = 14;
  for (const PolicyResult& p : r.policies) width = std::max(width, p.name.size());
  return static_cast<int>(std::min<std::size_t>(width, 64));
}

void policy_table(std::string& out, const ScenarioResult& r) {
  const Scenario& s = *r.scenario;
  const int w = policy_width(r);
  appendf(out, "\n%-*s %8s %12s %8s %11s %9s %9s %9s %6s %21s %9s\n", w, "policy", "seed", "availability", "dropped",
          "overflow at", "p50", "p99", "att/req", "trips", "cost (sure..max)", "vs plan");
  for (const PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      const auto m = [&](Metric metric) { return metric_value(metric, s, run, nullptr); };
      const double over = run.overflow_at ? m(Metric::overflow_at) : 0.0;
      const std::string overflow = !run.overflow_at ? "never"
                                   : over < 0.0     ? fmt("%.1f min before", -over)
                                                    : fmt("+%.1f min", over);
      const std::string cost =
          dollars(run.cost_micro_usd) + ".." + dollars(run.cost_micro_usd + run.possibly_billed_micro_usd);
      appendf(out, "%-*s %8llu %12s %8lld %11s %9s %9s %9.3f %6.0f %21s %9s\n", w, p.name.c_str(),
              static_cast<unsigned long long>(run.seed), fmt("%.3f%%", m(Metric::availability)).c_str(),
              static_cast<long long>(run.dropped), overflow.c_str(),
              format_metric(Metric::latency_p50, m(Metric::latency_p50)).c_str(),
              format_metric(Metric::latency_p99, m(Metric::latency_p99)).c_str(), m(Metric::attempts_per_request),
              m(Metric::breaker_trips), cost.c_str(), format_metric(Metric::cost_ratio, m(Metric::cost_ratio)).c_str());
    }
  }
}

// Across seeds, per policy: min / median / max of the figures that vary most.
void summary_table(std::string& out, const ScenarioResult& r) {
  const Scenario& s = *r.scenario;
  if (s.seeds.size() < 2) return;
  appendf(out, "\nacross %zu seeds, min / median / max:\n", s.seeds.size());
  const int w = policy_width(r);
  appendf(out, "%-*s %-32s %-22s %-32s %s\n", w, "policy", "availability", "dropped", "p99", "cost (max)");
  const auto triple = [](Metric metric, const Spread& v) {
    return format_metric(metric, v.min) + " / " + format_metric(metric, v.median) + " / " +
           format_metric(metric, v.max);
  };
  for (const PolicyResult& p : r.policies) {
    std::vector<double> cost;
    for (const RunResult& run : p.runs)
      cost.push_back(static_cast<double>(run.cost_micro_usd + run.possibly_billed_micro_usd));
    const Spread c = spread(std::move(cost));
    const auto money = [](double micro) { return dollars(static_cast<std::int64_t>(micro)); };
    appendf(out, "%-*s %-32s %-22s %-32s %s\n", w, p.name.c_str(),
            triple(Metric::availability, metric_spread(s, p, Metric::availability)).c_str(),
            triple(Metric::dropped, metric_spread(s, p, Metric::dropped)).c_str(),
            triple(Metric::latency_p99, metric_spread(s, p, Metric::latency_p99)).c_str(),
            (money(c.min) + " / " + money(c.median) + " / " + money(c.max)).c_str());
  }
}

void checks_table(std::string& out, const ScenarioResult& r) {
  const int w = policy_width(r);
  appendf(out, "\n%-4s  %-*s %-22s %-32s %s\n", "", w, "policy", "metric", "expected", "measured (worst seed)");
  for (const CheckResult& c : r.checks) {
    appendf(out, "%-4s  %-*s %-22s %-32s %s\n", c.passed ? "PASS" : "FAIL", w, c.policy.c_str(), c.metric.c_str(),
            c.expected.c_str(), c.measured.c_str());
  }
  if (r.checks.empty()) out += "(no expectations)\n";
}

void runs_table(std::string& out, const ScenarioResult& r, const std::vector<double>& wall_seconds) {
  const int w = policy_width(r);
  appendf(out, "\n%-*s %8s %-16s %10s %10s %10s %12s %s\n", w, "policy", "seed", "digest", "requests", "events", "wall",
          "sim x real", "conserved");
  const double sim_seconds = static_cast<double>(to_us(r.scenario->duration)) / 1e6;
  std::size_t i = 0;
  for (const PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      const double wall = wall_seconds.at(i++);
      appendf(out, "%-*s %8llu %-16s %10lld %10llu %10s %12s %s\n", w, p.name.c_str(),
              static_cast<unsigned long long>(run.seed), run.digest.c_str(), static_cast<long long>(run.arrived),
              static_cast<unsigned long long>(run.events), fmt("%.3f s", wall).c_str(),
              wall > 0 ? fmt("%.0fx", sim_seconds / wall).c_str() : "-", run.conserved ? "yes" : "NO");
    }
  }
}

}  // namespace

std::string scenario_heading(const Scenario& scenario) {
  std::string seeds;
  for (const std::uint64_t seed : scenario.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
  return "scenario: " + scenario.name + " -- " + scenario.title + "\nfile: " + scenario.path + "\nseeds: " + seeds +
         "\n";
}

std::string scenario_tables(const ScenarioRun& run) {
  FAILOVER_ASSERT(run.result.scenario != nullptr);
  FAILOVER_ASSERT(run.wall_seconds.size() == report::runs_total(run.result));
  std::string out;
  policy_table(out, run.result);
  summary_table(out, run.result);
  checks_table(out, run.result);
  runs_table(out, run.result, run.wall_seconds);
  return out;
}

}  // namespace failover::sim
