// Oracles (sim/oracle.h): what each one measures, on which runs.
#include "sim/oracle.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <utility>

#include "core/engine/assert.h"

namespace failover::sim {
namespace {

constexpr Duration kRecoversWindow = minutes(5);
constexpr std::array<std::string_view, kOracleCount> kOracleNames{"invariants", "expect", "do-no-harm", "recovers", "healthy-day", "cost"};

std::string percent(double ratio, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f%%", digits, ratio * 100.0);
  return buf;
}

// A ratio bound as the loader reads it ("99.1234%": at most 4 decimals), rounded down
// so that the failing run still fails it.
std::string percent_floor(double ratio) {
  const double v = std::floor(std::max(0.0, ratio) * 1'000'000.0) / 10'000.0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f%%", v);
  return buf;
}

Expectation expect_at_least(std::string_view policy, Metric metric, double lo, std::string text) {
  Expectation e;
  e.policy = std::string(policy);
  e.metric = metric;
  e.bound = Bound::at_least;
  e.lo = lo;
  e.text = std::move(text);
  return e;
}

Expectation expect_at_most(std::string_view policy, Metric metric, double hi, std::string text) {
  Expectation e = expect_at_least(policy, metric, 0.0, std::move(text));
  e.bound = Bound::at_most;
  e.hi = hi;
  return e;
}

// The primary target of every route some traffic class uses (through its tier or directly).
std::vector<Index> used_routes(const Scenario& s) {
  const Config& c = s.policies.front().config;
  std::vector<Index> routes;
  for (const TrafficClass& k : s.traffic.classes) {
    const Index r = k.route != kNoIndex ? k.route : c.tiers[k.tier].route;
    if (std::find(routes.begin(), routes.end(), r) == routes.end()) routes.push_back(r);
  }
  std::sort(routes.begin(), routes.end());
  return routes;
}

Index primary_of(const Config& c, Index route) {
  const RouteConfig& r = c.routes[route];
  FAILOVER_ASSERT(!r.targets.empty());
  const auto best = std::min_element(r.targets.begin(), r.targets.end(), [](const RouteTarget& a, const RouteTarget& b) { return a.priority < b.priority; });
  return best->target;
}

// Pooled succeeded / arrived over buckets [from, to); empty without arrivals.
std::optional<double> pooled(const RunResult& run, std::size_t from, std::size_t to) {
  std::int64_t arrived = 0, succeeded = 0;
  for (std::size_t b = from; b < to && b < run.series.size(); ++b) {
    arrived += run.series[b].arrived;
    succeeded += run.series[b].succeeded;
  }
  if (arrived == 0) return std::nullopt;
  return static_cast<double>(succeeded) / static_cast<double>(arrived);
}

std::size_t bucket_at(const RunResult& run, Time t) {
  FAILOVER_ASSERT(run.bucket > Duration{0});
  return static_cast<std::size_t>(std::max<std::int64_t>(0, (t - kTimeZero) / run.bucket));
}

}  // namespace

std::string_view oracle_name(Oracle oracle) { return kOracleNames[static_cast<std::size_t>(oracle)]; }

std::optional<Oracle> oracle_from(std::string_view name) {
  for (std::size_t i = 0; i < kOracleCount; ++i) {
    if (kOracleNames[i] == name) return static_cast<Oracle>(i);
  }
  return std::nullopt;
}

OracleKnobs knobs_of(const ExploreSpec& spec) { return OracleKnobs{spec.recovery, spec.cost_factor_permille, spec.harm_tolerance_ppm}; }

bool keeps_healthy_target(const Scenario& s) {
  const Config& c = s.policies.front().config;
  for (const Index r : used_routes(s)) {
    const bool healthy = std::any_of(c.routes[r].targets.begin(), c.routes[r].targets.end(), [&](const RouteTarget& t) {
      return s.providers[c.targets[t.target].provider].faults.empty();
    });
    if (!healthy) return false;
  }
  return true;
}

Scenario without_faults(const Scenario& scenario) {
  Scenario s = scenario;
  for (ProviderSpec& p : s.providers) p.faults.clear();
  std::erase_if(s.expectations, [](const Expectation& e) { return e.metric == Metric::failover_time || e.metric == Metric::recovery_time; });
  s.overflow_from = kTimeZero;
  return s;
}

NamedPolicy direct_of(const Scenario& scenario) {
  if (const NamedPolicy* d = scenario.find_policy("direct")) return *d;
  FAILOVER_ASSERT(!scenario.policies.empty());
  return NamedPolicy{"direct", direct_baseline(scenario.policies.front().config, scenario.buffer), "derived for do-no-harm"};
}

Verdict check_invariants(const RunResult& run, std::string_view label) {
  Verdict v{Oracle::invariants, true, false, run.seed, "", {}};
  if (!run.conserved) {
    v.failed = true;
    v.detail = std::string(label) + ": requests not conserved (arrived " + std::to_string(run.arrived) + " != succeeded " + std::to_string(run.succeeded) +
               " + failed " + std::to_string(run.failed) + " + dropped " + std::to_string(run.dropped) + " + held " + std::to_string(run.in_flight_end) + ")";
  } else if (!run.violation.empty()) {
    v.failed = true;
    v.detail = std::string(label) + ": " + run.violation;
  } else {
    v.detail = std::string(label) + ": conserved, no violation";
  }
  return v;
}

Verdict check_expect(const Scenario& scenario, std::string_view policy, const RunResult& run) {
  Verdict v{Oracle::expect, false, false, run.seed, "", {}};
  const PolicyResult result{std::string(policy), "", {run}};
  for (const Expectation& e : scenario.expectations) {
    if (e.policy != policy) continue;
    v.judged = true;
    const CheckResult c = check_expectation(e, scenario, result);
    if (c.passed) continue;
    v.detail += (v.failed ? "; " : "") + c.metric + " " + c.expected + ", measured " + c.measured;
    v.failed = true;
    v.expects.push_back(e);
  }
  if (v.judged && !v.failed) v.detail = "every expectation holds";
  return v;
}

Verdict check_do_no_harm(const Scenario& scenario, const RunResult& policy, const RunResult& direct, const OracleKnobs& knobs) {
  const bool faulted = scenario.first_fault_start().has_value();
  Verdict v{Oracle::do_no_harm, faulted && keeps_healthy_target(scenario), false, policy.seed, "", {}};
  const double tolerance = static_cast<double>(knobs.harm_tolerance_ppm) / 1e6;
  v.detail = "availability " + percent(policy.availability(), 3) + " vs direct " + percent(direct.availability(), 3);
  if (!v.judged) {
    v.detail += faulted ? " (not judged: every target of a route is faulted)" : " (not judged: no fault; healthy-day covers it)";
    return v;
  }
  v.failed = policy.availability() < direct.availability() - tolerance;
  const double bound = direct.availability() - tolerance;
  if (v.failed) v.expects.push_back(expect_at_least("", Metric::availability, bound * 100.0, percent_floor(bound)));
  return v;
}

Verdict check_recovers(const Scenario& s, std::string_view policy, const RunResult& run, const RunResult* fault_free, const OracleKnobs& knobs) {
  Verdict v{Oracle::recovers, false, false, run.seed, "", {}};
  const std::optional<Time> first = s.first_fault_start();
  const std::optional<Time> last = s.last_fault_end();
  const Time stop = std::min(s.traffic.end, run.end) - kFailoverHold;  // the last minute holds what is in flight
  if (!first || !last || *last + knobs.recovery + kRecoversWindow > stop) {
    v.detail = "not judged: less than five minutes of traffic after the last fault's end plus the bound";
    return v;
  }
  const Time from = *last + knobs.recovery;
  // The reference: the pooled level before the first fault (after a warm-up minute), or
  // the same window of the fault-free run.
  std::optional<double> reference;
  if (*first - kTimeZero >= 2 * kFailoverHold) reference = pooled(run, bucket_at(run, kTimeZero + kFailoverHold), bucket_at(run, *first));
  if (!reference && fault_free != nullptr) reference = pooled(*fault_free, bucket_at(run, from), bucket_at(run, stop));
  if (!reference) reference = 0.99;
  v.judged = true;
  // Five-minute windows: one minute's completions lag its arrivals by a few seconds of
  // Poisson traffic, about 0.65% (one sigma) at 2,400 requests/minute -- too close to
  // the one-point margin; five minutes pool that to about 0.3%.
  const std::size_t per_minute = std::max<std::size_t>(1, static_cast<std::size_t>(kRecoversWindow / run.bucket));
  double worst = 1.0;
  std::size_t worst_at = 0;
  for (std::size_t b = bucket_at(run, from); b + per_minute <= bucket_at(run, stop); b += per_minute) {
    const std::optional<double> a = pooled(run, b, b + per_minute);
    if (a && *a < worst) {
      worst = *a;
      worst_at = b;
    }
  }
  const Config& c = s.find_policy(policy)->config;
  std::string open;
  for (const Index r : used_routes(s)) {
    const Index primary = primary_of(c, r);
    bool was_open = primary < run.breaker_end.size() && run.breaker_end[primary] == BreakerState::open;
    for (std::size_t b = bucket_at(run, from); b < run.series.size() && primary < 32; ++b) was_open = was_open || (run.series[b].open_targets >> primary & 1U) != 0;
    if (was_open) open += (open.empty() ? "" : ", ") + std::string("target ") + std::to_string(primary);
  }
  const bool low = worst < *reference - 0.01;
  v.failed = low || !open.empty();
  v.detail = "from " + std::to_string((from - kTimeZero) / sec(60)) + " min (last fault end + " + std::to_string(knobs.recovery / sec(60)) + " min): worst minute " +
             percent(worst, 2) + (low ? " at bucket " + std::to_string(worst_at) : "") + " vs reference " + percent(*reference, 2) +
             (open.empty() ? "" : "; primary breaker still open: " + open);
  const std::optional<double> rec = recovery_seconds(s, run);
  const double bound_s = static_cast<double>(to_us(knobs.recovery)) / 1e6;
  if (v.failed && (!rec || *rec > bound_s)) v.expects.push_back(expect_at_most("", Metric::recovery_time, bound_s, ""));
  return v;
}

Verdict check_healthy_day(const Scenario& fault_free_scenario, std::string_view policy, const RunResult& run) {
  Verdict v = check_expect(fault_free_scenario, policy, run);
  v.oracle = Oracle::healthy_day;
  v.judged = true;
  std::int64_t trips = 0;
  for (const std::int64_t t : run.trips_by_target) trips += t;
  if (trips > 0) {
    v.detail = std::to_string(trips) + " breaker trip(s) without any fault" + (v.failed ? "; " + v.detail : "");
    v.failed = true;
    v.expects.push_back(expect_at_most("", Metric::breaker_trips, 0.0, "0"));
  } else if (!v.failed) {
    v.detail = "no trip, every expectation holds without faults";
  } else {
    v.detail = "without faults: " + v.detail;
  }
  return v;
}

Verdict check_cost(const RunResult& run, const OracleKnobs& knobs) {
  Verdict v{Oracle::cost, run.plan_cost_micro_usd > 0, false, run.seed, "", {}};
  const std::int64_t total = run.cost_micro_usd + run.possibly_billed_micro_usd;
  const double ratio = run.plan_cost_micro_usd > 0 ? static_cast<double>(total) / static_cast<double>(run.plan_cost_micro_usd) : 0.0;
  const double k = static_cast<double>(knobs.cost_factor_permille) / 1000.0;
  v.detail = "spend " + percent(ratio, 1) + " of the all-primary plan (bound " + percent(k, 0) + ")";
  v.failed = v.judged && total * 1000 > run.plan_cost_micro_usd * knobs.cost_factor_permille;
  if (v.failed) v.expects.push_back(expect_at_most("", Metric::cost_ratio, k * 100.0, percent(k, 0)));
  return v;
}

OracleRuns run_oracles(const Scenario& scenario, const Scenario& fault_free_scenario, const NamedPolicy& policy, std::uint64_t seed,
                       const OracleSet& set, const std::optional<RunResult>& fault_free, const ParallelFor& parallel_for) {
  const bool need_direct = set[static_cast<std::size_t>(Oracle::do_no_harm)] && scenario.first_fault_start().has_value() && keeps_healthy_target(scenario);
  const bool need_free = !fault_free && (set[static_cast<std::size_t>(Oracle::healthy_day)] || set[static_cast<std::size_t>(Oracle::recovers)]);
  OracleRuns runs;
  runs.fault_free = fault_free;
  const NamedPolicy direct = need_direct ? direct_of(scenario) : NamedPolicy{};
  const std::function<void(std::size_t)> task = [&](std::size_t i) {
    if (i == 0) runs.policy = run_simulation(scenario.run_spec(policy, seed));
    if (i == 1 && need_direct) runs.direct = run_simulation(scenario.run_spec(direct, seed));
    if (i == 2 && need_free) runs.fault_free = run_simulation(fault_free_scenario.run_spec(policy, seed));
  };
  if (parallel_for) {
    parallel_for(3, task);
  } else {
    for (std::size_t i = 0; i < 3; ++i) task(i);
  }
  return runs;
}

std::vector<Verdict> judge_runs(const Scenario& scenario, const Scenario& fault_free_scenario, std::string_view policy, const OracleRuns& runs,
                                const OracleSet& set, const OracleKnobs& knobs) {
  std::vector<Verdict> out;
  const auto on = [&](Oracle o) { return set[static_cast<std::size_t>(o)]; };
  if (on(Oracle::invariants)) {
    Verdict v = check_invariants(runs.policy, policy);
    if (!v.failed && runs.direct) v = check_invariants(*runs.direct, "direct");
    if (!v.failed && runs.fault_free) v = check_invariants(*runs.fault_free, std::string(policy) + " without faults");
    out.push_back(std::move(v));
  }
  if (on(Oracle::expect)) out.push_back(check_expect(scenario, policy, runs.policy));
  if (on(Oracle::do_no_harm)) {
    out.push_back(runs.direct ? check_do_no_harm(scenario, runs.policy, *runs.direct, knobs)
                              : Verdict{Oracle::do_no_harm, false, false, runs.policy.seed, "not judged: no fault, or every target of a route is faulted", {}});
  }
  if (on(Oracle::recovers)) out.push_back(check_recovers(scenario, policy, runs.policy, runs.fault_free ? &*runs.fault_free : nullptr, knobs));
  if (on(Oracle::healthy_day)) {
    FAILOVER_ASSERT(runs.fault_free.has_value());
    out.push_back(check_healthy_day(fault_free_scenario, policy, *runs.fault_free));
  }
  if (on(Oracle::cost)) out.push_back(check_cost(runs.policy, knobs));
  return out;
}

std::vector<Verdict> judge_scenario(const Scenario& scenario, std::string_view policy, const OracleSet& set, const ParallelFor& parallel_for) {
  const NamedPolicy* p = scenario.find_policy(policy);
  FAILOVER_ASSERT(p != nullptr);
  const Scenario fault_free = without_faults(scenario);
  const OracleKnobs knobs = knobs_of(scenario.explore);
  std::vector<std::vector<Verdict>> per_seed(scenario.seeds.size());
  const std::function<void(std::size_t)> task = [&](std::size_t i) {
    const OracleRuns runs = run_oracles(scenario, fault_free, *p, scenario.seeds[i], set, std::nullopt);
    per_seed[i] = judge_runs(scenario, fault_free, policy, runs, set, knobs);
  };
  if (parallel_for) {
    parallel_for(scenario.seeds.size(), task);
  } else {
    for (std::size_t i = 0; i < scenario.seeds.size(); ++i) task(i);
  }
  FAILOVER_ASSERT(!per_seed.empty());
  std::vector<Verdict> out = per_seed.front();
  for (std::size_t i = 1; i < per_seed.size(); ++i) {
    for (std::size_t o = 0; o < out.size(); ++o) {
      if (!out[o].failed && per_seed[i][o].failed) out[o] = per_seed[i][o];
      out[o].judged = out[o].judged || per_seed[i][o].judged;
    }
  }
  return out;
}

}  // namespace failover::sim
