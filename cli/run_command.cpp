// `failover run PATH...`: loads every scenario named (a folder stands for the *.toml
// files in it, sorted by name), runs every policy on every seed of each, prints per
// scenario the seeds, the policies side by side (and a min/median/max summary across
// seeds), the expectations and each run's digest and wall time, optionally checks
// determinism, and writes the reports: one folder of per-scenario reports
// (--report-dir), one JSON document over every scenario (--json) and one JUnit XML file
// with a test suite per scenario (--junit). Wall time is read here, in cli/, never in
// sim/; apart from wall times every output is the same whatever --jobs is. Exit code: 0
// when every scenario passes (every expectation, every run conserving its requests,
// and the determinism check when asked), 1 otherwise, 2 on a usage error, a scenario
// that does not load or an output that cannot be written.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/parallel.h"
#include "sim/expect.h"
#include "sim/report.h"
#include "sim/report_format.h"
#include "sim/scenario_load.h"
#include "sim/trace.h"

namespace failover::cli {
namespace {

using sim::Metric;
using sim::report::json_string;
using sim::RunResult;
using sim::RunSpec;

struct RunOptions {
  std::vector<std::string> paths;
  std::vector<std::uint64_t> seeds;  // --seed, repeatable
  std::size_t seed_count = 0;        // --seeds N: seeds 1..N; 0: not given
  std::vector<std::string> policies;
  std::string report_dir;            // --report-dir (alias --out)
  std::string json_file;             // "-": stdout
  std::string junit_file;            // "-": stdout
  bool check_determinism = false;
  int jobs = 1;
};

constexpr std::size_t kTraceEventsKept = 2'000'000;

// ---- formatting --------------------------------------------------------------------

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string usd(std::int64_t micro_usd) { return fmt("$%.2f", static_cast<double>(micro_usd) / 1e6); }

// value / 10^scale written exactly from the integer: decimal(1'234'500, 6) == "1.234500".
std::string decimal(std::int64_t value, int scale) {
  const bool negative = value < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::string digits = std::to_string(magnitude);
  const auto width = static_cast<std::size_t>(scale);
  if (digits.size() <= width) digits.insert(0, width + 1 - digits.size(), '0');
  if (width > 0) digits.insert(digits.size() - width, ".");
  return (negative ? "-" : "") + digits;
}

// A finite value with `digits` decimals; what never happened (+infinity) is null.
std::string json_fixed(double v, int digits) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string json_fixed(std::optional<double> v, int digits) {
  return v ? json_fixed(*v, digits) : "null";
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c; break;
    }
  }
  return out;
}

// ---- selecting the scenarios, policies and seeds -------------------------------------

void replace_seeds(sim::Scenario& s, const RunOptions& o) {
  if (o.seed_count > 0) {
    s.seeds.clear();
    for (std::uint64_t seed = 1; seed <= o.seed_count; ++seed) s.seeds.push_back(seed);
  } else if (!o.seeds.empty()) {
    s.seeds.clear();
    for (const std::uint64_t seed : o.seeds) {
      if (std::find(s.seeds.begin(), s.seeds.end(), seed) == s.seeds.end()) s.seeds.push_back(seed);
    }
  }
}

// Keeps the policies asked for with --policy in every scenario; expectations about a
// policy left out are left out too. A name no scenario runs, or a scenario left with no
// policy, is an error (said on stderr; returns false).
bool select_policies(std::vector<sim::Scenario>& scenarios, const RunOptions& o) {
  if (o.policies.empty()) return true;
  bool ok = true;
  for (const std::string& name : o.policies) {
    const bool somewhere = std::any_of(scenarios.begin(), scenarios.end(), [&](const sim::Scenario& s) { return s.find_policy(name) != nullptr; });
    if (somewhere) continue;
    std::string names;
    for (const sim::NamedPolicy& p : scenarios.front().policies) names += (names.empty() ? "" : ", ") + p.name;
    std::fprintf(stderr, "error: --policy %s: %s runs no such policy (%s runs: %s)\n", name.c_str(),
                 scenarios.size() == 1 ? "the scenario" : "no scenario", scenarios.front().path.c_str(), names.c_str());
    ok = false;
  }
  if (!ok) return false;
  const auto unwanted = [&](const std::string& name) { return std::find(o.policies.begin(), o.policies.end(), name) == o.policies.end(); };
  for (sim::Scenario& s : scenarios) {
    std::erase_if(s.policies, [&](const sim::NamedPolicy& p) { return unwanted(p.name); });
    std::erase_if(s.expectations, [&](const sim::Expectation& e) { return unwanted(e.policy); });
    if (s.policies.empty()) {
      std::fprintf(stderr, "error: %s: runs none of the policies given with --policy\n", s.path.c_str());
      ok = false;
    }
  }
  return ok;
}

