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
// recovers: a window's losses may exceed its reference by half a point plus two
// requests (a draw at a tenth of the rate has a few dozen arrivals per window).
constexpr double kRecoversLossMargin = 0.005;
constexpr std::int64_t kRecoversLossSlack = 2;
// recovers: the buffer's peak in a window may exceed the reference's by 25% plus this
// many requests (attempts' latencies differ run to run even on the same arrivals).
constexpr std::int64_t kBacklogSlack = 10;
constexpr std::array<std::string_view, kOracleCount> kOracleNames{"invariants", "expect",      "do-no-harm",
                                                                  "recovers",   "healthy-day", "cost"};

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

Index primary_of(const Config& c, Index route) {
  const RouteConfig& r = c.routes[route];
  FAILOVER_ASSERT(!r.targets.empty());
  const auto best =
      std::min_element(r.targets.begin(), r.targets.end(),
                       [](const RouteTarget& a, const RouteTarget& b) { return a.priority < b.priority; });
  return best->target;
}

std::size_t bucket_at(const RunResult& run, Time t) {
  FAILOVER_ASSERT(run.bucket > Duration{0});
  return static_cast<std::size_t>(std::max<std::int64_t>(0, (t - kTimeZero) / run.bucket));
}

// succeeded / (arrived - refused for the cost budget): the share served of what the
// policy did not refuse on purpose.
double served_share(const RunResult& run) {
  const std::int64_t judged = run.arrived - refused_for_budget(run);
  FAILOVER_ASSERT(judged >= 0);
  return judged == 0 ? 1.0 : static_cast<double>(run.succeeded) / static_cast<double>(judged);
}

// recovers judges windows that end by this time. When arrivals stop before the end of
// the run, everything that arrived has had the rest of the run to finish; when they go
// on to the end, the last window still has arrivals in flight, and is left out.
Time judged_until(const Scenario& s, const RunResult& run) {
  if (s.traffic.end < run.end) return s.traffic.end;
  return run.end - kRecoversWindow;
}

// What a stretch of buckets lost (failed + dropped, counted when they ended) of what
// arrived in it, and its buffer's peak.
struct Window {
  std::int64_t arrived = 0;
  std::int64_t lost = 0;
  std::int64_t held_max = 0;
  [[nodiscard]] double loss() const {
    return arrived == 0 ? 0.0 : static_cast<double>(lost) / static_cast<double>(arrived);
  }
};

Window window_of(const RunResult& run, std::size_t from, std::size_t to) {
  Window w;
  for (std::size_t b = from; b < to && b < run.series.size(); ++b) {
    w.arrived += run.series[b].arrived;
    w.lost += run.series[b].failed + run.series[b].dropped;
    w.held_max = std::max(w.held_max, run.series[b].held_max);
  }
  return w;
}

std::string minute_text(const RunResult& run, std::size_t bucket) {
  return std::to_string(static_cast<std::int64_t>(bucket) * (run.bucket / sec(1)) / 60) + " min";
}

// Why window [b, e) of `run` has not recovered, or empty. Losses must be back to the
// reference -- the higher of the loss before the first fault and the fault-free run's
// in the same window (a spike or a spent budget loses there too) -- within a margin; the
// buffer must hold at most 25% (+ kBacklogSlack) above the fault-free run's peak in the
// window (the pre-fault peak without one): a backlog that never drains.
std::string window_failure(const RunResult& run, const RunResult* fault_free, const std::optional<Window>& before,
                           std::size_t b, std::size_t e) {
  const Window w = window_of(run, b, e);
  if (w.arrived == 0) return "";
  double reference = before ? before->loss() : 0.0;
  std::optional<Window> free;
  if (fault_free != nullptr) free = window_of(*fault_free, b, e);
  if (free) reference = std::max(reference, free->loss());
  const double allowed =
      (reference + kRecoversLossMargin) * static_cast<double>(w.arrived) + static_cast<double>(kRecoversLossSlack);
  if (static_cast<double>(w.lost) > allowed) {
    return "window at " + minute_text(run, b) + " lost " + std::to_string(w.lost) + " of " + std::to_string(w.arrived) +
           " (" + percent(w.loss(), 2) + ") vs reference " + percent(reference, 2);
  }
  const std::optional<std::int64_t> held = free     ? std::optional<std::int64_t>(free->held_max)
                                           : before ? std::optional<std::int64_t>(before->held_max)
                                                    : std::nullopt;
  if (held && w.held_max > *held + *held / 4 + kBacklogSlack) {
    return "window at " + minute_text(run, b) + " held up to " + std::to_string(w.held_max) + " vs reference " +
           std::to_string(*held) + " (backlog not drained)";
  }
  return "";
}

