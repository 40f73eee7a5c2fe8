// Swarm exploration (sim/explore.h): drawing, rendering, evaluating and shrinking draws.
// toml++ may throw; render() catches at its boundary.
#include "sim/explore.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "core/config/load.h"
#include "core/config/toml_values.h"
#include "core/engine/assert.h"
#include "core/engine/prng.h"
#include "sim/scenario_load.h"

namespace failover::sim::explore {
namespace {

using config::duration_text;

constexpr std::array<FaultKind, 7> kKinds{FaultKind::http_error, FaultKind::rate_limit,    FaultKind::latency,
                                          FaultKind::hang,       FaultKind::connect_error, FaultKind::malformed,
                                          FaultKind::truncated};
constexpr std::array<std::int32_t, 6> kStatuses{500, 502, 503, 504, 529, 429};
constexpr std::array<std::int64_t, 4> kDelaysMs{1, 1'000, 10'000, 30'000};
constexpr std::int64_t kTokensMax = 10'000'000;
constexpr Duration kHorizonMin = minutes(2);

std::int64_t seconds_of(Duration d) {
  return d / sec(1);
}
std::int64_t scaled(std::int64_t value, std::int64_t permille, std::int64_t lo, std::int64_t hi) {
  return std::clamp(value * permille / 1000, lo, hi);
}

Index provider_of(const Config& c, const RouteTarget& t) {
  return c.targets[t.target].provider;
}

// Draws a subset of `from` (each member with probability 1/2, at least one).
template <typename T>
std::vector<T> subset(Prng& p, const std::vector<T>& from) {
  FAILOVER_ASSERT(!from.empty());
  std::vector<T> out;
  for (const T& x : from) {
    if (p.chance(Ratio{1, 2})) out.push_back(x);
  }
  if (out.empty()) out.push_back(from[p.below(from.size())]);
  return out;
}

// The providers that may fail in this draw: keep_healthy spares one target of every route.
std::vector<Index> failing_providers(Prng& p, const Scenario& s) {
  std::vector<Index> allowed = s.explore.providers;
  if (allowed.empty()) {
    for (Index i = 0; i < s.providers.size(); ++i) allowed.push_back(i);
  }
  std::vector<Index> failing = subset(p, allowed);
  if (!s.explore.keep_healthy) return failing;
  const Config& c = s.policies.front().config;
  for (const Index r : used_routes(s)) {
    const std::vector<RouteTarget>& targets = c.routes[r].targets;
    const bool all = std::all_of(targets.begin(), targets.end(), [&](const RouteTarget& t) {
      return std::find(failing.begin(), failing.end(), provider_of(c, t)) != failing.end();
    });
    if (!all) continue;
    const Index spared = provider_of(c, targets[p.below(targets.size())]);
    std::erase(failing, spared);
  }
  return failing;
}

void draw_kind_keys(Prng& p, DrawFault& f) {
  if (f.kind == FaultKind::http_error) {
    f.status = kStatuses[p.below(kStatuses.size())];
    if (f.status == 429) f.retry_after = sec(p.range(1, 60));
    f.delay = ms(kDelaysMs[p.below(kDelaysMs.size())]);
  }
  if (f.kind == FaultKind::connect_error) f.reset = p.chance(Ratio{1, 2});
  if (f.kind == FaultKind::latency) f.factor_permille = p.range(2'000, 20'000);
  if (p.chance(Ratio{1, 4})) {
    f.ramp_up = sec(seconds_of(f.duration) / 4);
    f.ramp_down = sec(seconds_of(f.duration) / 4);
  }
}

// The latest end of a fault: early enough for `recovers` to see the bound plus two
// minutes, when the horizon allows it.
Duration latest_end(const Scenario& s, Duration horizon) {
  const Duration tail = s.explore.recovery + minutes(7) + (kTimeZero + s.duration - s.traffic.end);
  return horizon - tail >= horizon / 2 ? horizon - tail : horizon;
}

void draw_faults(Prng& p, const Scenario& s, Draw& d) {
  const std::vector<Index> failing = failing_providers(p, s);
  std::vector<FaultKind> kinds = s.explore.kinds;
  if (kinds.empty()) kinds.assign(kKinds.begin(), kKinds.end());
  kinds = subset(p, kinds);
  if (failing.empty()) return;
  const ExploreSpec& e = s.explore;
  const Duration end = latest_end(s, d.horizon);
  const std::int64_t n = p.range(1, e.faults_max);
  for (std::int64_t i = 0; i < n; ++i) {
    DrawFault f;
    f.id = static_cast<std::uint32_t>(i);
    f.provider = failing[p.below(failing.size())];
    const ProviderSpec& spec = s.providers[f.provider];
    std::vector<FaultKind> fit = kinds;
    if (spec.rpm_max == 0 && spec.tpm_max == 0) std::erase(fit, FaultKind::rate_limit);
    if (fit.empty()) continue;
    f.kind = fit[p.below(fit.size())];
    const std::int64_t start_lo = std::min(seconds_of(e.start_lo), seconds_of(end) - 2);
    const std::int64_t dur_lo =
        std::max<std::int64_t>(1, std::min(seconds_of(e.fault_duration_lo), seconds_of(end) - start_lo - 1));
    const std::int64_t dur_hi =
        std::max(dur_lo, std::min(seconds_of(e.fault_duration_hi), seconds_of(end) - start_lo - 1));
    f.duration = sec(p.range(dur_lo, dur_hi));
    std::int64_t start_hi = seconds_of(end - f.duration);
    if (e.start_hi) start_hi = std::min(start_hi, seconds_of(*e.start_hi));
    f.start = sec(p.range(start_lo, std::max(start_lo, start_hi)));
    f.intensity_ppm = p.range(e.intensity_lo_ppm, e.intensity_hi_ppm);
    draw_kind_keys(p, f);
    d.faults.push_back(f);
  }
}

}  // namespace

Result<Base> load_base(std::string path, std::string text, std::string policy) {
  Result<Scenario> s = load_scenario_string(text, path);
  if (!s) return s.error();
  if (s->traffic.replay) {  // a draw scales rate_rpm and token sizes, which a replayed log does not have
    return Error{path,
                 "[traffic] replay: failover explore draws traffic rates and token sizes, which a replayed "
                 "log fixes; explore a scenario with a rate (rate_rpm and classes)"};
  }
  if (s->find_policy(policy) == nullptr) {
    std::string names;
    for (const NamedPolicy& p : s->policies) names += (names.empty() ? "" : ", ") + p.name;
    return Error{path, "--policy " + policy + ": not a policy of this scenario (it runs: " + names + ")"};
  }
  return Base{std::move(path), std::move(text), std::move(*s), std::move(policy)};
}

Draw draw(const Base& base, std::uint64_t seed, std::uint64_t index) {
  const Scenario& s = base.scenario;
  const ExploreSpec& e = s.explore;
  Prng p = Prng(seed).fork("explore").fork(index);
  Draw d;
  d.index = index;
  d.sim_seed = p.next() >> 33;
  d.horizon = s.duration;
  if (e.horizon_lo) d.horizon = sec(p.range(seconds_of(*e.horizon_lo), seconds_of(*e.horizon_hi)));
  if (p.chance(Ratio{1, 2})) d.rate_permille = p.range(e.rate_lo_permille, e.rate_hi_permille);
  if (p.chance(Ratio{1, 2})) d.tokens_permille = p.range(e.tokens_lo_permille, e.tokens_hi_permille);
  d.capacity_permille.assign(s.providers.size(), 1'000);
  if (p.chance(Ratio{1, 2})) {
    for (std::int64_t& c : d.capacity_permille) c = p.range(e.capacity_lo_permille, e.capacity_hi_permille);
  }
  if (s.traffic.rate.kind == ScheduleKind::steady && p.chance(Ratio{e.spike_chance_ppm, 1'000'000})) {
    Spike spike;
    spike.duration = sec(p.range(60, std::max<std::int64_t>(60, seconds_of(d.horizon) / 4)));
    spike.start = sec(p.range(0, std::max<std::int64_t>(0, seconds_of(d.horizon - spike.duration) - 60)));
    spike.peak_permille = p.range(e.spike_lo_permille, e.spike_hi_permille);
    d.spike = spike;
  }
  draw_faults(p, s, d);
  return d;
}

// ---- rendering -------------------------------------------------------------------

namespace {

void scale_int(toml::table& t, std::string_view key, std::int64_t permille, std::int64_t lo, std::int64_t hi) {
  if (auto* v = t.get_as<std::int64_t>(key)) t.insert_or_assign(key, scaled(v->get(), permille, lo, hi));
}

void scale_tokens(toml::table& cls, std::string_view key, std::int64_t permille) {
  toml::node* n = cls.get(key);
  if (n == nullptr) return;
  if (n->is_integer()) {
    cls.insert_or_assign(key, scaled(n->as_integer()->get(), permille, 1, kTokensMax));
  } else if (toml::table* t = n->as_table()) {
    for (const std::string_view k : {"p50", "p99", "lo", "hi"}) scale_int(*t, k, permille, 1, kTokensMax);
  }
}

toml::table fault_table(const Scenario& s, const DrawFault& f) {
  toml::table t;
  t.insert("name", "x" + std::to_string(f.id));
  t.insert("provider", s.providers[f.provider].name);
  t.insert("kind", std::string(to_string(f.kind)));
  t.insert("start", duration_text(f.start));
  t.insert("duration", duration_text(f.duration));
  char pct[32];
  std::snprintf(pct, sizeof pct, "%lld.%04lld%%", static_cast<long long>(f.intensity_ppm / 10'000),
                static_cast<long long>(f.intensity_ppm % 10'000));
  t.insert("intensity", std::string(pct));
  if (f.ramp_up > Duration{0}) t.insert("ramp_up", duration_text(f.ramp_up));
  if (f.ramp_down > Duration{0}) t.insert("ramp_down", duration_text(f.ramp_down));
  if (f.kind == FaultKind::http_error) {
    t.insert("status", f.status);
    if (f.retry_after) t.insert("retry_after", duration_text(*f.retry_after));
    t.insert("delay", duration_text(f.delay));
  }
  if (f.kind == FaultKind::connect_error && f.reset) t.insert("reset", true);
  if (f.kind == FaultKind::latency) t.insert("factor", static_cast<double>(f.factor_permille) / 1000.0);
  return t;
}

std::string percent_text(double percent_value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f%%", percent_value);
  return buf;
}

toml::table expect_table(const Expectation& e, std::string_view policy) {
  toml::table t;
  if (policy != "policy") t.insert("policy", std::string(policy));
  t.insert("metric", std::string(metric_name(e.metric)));
  if (e.bound == Bound::none_) {
    t.insert("never", true);
    return t;
  }
  const bool least = e.bound == Bound::at_least;
  const double v = least ? e.lo : e.hi;
  const std::string_view key = least ? "at_least" : "at_most";
  if (e.metric == Metric::availability || e.metric == Metric::cost_ratio) {
    t.insert(key, e.text.empty() ? percent_text(v) : e.text);
  } else if (e.metric == Metric::recovery_time) {
    t.insert(key, duration_text(sec(static_cast<std::int64_t>(v))));
  } else {
    t.insert(key, static_cast<std::int64_t>(v));
  }
  return t;
}

void apply_traffic(const Base& base, const Draw& d, toml::table& traffic) {
  const Scenario& s = base.scenario;
  const std::int64_t rate_hi = 1'000'000;
  for (const std::string_view k : {"rate_rpm", "to_rpm", "peak_rpm", "amplitude_rpm"})
    scale_int(traffic, k, d.rate_permille, k == "amplitude_rpm" ? 0 : 1, rate_hi);
  if (d.spike) {
    const std::int64_t rate = traffic.get_as<std::int64_t>("rate_rpm")->get();
    traffic.insert_or_assign("schedule", "spike");
    traffic.insert_or_assign("peak_rpm", scaled(rate, d.spike->peak_permille, 1, rate_hi));
    traffic.insert_or_assign("start", duration_text(d.spike->start));
    traffic.insert_or_assign("duration", duration_text(d.spike->duration));
  }
  if (d.horizon != s.duration) {
    const Duration tail = kTimeZero + s.duration - s.traffic.end;
    if (traffic.contains("arrivals_until")) traffic.insert_or_assign("arrivals_until", duration_text(d.horizon - tail));
    if (traffic.contains("arrivals_from"))
      traffic.insert_or_assign("arrivals_from", duration_text(s.traffic.start - kTimeZero));
  }
  if (toml::array* classes = traffic["classes"].as_array()) {
    for (toml::node& c : *classes) {
      if (toml::table* t = c.as_table(); t != nullptr && d.tokens_permille != 1'000) {
        scale_tokens(*t, "prompt_tokens", d.tokens_permille);
        scale_tokens(*t, "output_tokens", d.tokens_permille);
      }
    }
  }
}

void apply_providers(const Base& base, const Draw& d, toml::table& root) {
  toml::array* providers = root["providers"].as_array();
  FAILOVER_ASSERT(providers != nullptr);
  for (std::size_t i = 0; i < providers->size(); ++i) {
    toml::table* sim = (*providers)[i].as_table()->get_as<toml::table>("sim");
    if (sim != nullptr && i < d.capacity_permille.size() && d.capacity_permille[i] != 1'000) {
      if (auto* c = sim->get_as<std::int64_t>("concurrency_max"); c != nullptr && c->get() > 0)
        scale_int(*sim, "concurrency_max", d.capacity_permille[i], 1, 1'000'000);
    }
  }
  for (const Index dropped : d.dropped_providers) {
    const std::string& name = base.scenario.providers[dropped].name;
    if (toml::array* routes = root["routes"].as_array()) {
      for (toml::node& r : *routes) {
        toml::array* targets = r.as_table() != nullptr ? r.as_table()->get_as<toml::array>("targets") : nullptr;
        if (targets == nullptr) continue;
        for (std::size_t t = targets->size(); t-- > 0;) {
          const toml::table* target = (*targets)[t].as_table();
          if (target != nullptr && target->get_as<std::string>("provider") != nullptr &&
              target->get_as<std::string>("provider")->get() == name)
            targets->erase(targets->begin() + static_cast<std::ptrdiff_t>(t));
        }
      }
    }
  }
  for (std::size_t i = providers->size(); i-- > 0;) {
    if (std::find(d.dropped_providers.begin(), d.dropped_providers.end(), i) != d.dropped_providers.end())
      providers->erase(providers->begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void apply_policies(const Base& base, const RenderOptions& o, bool faults, toml::table& root) {
  toml::table* baselines = root["baselines"].as_table();
  toml::table kept;
  kept.insert("direct", true);
  if (base.policy == "case-study") kept.insert("case_study", true);
  if (baselines != nullptr && base.policy != "policy" && base.policy != "direct" && base.policy != "case-study") {
    if (toml::array* custom = baselines->get_as<toml::array>("custom")) {
      toml::array one;
      for (toml::node& c : *custom) {
        if (c.as_table() != nullptr && c.as_table()->get_as<std::string>("name") != nullptr &&
            c.as_table()->get_as<std::string>("name")->get() == base.policy)
          one.push_back(std::move(c));
      }
      kept.insert("custom", std::move(one));
    }
  }
  root.insert_or_assign("baselines", std::move(kept));
  toml::array expects;
  if (toml::array* old = root["expect"].as_array(); old != nullptr && o.keep_expects) {
    for (toml::node& n : *old) {
      const toml::table* t = n.as_table();
      const auto* policy = t != nullptr ? t->get_as<std::string>("policy") : nullptr;
      const auto* metric = t != nullptr ? t->get_as<std::string>("metric") : nullptr;
      if ((policy == nullptr ? std::string("policy") : policy->get()) != base.policy) continue;
      if (!faults && metric != nullptr && (metric->get() == "failover_time" || metric->get() == "recovery_time"))
        continue;
      expects.push_back(std::move(n));
    }
  }
  for (const Expectation& e : o.extra) expects.push_back(expect_table(e, base.policy));
  root.erase("expect");
  if (!expects.empty()) root.insert("expect", std::move(expects));
}

}  // namespace

Result<std::string> render(const Base& base, const Draw& d, const RenderOptions& o) {
  try {
    Result<toml::table> parsed = parse_scenario_toml(base.text, base.path);
    if (!parsed) return parsed.error();
    toml::table& root = *parsed;
    toml::table* scenario = root["scenario"].as_table();
    FAILOVER_ASSERT(scenario != nullptr);  // the base loaded
    scenario->insert_or_assign("duration", duration_text(d.horizon));
    scenario->insert_or_assign("seeds", toml::array{static_cast<std::int64_t>(d.sim_seed)});
    scenario->erase("overflow_from");
    if (auto* b = scenario->get_as<std::string>("bucket"); b != nullptr) {
      const Result<Duration> bucket = config::parse_duration(b->get());
      if (bucket && *bucket > d.horizon) scenario->insert_or_assign("bucket", duration_text(d.horizon));
    }
    apply_traffic(base, d, *root["traffic"].as_table());
    apply_providers(base, d, root);
    root.erase("faults");
    if (o.faults && !d.faults.empty()) {
      toml::array faults;
      for (const DrawFault& f : d.faults) faults.push_back(fault_table(base.scenario, f));
      root.insert("faults", std::move(faults));
    }
    root.erase("explore");
    apply_policies(base, o, o.faults && !d.faults.empty(), root);
    std::ostringstream out;
    out << toml::toml_formatter(root, toml::format_flags::none);
    return o.header + out.str() + "\n";
  } catch (const std::exception& e) {
    return Error{base.path, std::string("could not write a draw: ") + e.what()};
  }
}

const Verdict* Evaluation::verdict(Oracle oracle) const {
  for (const Verdict& v : verdicts) {
    if (v.oracle == oracle) return &v;
  }
  return nullptr;
}

Result<Evaluation> evaluate(const Base& base, const Draw& d, const OracleSet& set,
                            const std::optional<RunResult>& fault_free, const ParallelFor& parallel_for) {
  Result<std::string> text = render(base, d);
  if (!text) return text.error();
  const std::string name = base.scenario.name + "-draw-" + std::to_string(d.index) + ".toml";
  Result<Scenario> s = load_scenario_string(*text, name);
  if (!s) return Error{s.error().where, "draw " + std::to_string(d.index) + ": " + s.error().what};
  Evaluation e{std::move(*text), std::move(*s), {}, {}, {}};
  e.fault_free = without_faults(e.scenario);
  const NamedPolicy* policy = e.scenario.find_policy(base.policy);
  FAILOVER_ASSERT(policy != nullptr);
  const OracleKnobs knobs = knobs_of(base.scenario.explore);
  e.runs = run_oracles(e.scenario, e.fault_free, *policy, d.sim_seed, set, knobs, fault_free, parallel_for);
  e.verdicts = judge_runs(e.scenario, e.fault_free, base.policy, e.runs, set, knobs);
  return e;
}

Size size_of(const Base& base, const Draw& d) {
  Size z;
  z.faults = d.faults.size();
  for (const DrawFault& f : d.faults) z.fault_time += f.duration;
  z.horizon = d.horizon;
  z.rate_rpm = scaled(base.scenario.traffic.rate.base_rpm, d.rate_permille, 1, 1'000'000);
  z.providers = base.scenario.providers.size() - d.dropped_providers.size();
  return z;
}

std::string size_text(const Size& z) {
  return std::to_string(z.faults) + " fault(s) totalling " + duration_text(z.fault_time) + ", horizon " +
         duration_text(z.horizon) + ", " + std::to_string(z.rate_rpm) + " requests/min, " +
         std::to_string(z.providers) + " provider(s)";
}

// ---- shrinking -------------------------------------------------------------------

namespace {

bool same_non_fault_parts(const Draw& a, const Draw& b) {
  return a.horizon == b.horizon && a.rate_permille == b.rate_permille && a.tokens_permille == b.tokens_permille &&
         a.capacity_permille == b.capacity_permille && a.spike.has_value() == b.spike.has_value() &&
         a.dropped_providers == b.dropped_providers &&
         (!a.spike || (a.spike->start == b.spike->start && a.spike->duration == b.spike->duration &&
                       a.spike->peak_permille == b.spike->peak_permille));
}

// Candidates smaller than `d`, simplest first.
std::vector<Draw> candidates(const Base& base, const Draw& d, Oracle oracle) {
  std::vector<Draw> out;
  for (std::size_t i = 0; i < d.faults.size(); ++i) {
    Draw c = d;
    c.faults.erase(c.faults.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(std::move(c));
  }
  Duration needed = minutes(1);
  for (const DrawFault& f : d.faults) needed = std::max(needed, f.start + f.duration);
  needed += (oracle == Oracle::recovers ? base.scenario.explore.recovery + minutes(7) : minutes(1)) +
            (kTimeZero + base.scenario.duration - base.scenario.traffic.end);
  if (d.spike) needed = std::max(needed, d.spike->start + d.spike->duration + minutes(1));
  const Duration shorter = sec(seconds_of(std::max({needed, kHorizonMin, (d.horizon + needed) / 2})));
  if (shorter < d.horizon) {
    Draw c = d;
    c.horizon = shorter;
    out.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < d.faults.size(); ++i) {
    const DrawFault& f = d.faults[i];
    const auto with = [&](auto edit) {
      Draw c = d;
      edit(c.faults[i]);
      out.push_back(std::move(c));
    };
    if (f.duration >= sec(20))
      with([](DrawFault& g) {
        g.duration = sec(seconds_of(g.duration) / 2);
        g.ramp_up = g.ramp_down = Duration{0};
      });
    if (f.start >= sec(20)) with([](DrawFault& g) { g.start = sec(seconds_of(g.start) / 2); });
    if (f.ramp_up > Duration{0} || f.ramp_down > Duration{0})
      with([](DrawFault& g) { g.ramp_up = g.ramp_down = Duration{0}; });
    if (f.intensity_ppm >= 20'000) with([](DrawFault& g) { g.intensity_ppm /= 2; });
    if (f.kind == FaultKind::latency && f.factor_permille >= 3'000)
      with([](DrawFault& g) { g.factor_permille = std::max<std::int64_t>(1'500, g.factor_permille / 2); });
  }
  if (d.spike) {
    Draw c = d;
    c.spike.reset();
    out.push_back(std::move(c));
  }
  if (size_of(base, d).rate_rpm >= 20) {
    Draw c = d;
    c.rate_permille = std::max<std::int64_t>(1, d.rate_permille / 2);
    out.push_back(std::move(c));
  }
  if (d.tokens_permille > 1'000) {
    Draw c = d;
    c.tokens_permille = 1'000;
    out.push_back(std::move(c));
  }
  for (std::size_t p = 0; p < d.capacity_permille.size(); ++p) {
    if (d.capacity_permille[p] == 1'000) continue;
    Draw c = d;
    c.capacity_permille[p] = 1'000;
    out.push_back(std::move(c));
  }
  for (Index p = 0; p < base.scenario.providers.size(); ++p) {
    const bool faulted =
        std::any_of(d.faults.begin(), d.faults.end(), [&](const DrawFault& f) { return f.provider == p; });
    if (faulted || std::find(d.dropped_providers.begin(), d.dropped_providers.end(), p) != d.dropped_providers.end())
      continue;
    Draw c = d;
    c.dropped_providers.push_back(p);
    std::sort(c.dropped_providers.begin(), c.dropped_providers.end());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Shrunk shrink(const Base& base, const Draw& original, const Verdict& failed, std::size_t steps_max) {
  OracleSet only{};
  only[static_cast<std::size_t>(failed.oracle)] = true;
  Shrunk best{original, failed, 0, 0};
  std::optional<RunResult> fault_free;
  bool progress = true;
  while (progress && best.steps < steps_max) {
    progress = false;
    for (Draw& c : candidates(base, best.draw, failed.oracle)) {
      if (best.steps >= steps_max) break;
      ++best.steps;
      const bool reuse = fault_free && same_non_fault_parts(c, best.draw);
      Result<Evaluation> e = evaluate(base, c, only, reuse ? fault_free : std::nullopt);
      if (!e) continue;  // a candidate the loader refuses (a route left without targets) is no smaller draw
      const Verdict* v = e->verdict(failed.oracle);
      if (v == nullptr || !v->failed) continue;
      best.draw = std::move(c);
      best.verdict = *v;
      fault_free = e->runs.fault_free;
      ++best.accepted;
      progress = true;
      break;
    }
  }
  return best;
}

Result<std::string> finding_text(const Base& base, std::uint64_t seed, const Draw& original, const Shrunk& shrunk) {
  const Oracle o = shrunk.verdict.oracle;
  RenderOptions options;
  options.faults = o != Oracle::healthy_day;
  // healthy-day's verdict carries the base expectations it applies (those that bound
  // harm); the others describe the base's outage and need not hold without it.
  options.keep_expects = o == Oracle::expect;
  for (const Expectation& e : shrunk.verdict.expects) {
    if (o != Oracle::expect) options.extra.push_back(e);
  }
  std::string h;
  h += "# failover explore finding: oracle " + std::string(oracle_name(o)) + "\n";
  h += "# base: " + base.path + ", policy under test: " + base.policy + "\n";
  h += "# replay the draw: failover explore " + base.path + " --seed " + std::to_string(seed) + " --from " +
       std::to_string(original.index) + " --budget 1" + (base.policy == "policy" ? "" : " --policy " + base.policy) +
       "\n";
  h += "# seed " + std::to_string(seed) + ", draw index " + std::to_string(original.index) + ", simulation seed " +
       std::to_string(original.sim_seed) + "\n";
  h += "# original: " + size_text(size_of(base, original)) + "\n";
  h += "# shrunk:   " + size_text(size_of(base, shrunk.draw)) + " (" + std::to_string(shrunk.accepted) + " of " +
       std::to_string(shrunk.steps) + " shrink steps kept)\n";
  h += "# verdict:  " + shrunk.verdict.detail + "\n";
  if (o == Oracle::healthy_day) h += "# (healthy-day: the draw with every fault removed)\n";
  if (o == Oracle::invariants) h += "# (invariants: `failover run` fails a run that does not conserve its requests)\n";
  if (o == Oracle::recovers && shrunk.verdict.expects.empty())
    h += "# (recovers: no [[expect]] metric captures it; replay with failover explore)\n";
  options.header = h + "\n";
  return render(base, shrunk.draw, options);
}

}  // namespace failover::sim::explore