// Loads every file (reporting every load error, not just the first file's), applies the
// seed and policy selection and refuses two scenarios of the same name (their reports
// would overwrite each other). Empty after saying why on stderr.
std::optional<std::vector<sim::Scenario>> load_scenarios(const RunOptions& o) {
  const std::optional<std::vector<std::string>> files = scenario_files(o.paths);
  if (!files) return std::nullopt;
  std::vector<sim::Scenario> scenarios;
  bool ok = true;
  for (const std::string& file : *files) {
    Result<sim::Scenario> loaded = sim::load_scenario_file(file);
    if (!loaded) {
      std::fprintf(stderr, "error: %s\n", loaded.error().message().c_str());
      ok = false;
      continue;
    }
    scenarios.push_back(std::move(*loaded));
  }
  if (!ok) return std::nullopt;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (scenarios[i].name != scenarios[j].name) continue;
      std::fprintf(stderr, "error: %s and %s are both scenario \"%s\": give one another name\n", scenarios[j].path.c_str(),
                   scenarios[i].path.c_str(), scenarios[i].name.c_str());
      ok = false;
    }
  }
  if (!ok || !select_policies(scenarios, o)) return std::nullopt;
  for (sim::Scenario& s : scenarios) replace_seeds(s, o);
  return scenarios;
}

// ---- running -----------------------------------------------------------------------

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

Spread metric_spread(const sim::Scenario& s, const sim::PolicyResult& p, Metric metric) {
  std::vector<double> values;
  for (const RunResult& run : p.runs) values.push_back(sim::metric_value(metric, s, run, nullptr));
  return spread(std::move(values));
}

// ---- the table -------------------------------------------------------------------

// The policy column: wide enough for the longest name.
int policy_width(const sim::ScenarioResult& r) {
  std::size_t width = 14;
  for (const sim::PolicyResult& p : r.policies) width = std::max(width, p.name.size());
  return static_cast<int>(std::min<std::size_t>(width, 64));
}

void print_policy_table(std::FILE* out, const sim::ScenarioResult& r) {
  const sim::Scenario& s = *r.scenario;
  const int w = policy_width(r);
  std::fprintf(out, "\n%-*s %8s %12s %8s %11s %9s %9s %9s %6s %21s %9s\n", w, "policy", "seed", "availability", "dropped",
               "overflow at", "p50", "p99", "att/req", "trips", "cost (sure..max)", "vs plan");
  for (const sim::PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      const auto m = [&](Metric metric) { return sim::metric_value(metric, s, run, nullptr); };
      const std::string overflow = run.overflow_at ? fmt("+%.1f min", m(Metric::overflow_at)) : "never";
      const std::string cost = usd(run.cost_micro_usd) + ".." + usd(run.cost_micro_usd + run.possibly_billed_micro_usd);
      std::fprintf(out, "%-*s %8llu %12s %8lld %11s %9s %9s %9.3f %6.0f %21s %9s\n", w, p.name.c_str(),
                   static_cast<unsigned long long>(run.seed), fmt("%.3f%%", m(Metric::availability)).c_str(),
                   static_cast<long long>(run.dropped), overflow.c_str(),
                   sim::format_metric(Metric::latency_p50, m(Metric::latency_p50)).c_str(),
                   sim::format_metric(Metric::latency_p99, m(Metric::latency_p99)).c_str(), m(Metric::attempts_per_request),
                   m(Metric::breaker_trips), cost.c_str(), sim::format_metric(Metric::cost_ratio, m(Metric::cost_ratio)).c_str());
    }
  }
}