// The routes' primary targets whose breaker was open through a whole window in
// [from, to): not getting traffic again. A breaker that reopens for a moment (a spike's
// 429s) is not stuck; one that stays open for good is.
std::string primary_stuck_open(const Scenario& s, std::string_view policy, const RunResult& run, std::size_t from,
                               std::size_t to, std::size_t per_window) {
  const Config& c = s.find_policy(policy)->config;
  std::string open;
  for (const Index r : used_routes(s)) {
    const Index primary = primary_of(c, r);
    if (primary >= 32) continue;  // Bucket::open_targets has 32 bits
    bool stuck = false;
    for (std::size_t b = from; b + per_window <= to && b + per_window <= run.series.size() && !stuck; b += per_window) {
      stuck = true;
      for (std::size_t i = b; i < b + per_window; ++i)
        stuck = stuck && (run.series[i].open_targets >> primary & 1U) != 0;
    }
    if (stuck) open += (open.empty() ? "" : ", ") + std::string("target ") + std::to_string(primary);
  }
  return open;
}

// Per bucket: whether the policy's cost budget, when it refuses (on_exhausted reject
// or downgrade), may be refusing -- the spend of the bucket's budget window (aligned
// to time zero, as the engine's) has reached 95% of the budget by the bucket's end. Its
// refusals are counted with the losses in the series, and when a budget runs out
// depends on the fault (failed attempts cost nothing).
std::vector<bool> budget_limited(const Config& c, const RunResult& run) {
  std::vector<bool> out(run.series.size(), false);
  const CostPolicy& cost = c.policy.cost;
  if (cost.budget_micro_usd <= 0 || cost.on_exhausted == BudgetExhausted::report) return out;
  const std::int64_t window = std::max<std::int64_t>(1, to_us(cost.budget_window));
  std::int64_t index = -1, spent = 0;
  for (std::size_t b = 0; b < run.series.size(); ++b) {
    const std::int64_t at = static_cast<std::int64_t>(b) * to_us(run.bucket) / window;
    if (at != index) {
      index = at;
      spent = 0;
    }
    spent += run.series[b].cost_micro_usd;
    out[b] = spent * 100 >= cost.budget_micro_usd * 95;
  }
  return out;
}

// What arrived in the last minute of the series may still be in flight at the end;
// more than that is a backlog that was not kept up with.
bool backlog_drained(const RunResult& run) {
  FAILOVER_ASSERT(run.bucket > Duration{0});
  const auto last_minute = static_cast<std::size_t>(std::max<std::int64_t>(1, kFailoverHold / run.bucket));
  std::int64_t recent = 0;
  for (std::size_t i = 0; i < last_minute && i < run.series.size(); ++i)
    recent += run.series[run.series.size() - 1 - i].arrived;
  return run.in_flight_end <= recent;
}

// The expectations healthy-day applies: those that bound harm and depend neither on a
// fault nor on the traffic level (attempts_per_request >= x describes an outage's
// retries; a latency bound assumes the base's rate).
bool bounds_harm(const Expectation& e) {
  switch (e.metric) {
    case Metric::availability:
      return e.bound == Bound::at_least;
    case Metric::failed:
    case Metric::dropped:
      return e.bound == Bound::at_most;
    case Metric::overflow_at:
      return e.bound == Bound::none_;
    default:
      return false;
  }
}

}  // namespace

