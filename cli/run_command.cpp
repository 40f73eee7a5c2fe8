// `failover run SCENARIO.toml`: loads a scenario, runs every policy on every seed,
// prints the seeds, the policies side by side, the expectations and each run's digest
// and wall time, optionally checks determinism and writes the report. Wall time is
// read here, in cli/, never in sim/. Exit code: 0 when every expectation passes and
// every run conserves its requests, 1 otherwise, 2 when the scenario does not load.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "sim/expect.h"
#include "sim/report.h"
#include "sim/scenario_load.h"
#include "sim/trace.h"

namespace failover::cli {
namespace {

using sim::Metric;
using sim::RunResult;
using sim::RunSpec;

struct RunOptions {
  std::string file;
  std::vector<std::uint64_t> seeds;
  std::vector<std::string> policies;
  std::string out;
  bool check_determinism = false;
  bool json = false;
  int jobs = 1;
};

constexpr std::size_t kTraceEventsKept = 2'000'000;

// Keeps the policies and seeds asked for on the command line; expectations about a
// policy left out are left out too. Returns false (after saying why) on an unknown name.
bool select(sim::Scenario& s, const RunOptions& o) {
  if (!o.seeds.empty()) {
    s.seeds.clear();
    for (const std::uint64_t seed : o.seeds) {
      if (std::find(s.seeds.begin(), s.seeds.end(), seed) == s.seeds.end()) s.seeds.push_back(seed);
    }
  }
  if (o.policies.empty()) return true;
  for (const std::string& name : o.policies) {
    if (s.find_policy(name) == nullptr) {
      std::string names;
      for (const sim::NamedPolicy& p : s.policies) names += (names.empty() ? "" : ", ") + p.name;
      std::fprintf(stderr, "error: --policy %s: the scenario runs no such policy (it runs: %s)\n", name.c_str(), names.c_str());
      return false;
    }
  }
  const auto unwanted = [&](const std::string& name) { return std::find(o.policies.begin(), o.policies.end(), name) == o.policies.end(); };
  std::erase_if(s.policies, [&](const sim::NamedPolicy& p) { return unwanted(p.name); });
  std::erase_if(s.expectations, [&](const sim::Expectation& e) { return unwanted(e.policy); });
  return true;
}

// Runs tasks on up to `jobs` threads and records each task's wall time.
sim::ParallelFor timed_parallel_for(int jobs, std::vector<double>& wall_seconds) {
  return [jobs, &wall_seconds](std::size_t count, const std::function<void(std::size_t)>& task) {
    wall_seconds.assign(count, 0.0);
    std::atomic<std::size_t> next{0};
    const auto worker = [&] {
      for (std::size_t i = next++; i < count; i = next++) {
        const auto start = std::chrono::steady_clock::now();
        task(i);
        wall_seconds[i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    };
    const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(std::max(jobs, 1)), count);
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
  };
}

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string usd(std::int64_t micro_usd) { return fmt("$%.2f", static_cast<double>(micro_usd) / 1e6); }

void print_policy_table(const sim::ScenarioResult& r) {
  const sim::Scenario& s = *r.scenario;
  std::printf("\n%-14s %8s %12s %8s %11s %9s %9s %9s %6s %21s %9s\n", "policy", "seed", "availability", "dropped", "overflow at",
              "p50", "p99", "att/req", "trips", "cost (sure..max)", "vs plan");
  for (const sim::PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      const auto m = [&](Metric metric) { return sim::metric_value(metric, s, run, nullptr); };
      const std::string overflow = run.overflow_at ? fmt("+%.1f min", m(Metric::overflow_at)) : "never";
      const std::string cost = usd(run.cost_micro_usd) + ".." + usd(run.cost_micro_usd + run.possibly_billed_micro_usd);
      std::printf("%-14s %8llu %12s %8lld %11s %9s %9s %9.3f %6.0f %21s %9s\n", p.name.c_str(),
                  static_cast<unsigned long long>(run.seed), fmt("%.3f%%", m(Metric::availability)).c_str(),
                  static_cast<long long>(run.dropped), overflow.c_str(),
                  sim::format_metric(Metric::latency_p50, m(Metric::latency_p50)).c_str(),
                  sim::format_metric(Metric::latency_p99, m(Metric::latency_p99)).c_str(), m(Metric::attempts_per_request),
                  m(Metric::breaker_trips), cost.c_str(), sim::format_metric(Metric::cost_ratio, m(Metric::cost_ratio)).c_str());
    }
  }
}

void print_checks(const sim::ScenarioResult& r) {
  std::printf("\n%-4s  %-14s %-22s %-32s %s\n", "", "policy", "metric", "expected", "measured (worst seed)");
  for (const sim::CheckResult& c : r.checks) {
    std::printf("%-4s  %-14s %-22s %-32s %s\n", c.passed ? "PASS" : "FAIL", c.policy.c_str(), c.metric.c_str(), c.expected.c_str(),
                c.measured.c_str());
  }
  if (r.checks.empty()) std::printf("(no expectations)\n");
}

void print_runs(const sim::ScenarioResult& r, const std::vector<double>& wall_seconds) {
  std::printf("\n%-14s %8s %-16s %10s %10s %10s %12s %s\n", "policy", "seed", "digest", "requests", "events", "wall", "sim x real",
              "conserved");
  const double sim_seconds = static_cast<double>(to_us(r.scenario->duration)) / 1e6;
  std::size_t i = 0;
  for (const sim::PolicyResult& p : r.policies) {
    for (const RunResult& run : p.runs) {
      const double wall = wall_seconds.at(i++);
      std::printf("%-14s %8llu %-16s %10lld %10llu %10s %12s %s\n", p.name.c_str(), static_cast<unsigned long long>(run.seed),
                  run.digest.c_str(), static_cast<long long>(run.arrived), static_cast<unsigned long long>(run.events),
                  fmt("%.3f s", wall).c_str(), wall > 0 ? fmt("%.0fx", sim_seconds / wall).c_str() : "-",
                  run.conserved ? "yes" : "NO");
    }
  }
}

// ---- JSON ------------------------------------------------------------------------

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string json_number(double v) { return std::isfinite(v) ? fmt("%.17g", v) : "null"; }

std::string json_run(const sim::Scenario& s, const RunResult& run, double wall) {
  const auto m = [&](Metric metric) { return json_number(sim::metric_value(metric, s, run, nullptr)); };
  std::string o = "{\"seed\": " + std::to_string(run.seed) + ", \"digest\": " + json_string(run.digest);
  o += ", \"events\": " + std::to_string(run.events) + ", \"wall_seconds\": " + json_number(wall);
  o += ", \"arrived\": " + std::to_string(run.arrived) + ", \"succeeded\": " + std::to_string(run.succeeded);
  o += ", \"failed\": " + std::to_string(run.failed) + ", \"dropped\": " + std::to_string(run.dropped);
  o += ", \"in_flight_end\": " + std::to_string(run.in_flight_end) + ", \"conserved\": " + (run.conserved ? "true" : "false");
  o += ", \"availability_percent\": " + m(Metric::availability) + ", \"overflow_at_minutes\": " + m(Metric::overflow_at);
  o += ", \"peak_held\": " + std::to_string(run.held_peak) + ", \"failover_seconds\": " + m(Metric::failover_time);
  o += ", \"recovery_seconds\": " + m(Metric::recovery_time);
  o += ", \"latency_ms\": {\"p50\": " + m(Metric::latency_p50) + ", \"p90\": " + m(Metric::latency_p90) + ", \"p99\": " +
       m(Metric::latency_p99) + ", \"p999\": " + m(Metric::latency_p999) + "}";
  o += ", \"attempts_per_request\": " + m(Metric::attempts_per_request) + ", \"breaker_trips\": " + m(Metric::breaker_trips);
  o += ", \"cost_usd\": " + json_number(static_cast<double>(run.cost_micro_usd) / 1e6);
  o += ", \"possibly_billed_usd\": " + json_number(static_cast<double>(run.possibly_billed_micro_usd) / 1e6);
  o += ", \"plan_cost_usd\": " + json_number(static_cast<double>(run.plan_cost_micro_usd) / 1e6) + "}";
  return o;
}

void print_json(const sim::ScenarioResult& r, const std::vector<double>& wall_seconds, bool deterministic) {
  const sim::Scenario& s = *r.scenario;
  std::string o = "{\"scenario\": " + json_string(s.name) + ", \"title\": " + json_string(s.title) + ", \"seeds\": [";
  for (std::size_t i = 0; i < s.seeds.size(); ++i) o += (i ? ", " : "") + std::to_string(s.seeds[i]);
  o += "], \"passed\": " + std::string(r.passed() && deterministic ? "true" : "false");
  o += ", \"conserved\": " + std::string(r.conserved ? "true" : "false") + ", \"policies\": [";
  std::size_t k = 0;
  for (std::size_t p = 0; p < r.policies.size(); ++p) {
    o += (p ? ", " : "") + std::string("{\"name\": ") + json_string(r.policies[p].name) + ", \"runs\": [";
    for (std::size_t i = 0; i < r.policies[p].runs.size(); ++i) o += (i ? ", " : "") + json_run(s, r.policies[p].runs[i], wall_seconds.at(k++));
    o += "]}";
  }
  o += "], \"expectations\": [";
  for (std::size_t i = 0; i < r.checks.size(); ++i) {
    const sim::CheckResult& c = r.checks[i];
    o += (i ? ", " : "") + std::string("{\"policy\": ") + json_string(c.policy) + ", \"name\": " + json_string(c.metric) +
         ", \"expected\": " + json_string(c.expected) + ", \"measured\": " + json_string(c.measured) +
         ", \"worst_seed\": " + std::to_string(c.worst_seed) + ", \"pass\": " + (c.passed ? "true" : "false") + "}";
  }
  std::printf("%s]}\n", o.c_str());
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

// Runs every (policy, seed) twice more with a trace recorder and compares the traces
// with each other and the digests with the main run's. Prints to stderr when --json.
bool check_determinism(const sim::ScenarioResult& r, bool quiet) {
  const sim::Scenario& s = *r.scenario;
  bool same = true;
  for (std::size_t p = 0; p < s.policies.size(); ++p) {
    for (std::size_t i = 0; i < s.seeds.size(); ++i) {
      const RunSpec spec = s.run_spec(s.policies[p], s.seeds[i]);
      sim::TraceRecorder left(kTraceEventsKept);
      sim::TraceRecorder right(kTraceEventsKept);
      const RunResult a = sim::run_simulation(spec, &left);
      const RunResult b = sim::run_simulation(spec, &right);
      const std::string& first = r.policies[p].runs[i].digest;
      if (a.digest == b.digest && a.digest == first) continue;
      same = false;
      std::fprintf(stderr, "NOT DETERMINISTIC: policy %s, seed %llu: digests %s, %s, %s\n", s.policies[p].name.c_str(),
                   static_cast<unsigned long long>(s.seeds[i]), first.c_str(), a.digest.c_str(), b.digest.c_str());
      if (const std::optional<sim::Divergence> d = sim::first_divergence(left, right)) {
        std::fprintf(stderr, "  first diverging event #%llu: %s vs %s\n", static_cast<unsigned long long>(d->index),
                     describe(d->left).c_str(), describe(d->right).c_str());
      } else {
        std::fprintf(stderr, "  the two recorded runs agree; the first run differed from both\n");
      }
    }
  }
  if (same && !quiet) std::printf("\ndeterminism: every run repeated twice with the same digest\n");
  return same;
}

int run(RunOptions o) {
  Result<sim::Scenario> loaded = sim::load_scenario_file(o.file);
  if (!loaded) {
    std::fprintf(stderr, "error: %s\n", loaded.error().message().c_str());
    return 2;
  }
  sim::Scenario& s = *loaded;
  if (!select(s, o)) return 2;
  std::string seeds;
  for (const std::uint64_t seed : s.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
  std::fprintf(o.json ? stderr : stdout, "seeds: %s\n", seeds.c_str());
  if (!o.json) std::printf("scenario: %s -- %s\n", s.name.c_str(), s.title.c_str());
  std::fflush(stdout);
  std::vector<double> wall_seconds;
  const sim::ScenarioResult result = sim::run_scenario(s, timed_parallel_for(o.jobs, wall_seconds));
  bool deterministic = true;
  if (o.json) {
    deterministic = !o.check_determinism || check_determinism(result, true);
    print_json(result, wall_seconds, deterministic);
  } else {
    print_policy_table(result);
    print_checks(result);
    print_runs(result, wall_seconds);
    std::fflush(stdout);
    deterministic = !o.check_determinism || check_determinism(result, false);
  }
  if (!o.out.empty()) {
    const Status written = sim::write_reports(result, o.out);
    if (!written) {
      std::fprintf(stderr, "error: %s\n", written.error().message().c_str());
      return 1;
    }
    std::fprintf(o.json ? stderr : stdout, "report written to %s\n", o.out.c_str());
  }
  const bool ok = result.passed() && deterministic;
  if (!o.json) std::printf("\n%s\n", ok ? "PASS" : (result.conserved ? "FAIL" : "FAIL (a run lost requests)"));
  return ok ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Replay an outage scenario: the policy under test and its baselines, side by side");
  cmd->add_option("SCENARIO", o->file, "scenario file (schema: docs/scenarios.md)")->required();
  cmd->add_option("--seed", o->seeds, "run this seed instead of the scenario's (repeatable)");
  cmd->add_option("--policy", o->policies, "run only this policy (repeatable; its expectations only)");
  cmd->add_option("--out", o->out, "write the report (Markdown, SVG charts, JSON, JUnit XML) into DIR");
  cmd->add_option("--jobs", o->jobs, "runs at once on this many threads (results do not depend on it)")->check(CLI::Range(1, 256));
  cmd->add_flag("--check-determinism", o->check_determinism, "run everything twice more with a trace and compare");
  cmd->add_flag("--json", o->json, "print the results as JSON on stdout (seeds and notes go to stderr)");
  cmd->callback([o] { set_exit_code(run(*o)); });
}

}  // namespace failover::cli