// Across seeds, per policy: min / median / max of the figures that vary most.
void print_summary(std::FILE* out, const sim::ScenarioResult& r) {
  const sim::Scenario& s = *r.scenario;
  if (s.seeds.size() < 2) return;
  std::fprintf(out, "\nacross %zu seeds, min / median / max:\n", s.seeds.size());
  const int w = policy_width(r);
  std::fprintf(out, "%-*s %-32s %-22s %-32s %s\n", w, "policy", "availability", "dropped", "p99", "cost (max)");
  const auto triple = [](Metric metric, const Spread& v) {
    return sim::format_metric(metric, v.min) + " / " + sim::format_metric(metric, v.median) + " / " +
           sim::format_metric(metric, v.max);
  };
  for (const sim::PolicyResult& p : r.policies) {
    std::vector<double> cost;
    for (const RunResult& run : p.runs) cost.push_back(static_cast<double>(run.cost_micro_usd + run.possibly_billed_micro_usd));
    const Spread c = spread(std::move(cost));
    const auto money = [](double micro) { return usd(static_cast<std::int64_t>(micro)); };
    std::fprintf(out, "%-*s %-32s %-22s %-32s %s\n", w, p.name.c_str(),
                 triple(Metric::availability, metric_spread(s, p, Metric::availability)).c_str(),
                 triple(Metric::dropped, metric_spread(s, p, Metric::dropped)).c_str(),
                 triple(Metric::latency_p99, metric_spread(s, p, Metric::latency_p99)).c_str(),
                 (money(c.min) + " / " + money(c.median) + " / " + money(c.max)).c_str());
  }
}

void print_checks(std::FILE* out, const sim::ScenarioResult& r) {
  const int w = policy_width(r);
  std::fprintf(out, "\n%-4s  %-*s %-22s %-32s %s\n", "", w, "policy", "metric", "expected", "measured (worst seed)");
  for (const sim::CheckResult& c : r.checks) {
    std::fprintf(out, "%-4s  %-*s %-22s %-32s %s\n", c.passed ? "PASS" : "FAIL", w, c.policy.c_str(), c.metric.c_str(),
                 c.expected.c_str(), c.measured.c_str());
  }
  if (r.checks.empty()) std::fprintf(out, "(no expectations)\n");
}

void print_runs(std::FILE* out, const sim::ScenarioResult& r, const std::vector<double>& wall_seconds) {
  const int w = policy_width(r);
  std::fprintf(out, "\n%-*s %8s %-16s %10s %10s %10s %12s %s\n", w, "policy", "seed", "digest", "requests", "events", "wall",
               "sim x real", "conserved");
  const double sim_seconds = static_cast<double>(to_us(r.scenario->duration)) / 1e6;
  std::size_t i = 0;
  for (const sim::PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      const double wall = wall_seconds.at(i++);
      std::fprintf(out, "%-*s %8llu %-16s %10lld %10llu %10s %12s %s\n", w, p.name.c_str(),
                   static_cast<unsigned long long>(run.seed), run.digest.c_str(), static_cast<long long>(run.arrived),
                   static_cast<unsigned long long>(run.events), fmt("%.3f s", wall).c_str(),
                   wall > 0 ? fmt("%.0fx", sim_seconds / wall).c_str() : "-", run.conserved ? "yes" : "NO");
    }
  }
}

// ---- JSON (format "failover-run/1") --------------------------------------------------