// Routes some traffic class uses (through its tier or directly), in index order.
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

std::string_view oracle_name(Oracle oracle) {
  return kOracleNames[static_cast<std::size_t>(oracle)];
}

std::optional<Oracle> oracle_from(std::string_view name) {
  for (std::size_t i = 0; i < kOracleCount; ++i) {
    if (kOracleNames[i] == name) return static_cast<Oracle>(i);
  }
  return std::nullopt;
}

OracleKnobs knobs_of(const ExploreSpec& spec) {
  return OracleKnobs{spec.recovery, spec.cost_factor_permille, spec.harm_tolerance_ppm};
}

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
  std::erase_if(s.expectations, [](const Expectation& e) {
    return e.metric == Metric::failover_time || e.metric == Metric::recovery_time;
  });
  s.overflow_from = kTimeZero;
  return s;
}

NamedPolicy direct_of(const Scenario& scenario) {
  if (const NamedPolicy* d = scenario.find_policy("direct")) return *d;
  FAILOVER_ASSERT(!scenario.policies.empty());
  return NamedPolicy{"direct", direct_baseline(scenario.policies.front().config, scenario.buffer),
                     "derived for do-no-harm"};
}

NamedPolicy patient_as(NamedPolicy direct, const NamedPolicy& policy) {
  Duration& patience = direct.config.policy.timeouts.request;
  const Duration callers = policy.config.policy.timeouts.request;
  if (callers < patience) patience = callers;
  FAILOVER_ASSERT(patience <= callers);
  FAILOVER_ASSERT(patience > Duration{0});
  return direct;
}