std::string json_run(const sim::Scenario& s, const std::string& policy, const RunResult& run, double wall) {
  const auto m = [&](Metric metric, int digits) { return json_fixed(sim::metric_value(metric, s, run, nullptr), digits); };
  std::string o = "{\"scenario\": " + json_string(s.name) + ", \"policy\": " + json_string(policy);
  o += ", \"seed\": " + std::to_string(run.seed) + ", \"digest\": " + json_string(run.digest);
  o += ", \"sim\": {\"requests\": " + std::to_string(run.arrived) + ", \"events\": " + std::to_string(run.events) +
       ", \"wall_seconds\": " + json_fixed(wall, 6) + "}";
  o += ", \"conserved\": " + std::string(run.conserved ? "true" : "false");
  o += ", \"availability\": " + json_fixed(run.availability(), 6);
  o += ", \"arrived\": " + std::to_string(run.arrived) + ", \"succeeded\": " + std::to_string(run.succeeded);
  o += ", \"failed\": " + std::to_string(run.failed) + ", \"dropped\": " + std::to_string(run.dropped);
  o += ", \"in_flight_end\": " + std::to_string(run.in_flight_end);
  o += ", \"overflow_at_seconds\": " + (run.overflow_at ? decimal(to_us(*run.overflow_at), 6) : std::string("null"));
  o += ", \"peak_queue\": " + std::to_string(run.held_peak);
  o += ", \"time_to_failover_seconds\": " + json_fixed(sim::failover_seconds(s, run), 3);
  o += ", \"recovery_seconds\": " + json_fixed(sim::recovery_seconds(s, run), 3);
  o += ", \"latency_ms\": {\"p50\": " + m(Metric::latency_p50, 3) + ", \"p90\": " + m(Metric::latency_p90, 3) +
       ", \"p99\": " + m(Metric::latency_p99, 3) + ", \"p999\": " + m(Metric::latency_p999, 3) + "}";
  o += ", \"attempts_per_request\": " + m(Metric::attempts_per_request, 6);
  o += ", \"breaker_trips\": " + m(Metric::breaker_trips, 0);
  o += ", \"cost_usd\": " + decimal(run.cost_micro_usd, 6);
  o += ", \"possibly_billed_usd\": " + decimal(run.possibly_billed_micro_usd, 6);
  o += ", \"plan_cost_usd\": " + decimal(run.plan_cost_micro_usd, 6) + "}";
  return o;
}

std::string json_spread(const Spread& v, int digits) {
  return "{\"min\": " + json_fixed(v.min, digits) + ", \"median\": " + json_fixed(v.median, digits) +
         ", \"max\": " + json_fixed(v.max, digits) + "}";
}

std::string json_summary(const sim::Scenario& s, const sim::PolicyResult& p) {
  const auto field = [&](double (*value)(const sim::Scenario&, const RunResult&), int digits) {
    std::vector<double> values;
    for (const RunResult& run : p.runs) values.push_back(value(s, run));
    return json_spread(spread(std::move(values)), digits);
  };
  const auto metric = [&](Metric m, int digits) { return json_spread(metric_spread(s, p, m), digits); };
  std::string o = "{\"policy\": " + json_string(p.name) + ", \"seeds\": " + std::to_string(p.runs.size());
  o += ", \"availability\": " + field([](const sim::Scenario&, const RunResult& r) { return r.availability(); }, 6);
  o += ", \"dropped\": " + metric(Metric::dropped, 0);
  o += ", \"peak_queue\": " + field([](const sim::Scenario&, const RunResult& r) { return static_cast<double>(r.held_peak); }, 0);
  o += ", \"time_to_failover_seconds\": " +
       field([](const sim::Scenario& sc, const RunResult& r) {
         return sim::failover_seconds(sc, r).value_or(std::numeric_limits<double>::infinity());
       }, 3);
  o += ", \"latency_p99_ms\": " + metric(Metric::latency_p99, 3);
  o += ", \"attempts_per_request\": " + metric(Metric::attempts_per_request, 6);
  o += ", \"cost_usd\": " + field([](const sim::Scenario&, const RunResult& r) { return static_cast<double>(r.cost_micro_usd) / 1e6; }, 6);
  return o + "}";
}

// One scenario's entry in the document's "scenarios" list.
std::string json_scenario(const sim::ScenarioResult& r, const std::vector<double>& wall_seconds, bool passed,
                          std::optional<bool> deterministic) {
  const sim::Scenario& s = *r.scenario;
  std::string o = "    {\n      \"scenario\": " + json_string(s.name) + ",\n      \"title\": " + json_string(s.title) +
                  ",\n      \"path\": " + json_string(s.path) + ",\n      \"seeds\": [";
  for (std::size_t i = 0; i < s.seeds.size(); ++i) o += (i ? ", " : "") + std::to_string(s.seeds[i]);
  o += "],\n      \"passed\": " + std::string(passed ? "true" : "false");
  o += ",\n      \"conserved\": " + std::string(r.conserved ? "true" : "false");
  o += ",\n      \"deterministic\": " + std::string(!deterministic ? "null" : *deterministic ? "true" : "false");
  o += ",\n      \"runs\": [";
  std::size_t k = 0;
  for (const sim::PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      o += std::string(k == 0 ? "" : ",") + "\n        " + json_run(s, p.name, run, wall_seconds.at(k));
      ++k;
    }
  }
  o += std::string(k ? "\n      " : "") + "],\n      \"summary\": [";
  for (std::size_t i = 0; i < r.policies.size(); ++i) o += std::string(i ? "," : "") + "\n        " + json_summary(s, r.policies[i]);
  o += std::string(r.policies.empty() ? "" : "\n      ") + "],\n      \"expectations\": [";
  for (std::size_t i = 0; i < r.checks.size(); ++i) {
    const sim::CheckResult& c = r.checks[i];
    o += std::string(i ? "," : "") + "\n        {\"name\": " + json_string(c.policy + ": " + c.metric + " " + c.expected) +
         ", \"policy\": " + json_string(c.policy) + ", \"metric\": " + json_string(c.metric) +
         ", \"expected\": " + json_string(c.expected) + ", \"measured\": " + json_string(c.measured) +
         ", \"worst_seed\": " + std::to_string(c.worst_seed) + ", \"pass\": " + (c.passed ? "true" : "false") + "}";
  }
  return o + (r.checks.empty() ? "" : "\n      ") + "]\n    }";
}

// ---- JUnit: one <testsuite> per scenario under one <testsuites> ----------------------

struct JunitSuite {
  std::string xml;
  std::size_t tests = 0;
  std::size_t failures = 0;
};

// report_junit's suite for the scenario (its properties, a testcase per expectation and
// the conservation testcase), plus a "determinism" testcase when it was checked.
JunitSuite junit_suite(const sim::ScenarioResult& r, std::optional<bool> deterministic) {
  const std::string doc = sim::report_junit(r);
  const std::string name = xml_escape(r.scenario->name);
  const std::size_t open = doc.find("  <testsuite ");
  const std::size_t body = open == std::string::npos ? std::string::npos : doc.find('\n', open);
  const std::size_t close = doc.rfind("  </testsuite>");
  std::string cases = body == std::string::npos || close == std::string::npos || close < body ? std::string()
                                                                                               : doc.substr(body + 1, close - body - 1);
  bool conserved = r.conserved;
  for (const sim::PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) conserved = conserved && run.conserved;
  }
  JunitSuite suite;
  suite.tests = r.checks.size() + 1;
  suite.failures = static_cast<std::size_t>(std::count_if(r.checks.begin(), r.checks.end(), [](const sim::CheckResult& c) { return !c.passed; }));
  suite.failures += conserved ? 0 : 1;
  if (deterministic) {
    ++suite.tests;
    cases += "    <testcase classname=\"" + name + "\" name=\"determinism\" time=\"0\"";
    if (*deterministic) {
      cases += "/>\n";
    } else {
      ++suite.failures;
      cases += ">\n      <failure type=\"determinism\" message=\"expected the same digest when every run is repeated, "
               "measured a difference (see the command's stderr)\"/>\n    </testcase>\n";
    }
  }
  suite.xml = "  <testsuite name=\"" + name + "\" tests=\"" + std::to_string(suite.tests) + "\" failures=\"" +
              std::to_string(suite.failures) + "\" errors=\"0\" skipped=\"0\" time=\"0\">\n" + cases + "  </testsuite>\n";
  return suite;
}