Verdict check_invariants(const RunResult& run, std::string_view label) {
  Verdict v{Oracle::invariants, true, false, run.seed, "", {}};
  if (!run.conserved) {
    v.failed = true;
    v.detail = std::string(label) + ": requests not conserved (arrived " + std::to_string(run.arrived) +
               " != succeeded " + std::to_string(run.succeeded) + " + failed " + std::to_string(run.failed) +
               " + dropped " + std::to_string(run.dropped) + " + held " + std::to_string(run.in_flight_end) + ")";
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

Verdict check_do_no_harm(const Scenario& scenario, const RunResult& policy, const RunResult& direct,
                         const OracleKnobs& knobs) {
  const bool faulted = scenario.first_fault_start().has_value();
  Verdict v{Oracle::do_no_harm, faulted && keeps_healthy_target(scenario), false, policy.seed, "", {}};
  const double tolerance = static_cast<double>(knobs.harm_tolerance_ppm) / 1e6;
  // Requests the policy's budget refused are out of the comparison: `direct` has no
  // budget by design, and refusing spend over budget is the policy doing its job.
  const std::int64_t refused = refused_for_budget(policy);
  const double mine = served_share(policy);
  v.detail = "availability " + percent(mine, 3) +
             (refused > 0 ? " (" + std::to_string(refused) + " refused for the cost budget left out)" : "") +
             " vs direct " + percent(direct.availability(), 3) + " (as patient as the policy's callers)";
  if (!v.judged) {
    v.detail += faulted ? " (not judged: every target of a route is faulted)"
                        : " (not judged: no fault; healthy-day covers it)";
    return v;
  }
  const double bound = direct.availability() - tolerance;
  v.failed = mine < bound;
  // As a raw `availability` bound, refusals put back in the denominator.
  const double raw_bound =
      policy.arrived == 0 ? bound
                          : bound * static_cast<double>(policy.arrived - refused) / static_cast<double>(policy.arrived);
  if (v.failed)
    v.expects.push_back(expect_at_least("", Metric::availability, raw_bound * 100.0, percent_floor(raw_bound)));
  return v;
}

Verdict check_recovers(const Scenario& s, std::string_view policy, const RunResult& run, const RunResult* fault_free,
                       const OracleKnobs& knobs) {
  Verdict v{Oracle::recovers, false, false, run.seed, "", {}};
  const std::optional<Time> first = s.first_fault_start();
  const std::optional<Time> last = s.last_fault_end();
  const Time stop = judged_until(s, run);
  if (!first || !last || *last + knobs.recovery + kRecoversWindow > stop) {
    v.detail = "not judged: less than five minutes of traffic after the last fault's end plus the bound";
    return v;
  }
  v.judged = true;
  const Time from = *last + knobs.recovery;
  // The level before the first fault (after a warm-up minute), when there is one.
  std::optional<Window> before;
  if (*first - kTimeZero >= 2 * kFailoverHold)
    before = window_of(run, bucket_at(run, kTimeZero + kFailoverHold), bucket_at(run, *first));
  const std::size_t per_window = std::max<std::size_t>(1, static_cast<std::size_t>(kRecoversWindow / run.bucket));
  std::string worst;  // the first window that has not recovered
  std::size_t windows = 0, budget_windows = 0;
  const Config& c = s.find_policy(policy)->config;
  const std::vector<bool> limited = budget_limited(c, run);
  const std::vector<bool> limited_free = fault_free != nullptr ? budget_limited(c, *fault_free) : std::vector<bool>{};
  const auto near_budget = [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      if ((i < limited.size() && limited[i]) || (i < limited_free.size() && limited_free[i])) return true;
    }
    return false;
  };
  for (std::size_t b = bucket_at(run, from); b + per_window <= bucket_at(run, stop) && windows < run.series.size();
       b += per_window) {
    ++windows;
    if (near_budget(b, b + per_window)) {
      ++budget_windows;  // its refusals are the budget's, not a failure to recover
      continue;
    }
    const std::string why = window_failure(run, fault_free, before, b, b + per_window);
    if (worst.empty()) worst = why;
  }
  const std::string open = primary_stuck_open(s, policy, run, bucket_at(run, from), bucket_at(run, stop), per_window);
  v.failed = !worst.empty() || !open.empty();
  v.detail =
      "from " + std::to_string((from - kTimeZero) / sec(60)) + " min (last fault end + " +
      std::to_string(knobs.recovery / sec(60)) + " min), " + std::to_string(windows) + " window(s)" +
      (budget_windows > 0 ? " (" + std::to_string(budget_windows) + " near the cost budget: losses not judged)" : "") +
      ": " + (worst.empty() ? "losses and backlog back to their reference" : worst) +
      (open.empty() ? "" : "; primary breaker open through a whole window: " + open);
  const std::optional<double> rec = recovery_seconds(s, run);
  const double bound_s = static_cast<double>(to_us(knobs.recovery)) / 1e6;
  if (v.failed && (!rec || *rec > bound_s)) v.expects.push_back(expect_at_most("", Metric::recovery_time, bound_s, ""));
  return v;
}

std::int64_t refused_for_budget(const RunResult& run) {
  const auto r = static_cast<std::size_t>(EndReason::cost_budget);
  FAILOVER_ASSERT(run.failed_by[r] >= 0);
  FAILOVER_ASSERT(run.dropped_by[r] >= 0);
  return run.failed_by[r] + run.dropped_by[r];
}

std::int64_t lost(const RunResult& run) {
  const std::int64_t n = run.failed + run.dropped - refused_for_budget(run);
  FAILOVER_ASSERT(n >= 0);
  return n;
}

bool capacity_suffices(const RunResult& d, const OracleKnobs& knobs) {
  // `direct` keeps the policy's per-attempt timeout: an answer in the latency
  // distribution's far tail may fail it on a healthy day, hence the tolerance.
  if ((d.failed + d.dropped) * 1'000'000 > d.arrived * knobs.harm_tolerance_ppm || d.overflow_at.has_value())
    return false;
  return backlog_drained(d);
}

std::string healthy_day_failures(const Scenario& ff, std::string_view policy, const RunResult& run,
                                 const OracleKnobs& knobs, std::vector<Expectation>* expects) {
  std::string out;
  const auto add = [&](const std::string& what) { out += (out.empty() ? "" : "; ") + what; };
  std::int64_t trips = 0;
  for (const std::int64_t t : run.trips_by_target) trips += t;
  if (trips > 0) {
    add(std::to_string(trips) + " breaker trip(s)");
    if (expects != nullptr) expects->push_back(expect_at_most("", Metric::breaker_trips, 0.0, "0"));
  }
  const std::int64_t judged = run.arrived - refused_for_budget(run);
  const std::int64_t allowed = judged * knobs.harm_tolerance_ppm / 1'000'000;
  if (lost(run) > allowed) {
    add("lost " + std::to_string(lost(run)) + " of " + std::to_string(judged) + " (failed " +
        std::to_string(run.failed) + ", dropped " + std::to_string(run.dropped) + "; at most " +
        std::to_string(allowed) + ")");
    if (expects != nullptr && run.arrived > 0) {
      const double bound = static_cast<double>(judged - allowed) / static_cast<double>(run.arrived);
      expects->push_back(expect_at_least("", Metric::availability, bound * 100.0, percent_floor(bound)));
    }
  }
  if (!backlog_drained(run)) {
    add("held " + std::to_string(run.in_flight_end) +
        " at the end, more than arrived in the last minute (a backlog that never drains)");
  }
  // The base's expectations that bound harm whatever the fault and the traffic level;
  // measured on the requests that ended (those in flight at the end are neither served
  // nor lost), without the budget's refusals, as above.
  RunResult adjusted = run;
  adjusted.arrived -= refused_for_budget(run) + run.in_flight_end;
  adjusted.failed -= run.failed_by[static_cast<std::size_t>(EndReason::cost_budget)];
  adjusted.dropped -= run.dropped_by[static_cast<std::size_t>(EndReason::cost_budget)];
  const PolicyResult result{std::string(policy), "", {adjusted}};
  for (const Expectation& e : ff.expectations) {
    if (e.policy != policy || !bounds_harm(e)) continue;
    const CheckResult c = check_expectation(e, ff, result);
    if (c.passed) continue;
    add(c.metric + " " + c.expected + ", measured " + c.measured);
    if (expects == nullptr || refused_for_budget(run) > 0) continue;  // the raw metric counts the refusals
    Expectation line = e;
    line.text.clear();  // the report's "metric >= bound" is no bound a file can hold
    expects->push_back(std::move(line));
  }
  return out;
}

Verdict check_healthy_day(const Scenario& ff, std::string_view policy, const RunResult& run, const RunResult* direct,
                          const OracleKnobs& knobs) {
  Verdict v{Oracle::healthy_day, true, false, run.seed, "", {}};
  const std::string failures = healthy_day_failures(ff, policy, run, knobs, &v.expects);
  if (failures.empty()) {
    v.detail = "no trip, nothing lost, every harm bound holds without faults";
    return v;
  }
  if (direct == nullptr || !capacity_suffices(*direct, knobs)) {
    v.judged = false;
    v.expects.clear();
    v.detail = "not judged: " +
               (direct == nullptr ? std::string("no fault-free direct run")
                                  : "capacity does not suffice: direct without faults lost " +
                                        std::to_string(direct->failed + direct->dropped) + ", held " +
                                        std::to_string(direct->in_flight_end) + " at the end" +
                                        (direct->overflow_at ? ", overflowed" : "")) +
               " (" + failures + ")";
    return v;
  }
  v.failed = true;
  v.detail = "without faults, capacity sufficing (direct lost " + std::to_string(direct->failed + direct->dropped) +
             "): " + failures;
  return v;
}

Verdict check_cost(const RunResult& run, const OracleKnobs& knobs) {
  Verdict v{Oracle::cost, run.plan_cost_micro_usd > 0, false, run.seed, "", {}};
  const std::int64_t total = run.cost_micro_usd + run.possibly_billed_micro_usd;
  const double ratio =
      run.plan_cost_micro_usd > 0 ? static_cast<double>(total) / static_cast<double>(run.plan_cost_micro_usd) : 0.0;
  const double k = static_cast<double>(knobs.cost_factor_permille) / 1000.0;
  v.detail = "spend " + percent(ratio, 1) + " of the all-primary plan (bound " + percent(k, 0) + ")";
  v.failed = v.judged && total * 1000 > run.plan_cost_micro_usd * knobs.cost_factor_permille;
  if (v.failed) v.expects.push_back(expect_at_most("", Metric::cost_ratio, k * 100.0, percent(k, 0)));
  return v;
}

OracleRuns run_oracles(const Scenario& scenario, const Scenario& fault_free_scenario, const NamedPolicy& policy,
                       std::uint64_t seed, const OracleSet& set, const OracleKnobs& knobs,
                       const std::optional<RunResult>& fault_free, const ParallelFor& parallel_for) {
  const bool need_direct = set[static_cast<std::size_t>(Oracle::do_no_harm)] &&
                           scenario.first_fault_start().has_value() && keeps_healthy_target(scenario);
  const bool healthy_day = set[static_cast<std::size_t>(Oracle::healthy_day)];
  const bool need_free = !fault_free && (healthy_day || set[static_cast<std::size_t>(Oracle::recovers)]);
  OracleRuns runs;
  runs.fault_free = fault_free;
  const NamedPolicy direct = need_direct || healthy_day ? direct_of(scenario) : NamedPolicy{};
  const std::function<void(std::size_t)> task = [&](std::size_t i) {
    if (i == 0) runs.policy = run_simulation(scenario.run_spec(policy, seed));
    if (i == 1 && need_direct) runs.direct = run_simulation(scenario.run_spec(patient_as(direct, policy), seed));
    if (i == 2 && need_free) runs.fault_free = run_simulation(fault_free_scenario.run_spec(policy, seed));
  };
  if (parallel_for) {
    parallel_for(3, task);
  } else {
    for (std::size_t i = 0; i < 3; ++i) task(i);
  }
  // Whether the providers' capacity suffices matters only to a healthy day that fails.
  if (healthy_day && !healthy_day_failures(fault_free_scenario, policy.name, *runs.fault_free, knobs).empty()) {
    runs.direct_fault_free = run_simulation(fault_free_scenario.run_spec(direct, seed));
  }
  return runs;
}

std::vector<Verdict> judge_runs(const Scenario& scenario, const Scenario& fault_free_scenario, std::string_view policy,
                                const OracleRuns& runs, const OracleSet& set, const OracleKnobs& knobs) {
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
                              : Verdict{Oracle::do_no_harm,
                                        false,
                                        false,
                                        runs.policy.seed,
                                        "not judged: no fault, or every target of a route is faulted",
                                        {}});
  }
  if (on(Oracle::recovers))
    out.push_back(check_recovers(scenario, policy, runs.policy, runs.fault_free ? &*runs.fault_free : nullptr, knobs));
  if (on(Oracle::healthy_day)) {
    FAILOVER_ASSERT(runs.fault_free.has_value());
    out.push_back(check_healthy_day(fault_free_scenario, policy, *runs.fault_free,
                                    runs.direct_fault_free ? &*runs.direct_fault_free : nullptr, knobs));
  }
  if (on(Oracle::cost)) out.push_back(check_cost(runs.policy, knobs));
  return out;
}

std::vector<Verdict> judge_scenario(const Scenario& scenario, std::string_view policy, const OracleSet& set,
                                    const ParallelFor& parallel_for) {
  const NamedPolicy* p = scenario.find_policy(policy);
  FAILOVER_ASSERT(p != nullptr);
  const Scenario fault_free = without_faults(scenario);
  const OracleKnobs knobs = knobs_of(scenario.explore);
  std::vector<std::vector<Verdict>> per_seed(scenario.seeds.size());
  const std::function<void(std::size_t)> task = [&](std::size_t i) {
    const OracleRuns runs = run_oracles(scenario, fault_free, *p, scenario.seeds[i], set, knobs, std::nullopt);
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