std::string junit_document(const std::vector<JunitSuite>& suites) {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::string body;
  for (const JunitSuite& s : suites) {
    tests += s.tests;
    failures += s.failures;
    body += s.xml;
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"failover\" tests=\"" + std::to_string(tests) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"0\" time=\"0\">\n" + body + "</testsuites>\n";
}

// ---- determinism -----------------------------------------------------------------

const char* trace_kind_name(std::uint32_t kind) {
  static constexpr const char* kNames[] = {"?", "arrival", "dropped_full", "send", "first_byte", "response",
                                           "cancel", "complete", "requeue", "charge", "breaker"};
  return kind < std::size(kNames) ? kNames[kind] : "?";
}

std::string describe(const std::optional<sim::TraceEvent>& e) {
  if (!e) return "(no event)";
  return std::string(trace_kind_name(e->kind)) + " at " + std::to_string(to_us(e->at)) + " us (a=" + std::to_string(e->a) +
         ", b=" + std::to_string(e->b) + ")";
}

// Runs every (policy, seed) twice more with a trace recorder, on up to `jobs` threads,
// and compares the traces with each other and the digests with the main run's.
// Differences go to stderr, in task order whatever `jobs` is.
bool check_determinism(std::FILE* out, const sim::ScenarioResult& r, int jobs) {
  const sim::Scenario& s = *r.scenario;
  const std::size_t seeds = s.seeds.size();
  std::vector<std::string> problems(s.policies.size() * seeds);
  std::vector<double> unused;
  timed_parallel_for(jobs, unused)(problems.size(), [&](std::size_t task) {
    const std::size_t p = task / seeds;
    const std::size_t i = task % seeds;
    const RunSpec spec = s.run_spec(s.policies[p], s.seeds[i]);
    sim::TraceRecorder left(kTraceEventsKept);
    sim::TraceRecorder right(kTraceEventsKept);
    const RunResult a = sim::run_simulation(spec, &left);
    const RunResult b = sim::run_simulation(spec, &right);
    const std::string& first = r.policies[p].runs[i].digest;
    if (a.digest == b.digest && a.digest == first) return;
    std::string& m = problems[task];
    m = "NOT DETERMINISTIC: " + s.name + ", policy " + s.policies[p].name + ", seed " + std::to_string(s.seeds[i]) +
        ": digests " + first + ", " + a.digest + ", " + b.digest + "\n";
    if (const std::optional<sim::Divergence> d = sim::first_divergence(left, right)) {
      m += "  first diverging event #" + std::to_string(d->index) + ": " + describe(d->left) + " vs " + describe(d->right) + "\n";
    } else {
      m += "  the two recorded runs agree; the first run differed from both\n";
    }
  });
  bool same = true;
  for (const std::string& m : problems) {
    if (m.empty()) continue;
    same = false;
    std::fputs(m.c_str(), stderr);
  }
  if (same) std::fprintf(out, "\ndeterminism: every run repeated twice with the same digest\n");
  return same;
}

// ---- the command -----------------------------------------------------------------

// An output file opened before anything runs (so that a bad path fails at once), or
// stdout for "-".
class OutputFile {
 public:
  bool open(const std::string& path, const char* flag) {
    path_ = path;
    if (path.empty() || path == "-") return true;
    file_.open(path, std::ios::binary | std::ios::trunc);
    if (!file_) std::fprintf(stderr, "error: %s %s: cannot open the file for writing\n", flag, path.c_str());
    return static_cast<bool>(file_);
  }
  [[nodiscard]] bool wanted() const { return !path_.empty(); }
  bool write(const std::string& text) {
    if (path_.empty()) return true;
    if (path_ == "-") return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
    file_.write(text.data(), static_cast<std::streamsize>(text.size()));
    file_.close();
    if (!file_) std::fprintf(stderr, "error: %s: cannot write the file\n", path_.c_str());
    return static_cast<bool>(file_);
  }

 private:
  std::string path_;
  std::ofstream file_;
};

int run(const RunOptions& o) {
  if (o.seeds.size() > sim::kSeedsMax) {
    std::fprintf(stderr, "error: --seed: at most %zu seeds\n", sim::kSeedsMax);
    return 2;
  }
  if (o.json_file == "-" && o.junit_file == "-") {
    std::fprintf(stderr, "error: --json - and --junit - would both write to stdout: give one of them a file\n");
    return 2;
  }
  std::optional<std::vector<sim::Scenario>> scenarios = load_scenarios(o);
  if (!scenarios) return 2;
  OutputFile json;
  OutputFile junit;
  if (!json.open(o.json_file, "--json") || !junit.open(o.junit_file, "--junit")) return 2;
  // The tables go to stdout unless a document does.
  std::FILE* out = o.json_file == "-" || o.junit_file == "-" ? stderr : stdout;

  bool all_passed = true;
  bool written = true;
  std::vector<std::string> failed_names;
  std::string json_scenarios;
  std::vector<JunitSuite> suites;
  for (const sim::Scenario& s : *scenarios) {
    std::string seeds;
    for (const std::uint64_t seed : s.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
    if (&s != &scenarios->front()) std::fprintf(out, "\n");
    std::fprintf(out, "scenario: %s -- %s\nfile: %s\nseeds: %s\n", s.name.c_str(), s.title.c_str(), s.path.c_str(), seeds.c_str());
    std::fflush(out);
    std::vector<double> wall_seconds;
    const sim::ScenarioResult result = sim::run_scenario(s, timed_parallel_for(o.jobs, wall_seconds));
    print_policy_table(out, result);
    print_summary(out, result);
    print_checks(out, result);
    print_runs(out, result, wall_seconds);
    std::fflush(out);
    std::optional<bool> deterministic;
    if (o.check_determinism) deterministic = check_determinism(out, result, o.jobs);
    const bool passed = result.passed() && deterministic.value_or(true);
    if (!o.report_dir.empty()) {
      const Status status = sim::write_reports(result, o.report_dir);
      if (!status) {
        std::fprintf(stderr, "error: %s\n", status.error().message().c_str());
        written = false;
      } else {
        std::fprintf(out, "report written to %s\n", o.report_dir.c_str());
      }
    }
    if (json.wanted()) json_scenarios += (json_scenarios.empty() ? "\n" : ",\n") + json_scenario(result, wall_seconds, passed, deterministic);
    if (junit.wanted()) suites.push_back(junit_suite(result, deterministic));
    if (!result.violation.empty()) std::fprintf(out, "\ninvariant broken: %s\n", result.violation.c_str());
    std::fprintf(out, "\n%s: %s\n", s.name.c_str(),
                 passed ? "PASS"
                        : (!result.conserved           ? "FAIL (a run lost requests)"
                           : !result.violation.empty() ? "FAIL (a liveness invariant broke)"
                                                       : "FAIL"));
    if (!passed) failed_names.push_back(s.name);
    all_passed = all_passed && passed;
    std::fflush(out);
  }
  if (scenarios->size() > 1) {
    std::string names;
    for (const std::string& n : failed_names) names += (names.empty() ? " (" : ", ") + n;
    std::fprintf(out, "\n%zu scenarios: %zu passed, %zu failed%s\n", scenarios->size(), scenarios->size() - failed_names.size(),
                 failed_names.size(), names.empty() ? "" : (names + ")").c_str());
  }
  if (json.wanted()) {
    const std::string doc = "{\n  \"format\": \"failover-run/1\",\n  \"passed\": " + std::string(all_passed ? "true" : "false") +
                            ",\n  \"scenarios\": [" + json_scenarios + (json_scenarios.empty() ? "" : "\n  ") + "]\n}\n";
    written = json.write(doc) && written;
  }
  if (junit.wanted()) written = junit.write(junit_document(suites)) && written;
  std::fflush(out);
  if (!written) return 2;
  return all_passed ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Replay outage scenarios: the policy under test and its baselines, side by side");
  cmd->add_option("PATH", o->paths, "scenario file, or folder of *.toml scenarios run in name order (schema: docs/scenarios.md)")
      ->required();
  CLI::Option* seed = cmd->add_option("--seed", o->seeds, "run this seed instead of the scenario's (repeatable)")
                          ->allow_extra_args(false);
  cmd->add_option("--seeds", o->seed_count, "run seeds 1..N instead of the scenario's")
      ->check(CLI::Range(std::size_t{1}, sim::kSeedsMax))
      ->excludes(seed);
  cmd->add_option("--policy", o->policies, "run only this policy (repeatable; its expectations only)")->allow_extra_args(false);
  cmd->add_option("--report-dir,--out", o->report_dir,
                  "write each scenario's report (Markdown, SVG charts, JSON, JUnit XML) into DIR");
  cmd->add_option("--json", o->json_file, "write every scenario's results as one JSON document to FILE (- for stdout)");
  cmd->add_option("--junit", o->junit_file, "write one JUnit XML file, a test suite per scenario, to FILE (- for stdout)");
  cmd->add_option("--jobs", o->jobs, "runs at once on this many threads (results do not depend on it)")->check(CLI::Range(1, 256));
  cmd->add_flag("--check-determinism", o->check_determinism, "run everything twice more with a trace and compare");
  cmd->callback([o] { set_exit_code(run(*o)); });
}

}  // namespace failover::cli
