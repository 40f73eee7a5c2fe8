// The outputs of a policy sweep (sim/sweep.h): points.csv and points.json with every
// point x seed, report.md ranking the points per scenario with the Pareto frontier, the
// effect of each swept value and the best policy as paste-ready TOML, and one
// pareto-<scenario>.svg scatter per scenario. Every byte depends on the merged results
// alone -- never on threads, shards, wall time or the machine.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config/write.h"
#include "core/engine/assert.h"
#include "sim/expect.h"
#include "sim/json_writer.h"
#include "sim/report_format.h"
#include "sim/scenario_load.h"
#include "sim/svg.h"
#include "sim/sweep.h"

namespace failover::sim::sweep {
namespace {

using report::json_string;

constexpr std::size_t kRankingRows = 20;
constexpr std::size_t kFrontierRows = 30;
constexpr std::size_t kScatterDominatedMax = 5'000;
constexpr double kAvailabilitySpanMin = 0.01;  // percent: the narrowest availability axis of a scatter

// What render needs of one scenario besides its records.
struct ScenarioView {
  Scenario scenario;
  std::vector<const Expectation*> expectations;
  std::vector<PointSummary> points;
  std::vector<std::size_t> order;    // ranking, indices into points
  std::vector<bool> frontier;        // parallel to points
  bool frontier_of_passing = false;  // the frontier is that of the points passing every seed
  std::vector<std::size_t> rank;     // parallel to points, 1-based
};

// "availability >= 99.900%".
std::string expectation_name(const Expectation& e) {
  return std::string(metric_name(e.metric)) + " " + expected_text(e);
}

std::string fixed(double v, int digits) {
  return std::isfinite(v) ? svg::fixed(v, digits) : std::string();
}

// A swept value in JSON: numbers and booleans as they are, strings as strings.
std::string json_value(const std::string& toml_text) {
  if (!toml_text.empty() && toml_text.front() == '"') return json_string(display_value(toml_text));
  return toml_text;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string percent(double pct) {
  return std::isfinite(pct) ? svg::fixed(pct, 4) + "%" : "none";
}
std::string latency(double ms) {
  return std::isfinite(ms) ? report::latency_text(std::llround(ms * 1000.0)) : "none";
}
std::string money(double usd) {
  return std::isfinite(usd) ? report::usd(std::llround(usd * 1e6)) : "none";
}

std::string point_values(const Definition& d, std::uint32_t point, std::string_view separator) {
  std::string out;
  for (std::size_t k = 0; k < d.axes.size(); ++k) {
    out += (k ? std::string(separator) : std::string()) + d.axes[k].key + "=" +
           display_value(d.axes[k].values[d.points[point][k]]);
  }
  return out;
}

// The Pareto frontier of the points that passed every expectation on every seed -- a
// point that fails its scenario is no candidate, however cheap -- or, when none did,
// of all points.
std::vector<bool> feasible_frontier(const std::vector<PointSummary>& points, bool& of_passing) {
  std::vector<PointSummary> passing;
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (points[i].seeds == 0 || points[i].passed != points[i].seeds) continue;
    passing.push_back(points[i]);
    at.push_back(i);
  }
  of_passing = !passing.empty();
  if (!of_passing) return pareto_frontier(points);
  const std::vector<bool> on = pareto_frontier(passing);
  std::vector<bool> out(points.size(), false);
  for (std::size_t j = 0; j < at.size(); ++j) out[at[j]] = on[j];
  return out;
}

Result<std::vector<ScenarioView>> views_of(const Shard& merged) {
  std::vector<ScenarioView> views;
  for (std::uint32_t s = 0; s < merged.definition.scenarios.size(); ++s) {
    const ScenarioEntry& e = merged.definition.scenarios[s];
    Result<Scenario> loaded = load_scenario_string(e.text, e.path);
    if (!loaded) return loaded.error();
    const Result<std::vector<std::uint32_t>> changed = changed_keys(merged.definition, s);
    if (!changed) return changed.error();
    ScenarioView& v = views.emplace_back();
    v.scenario = std::move(*loaded);
    v.points = summarize(merged, s, *changed);
    v.order = ranking(v.points);
    v.frontier = feasible_frontier(v.points, v.frontier_of_passing);
    v.rank.assign(v.points.size(), 0);
    for (std::size_t r = 0; r < v.order.size(); ++r) v.rank[v.order[r]] = r + 1;
  }
  for (ScenarioView& v : views) v.expectations = policy_expectations(v.scenario);  // after the vector stopped moving
  return views;
}

// ---- CSV and JSON ------------------------------------------------------------------

std::string points_csv(const Shard& m, const std::vector<ScenarioView>& views) {
  const Definition& d = m.definition;
  std::string o = "scenario,point";
  for (const Axis& a : d.axes) o += "," + csv_field(a.key);
  o += ",seed,passed,availability_pct,latency_p99_ms,cost_usd,cost_ratio_pct,dropped,overflow_after_minutes,breaker_"
       "trips,"
       "conserved,expectations_failed\n";
  for (const Record& r : m.records) {
    const ScenarioView& v = views[r.scenario];
    o += csv_field(v.scenario.name) + "," + std::to_string(r.point);
    for (std::size_t k = 0; k < d.axes.size(); ++k)
      o += "," + csv_field(display_value(d.axes[k].values[d.points[r.point][k]]));
    std::string failed;
    for (std::size_t e = 0; e < r.checks.size() && e < v.expectations.size(); ++e) {
      if (r.checks[e] == 'F') failed += (failed.empty() ? "" : "; ") + expectation_name(*v.expectations[e]);
    }
    o += "," + std::to_string(r.seed) + "," + (r.passed() ? "true" : "false") + "," + fixed(r.availability_pct, 4) +
         "," + fixed(r.p99_ms, 1) + "," + fixed(r.cost_usd, 4) + "," + fixed(r.cost_ratio_pct, 2) + "," +
         std::to_string(r.dropped) + "," + fixed(r.overflow_after_minutes, 2) + "," + std::to_string(r.trips) + "," +
         (r.conserved ? "true" : "false") + "," + csv_field(failed) + "\n";
  }
  return o;
}

void write_run(JsonWriter& j, const Record& r) {
  j.open_inline("", '{');
  j.integer("seed", r.seed);
  j.boolean("passed", r.passed());
  j.real("availability_pct", r.availability_pct, 4);
  j.real("latency_p99_ms", r.p99_ms, 1);
  j.real("cost_usd", r.cost_usd, 4);
  j.real("cost_ratio_pct", r.cost_ratio_pct, 2);
  j.integer("dropped", r.dropped);
  j.real("overflow_after_minutes", r.overflow_after_minutes, 2);
  j.integer("breaker_trips", r.trips);
  j.boolean("conserved", r.conserved);
  j.open_inline("checks", '[');
  for (const char check : r.checks) j.boolean("", check == 'P');
  j.close(']');
  j.close('}');
}

// One point on one line, its runs hanging below it one per line.
void write_point(JsonWriter& j, const Shard& m, const ScenarioView& v, std::size_t i, std::size_t& next) {
  const Definition& d = m.definition;
  const PointSummary& p = v.points[i];
  j.open_inline("", '{');
  j.integer("point", p.point);
  j.open_inline("values", '{');
  for (std::size_t k = 0; k < d.axes.size(); ++k)
    j.raw(d.axes[k].key, json_value(d.axes[k].values[d.points[p.point][k]]));
  j.close('}');
  j.integer("rank", v.rank[i]);
  j.integer("changed_keys", p.changed_keys);
  j.boolean("pareto", v.frontier[i]);
  j.integer("seeds_passed", p.passed);
  j.integer("seeds", p.seeds);
  j.open("runs", '[');
  for (std::size_t k = 0; k < p.seeds; ++k, ++next) {
    FAILOVER_ASSERT(next < m.records.size());
    FAILOVER_ASSERT(m.records[next].point == p.point);
    write_run(j, m.records[next]);
  }
  j.close(']');
  j.close('}');
}

void write_scenario(JsonWriter& j, const Shard& m, const ScenarioView& v, std::uint32_t s) {
  const ScenarioEntry& e = m.definition.scenarios[s];
  j.open("", '{');
  j.text("scenario", v.scenario.name);
  j.text("path", e.path);
  j.text("hash", text_hash(e.text));
  j.integers("seeds", e.seeds);
  j.open_inline("expectations", '[');
  for (const Expectation* x : v.expectations) j.text("", expectation_name(*x));
  j.close(']');
  j.open("points", '[');
  std::size_t next = 0;  // records of this scenario, in point order
  while (next < m.records.size() && m.records[next].scenario != s) ++next;
  for (std::size_t i = 0; i < v.points.size(); ++i) write_point(j, m, v, i, next);
  j.close(']');
  j.close('}');
}

std::string points_json(const Shard& m, const std::vector<ScenarioView>& views) {
  JsonWriter j;
  j.open("", '{');
  j.text("format", "failover-sweep/1");
  j.boolean("partial", m.partial);
  j.text("mode", m.definition.mode);
  j.integer("points", m.definition.points.size());
  j.open_inline("keys", '[');
  for (const Axis& a : m.definition.axes) j.text("", a.key);
  j.close(']');
  j.open("scenarios", '[');
  for (std::uint32_t s = 0; s < views.size(); ++s) write_scenario(j, m, views[s], s);
  j.close(']');
  j.close('}');
  return j.finish();
}

// ---- the scatter -------------------------------------------------------------------

std::string svg_name(const ScenarioView& v) {
  return "pareto-" + v.scenario.name + ".svg";
}

std::vector<svg::Tick> log_ticks(double lo, double hi) {
  std::vector<svg::Tick> ticks;
  for (double decade = std::pow(10.0, std::floor(std::log10(lo))); decade <= hi && ticks.size() < 30; decade *= 10.0) {
    for (const double m : {1.0, 2.0, 5.0}) {
      const double t = decade * m;
      if (t >= lo && t <= hi) ticks.push_back({t, report::latency_text(std::llround(t * 1000.0))});
    }
  }
  return ticks;
}

bool plotted(const PointSummary& p) {
  return std::isfinite(p.p99_ms) && p.p99_ms > 0.0 && std::isfinite(p.cost_usd);
}

// The x axis: p99, on a log scale when it spans more than a factor of ten.
svg::Axis p99_axis(double lo, double hi) {
  if (hi / lo > 10.0) {
    svg::Axis x{"p99 latency, worst seed (log scale)", lo / 1.25, hi * 1.25, true, {}};
    x.ticks = log_ticks(x.lo, x.hi);
    return x;
  }
  const double pad = std::max((hi - lo) * 0.1, lo * 0.02);
  svg::Axis x{"p99 latency, worst seed", std::max(0.0, lo - pad), hi + pad, false, {}};
  for (const double t : svg::linear_ticks(x.lo, x.hi, 8))
    x.ticks.push_back({t, report::latency_text(std::llround(t * 1000.0))});
  return x;
}

// The y axis: availability, or cost when every point has the same availability; zoomed
// to [lo, hi] with a margin of a tenth of the span each way, so that points 0.01% apart
// do not sit on one pixel row.
svg::Axis y_axis(double lo, double hi, bool cost) {
  if (cost) {
    const double pad = std::max((hi - lo) * 0.1, std::max(lo * 0.01, 0.01));
    svg::Axis y{"cost, worst seed (USD)", std::max(0.0, lo - pad), hi + pad, false, {}};
    for (const double t : svg::linear_ticks(y.lo, y.hi, 6)) y.ticks.push_back({t, report::usd(std::llround(t * 1e6))});
    return y;
  }
  const double pad = std::max(hi - lo, kAvailabilitySpanMin) * 0.1;
  svg::Axis y{"availability, worst seed", std::max(0.0, lo - pad), hi + pad, false, {}};
  const std::vector<double> ticks = svg::linear_ticks(y.lo, y.hi, 6);
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  const int digits = static_cast<int>(std::clamp(-std::floor(std::log10(step) + 1e-9), 0.0, 4.0));
  for (const double t : ticks) {
    if (t <= 100.0) y.ticks.push_back({t, svg::fixed(t, digits) + "%"});
  }
  return y;
}

// The availability the scenario asks of the policy under test (the first `availability
// at_least` or `between` expectation's lower bound, in percent), to draw as the SLO line.
std::optional<double> slo_of(const ScenarioView& v) {
  for (const Expectation* e : v.expectations) {
    if (e->metric == Metric::availability && (e->bound == Bound::at_least || e->bound == Bound::between)) return e->lo;
  }
  return std::nullopt;
}

constexpr const char* kFrontierColour = "#d55e00";
constexpr const char* kPassingColour = "#0072b2";
constexpr const char* kFailingColour = "#b0b0b0";
constexpr const char* kSloColour = "#009e73";

// Availability (or, when it is flat, cost) against p99, one dot per point: the frontier
// in orange, the other points passing every seed in blue, the rest in grey.
std::string scatter(const Definition& d, const ScenarioView& v) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = 0.0;
  double a_lo = 100.0, a_hi = 0.0, c_lo = std::numeric_limits<double>::infinity(), c_hi = 0.0;
  std::size_t unplotted = 0;
  for (const PointSummary& p : v.points) {
    if (!plotted(p)) {
      ++unplotted;
      continue;
    }
    x_lo = std::min(x_lo, p.p99_ms);
    x_hi = std::max(x_hi, p.p99_ms);
    a_lo = std::min(a_lo, p.availability_pct);
    a_hi = std::max(a_hi, p.availability_pct);
    c_lo = std::min(c_lo, p.cost_usd);
    c_hi = std::max(c_hi, p.cost_usd);
  }
  if (!std::isfinite(x_lo)) x_lo = x_hi = c_lo = c_hi = 1.0;
  const bool cost = a_lo >= a_hi;  // availability is the same everywhere: it would draw a flat line
  const std::optional<double> slo = slo_of(v);
  svg::LineChart c;
  c.title = v.scenario.name + (cost ? ": cost vs p99 latency (worst seed per point)"
                                    : ": availability vs p99 latency (worst seed per point)");
  c.subtitle = std::to_string(v.points.size()) + " points" +
               (cost ? ", all at availability " + percent(a_lo) +
                           (slo ? (a_lo >= *slo ? ", meeting" : ", below") + std::string(" the SLO of ") + percent(*slo)
                                : std::string())
                     : std::string()) +
               "; Pareto frontier of availability, p99 and cost" +
               (v.frontier_of_passing ? " among the points passing every seed: " : ": ") +
               std::to_string(std::count(v.frontier.begin(), v.frontier.end(), true)) +
               (unplotted ? "; " + std::to_string(unplotted) + " without a p99 not drawn" : std::string());
  c.x = p99_axis(x_lo, x_hi);
  // The availability axis spans the data and the SLO line, so that the line shows how far
  // the points are from it.
  c.y = cost ? y_axis(c_lo, c_hi, true)
             : y_axis(slo ? std::min(a_lo, *slo) : a_lo, slo ? std::max(a_hi, *slo) : a_hi, false);
  if (slo && !cost) {
    c.lines.push_back(svg::Line{"SLO: availability " + percent(*slo),
                                kSloColour,
                                {{svg::Point{c.x.lo, *slo}, svg::Point{c.x.hi, *slo}}},
                                true,
                                true,
                                1.5});
  }
  c.lines.push_back(svg::Line{"Pareto frontier", kFrontierColour, {}, false, false, 2.0});
  c.lines.push_back(svg::Line{"passes every seed", kPassingColour, {}, false, false, 2.0});
  c.lines.push_back(svg::Line{"fails on some seed", kFailingColour, {}, false, false, 2.0});
  std::vector<svg::Marker> top;
  for (const std::size_t i : v.order) {  // best first, so the best points are drawn when capped
    const PointSummary& p = v.points[i];
    if (!plotted(p) || (!v.frontier[i] && c.markers.size() >= kScatterDominatedMax)) continue;
    const std::string label = "point " + std::to_string(p.point) + " (rank " + std::to_string(v.rank[i]) +
                              "): " + point_values(d, p.point, ", ") + "; availability " + percent(p.availability_pct) +
                              ", p99 " + latency(p.p99_ms) + ", cost " + money(p.cost_usd) + ", " +
                              std::to_string(p.passed) + "/" + std::to_string(p.seeds) + " seeds passed";
    const char* colour = v.frontier[i] ? kFrontierColour : p.passed == p.seeds ? kPassingColour : kFailingColour;
    svg::Marker m{{p.p99_ms, cost ? p.cost_usd : p.availability_pct}, colour, label};
    (v.frontier[i] ? top : c.markers).push_back(std::move(m));
  }
  std::reverse(c.markers.begin(), c.markers.end());  // the better points drawn last, on top
  c.markers.insert(c.markers.end(), top.rbegin(), top.rend());
  return svg::render(c);
}

// ---- the Markdown report -------------------------------------------------------------

std::string ranking_table(const Definition& d, const ScenarioView& v) {
  std::string o = "| rank | point |";
  for (const Axis& a : d.axes) o += " " + report::md_cell(a.key) + " |";
  o += " seeds passed | availability | p99 | cost | cost vs plan | dropped | trips | keys changed | Pareto "
       "|\n|---:|---:|";
  for (std::size_t k = 0; k < d.axes.size(); ++k) o += "---:|";
  o += "---:|---:|---:|---:|---:|---:|---:|---:|:---:|\n";
  for (std::size_t r = 0; r < v.order.size() && r < kRankingRows; ++r) {
    const PointSummary& p = v.points[v.order[r]];
    o += "| " + std::to_string(r + 1) + " | " + std::to_string(p.point) + " |";
    for (std::size_t k = 0; k < d.axes.size(); ++k)
      o += " " + report::md_cell(display_value(d.axes[k].values[d.points[p.point][k]])) + " |";
    o += " " + std::to_string(p.passed) + "/" + std::to_string(p.seeds) + " | " + percent(p.availability_pct) + " | " +
         latency(p.p99_ms) + " | " + money(p.cost_usd) + " | " +
         (std::isfinite(p.cost_ratio_pct) ? svg::fixed(p.cost_ratio_pct, 1) + "%" : "none") + " | " +
         report::group_digits(p.dropped) + " | " + report::group_digits(p.trips) + " | " +
         std::to_string(p.changed_keys) + " | " + (v.frontier[v.order[r]] ? "yes" : "") + " |\n";
  }
  return o;
}

std::string frontier_table(const Definition& d, const ScenarioView& v) {
  std::vector<std::size_t> on;
  for (const std::size_t i : v.order) {
    if (v.frontier[i]) on.push_back(i);
  }
  std::sort(on.begin(), on.end(), [&](std::size_t i, std::size_t j) {
    const PointSummary& a = v.points[i];
    const PointSummary& b = v.points[j];
    if (a.availability_pct != b.availability_pct) return a.availability_pct > b.availability_pct;
    if (a.p99_ms != b.p99_ms) return a.p99_ms < b.p99_ms;
    if (a.cost_usd != b.cost_usd) return a.cost_usd < b.cost_usd;
    return a.point < b.point;
  });
  std::string o = std::to_string(on.size()) + " of " + std::to_string(v.points.size()) +
                  " points are on the frontier, by availability" +
                  (on.size() > kFrontierRows ? " (the first " + std::to_string(kFrontierRows) + " shown)" : "") +
                  ":\n\n| point | values | availability | p99 | cost | seeds passed | rank "
                  "|\n|---:|---|---:|---:|---:|---:|---:|\n";
  for (std::size_t n = 0; n < on.size() && n < kFrontierRows; ++n) {
    const PointSummary& p = v.points[on[n]];
    o += "| " + std::to_string(p.point) + " | " + report::md_cell(point_values(d, p.point, ", ")) + " | " +
         percent(p.availability_pct) + " | " + latency(p.p99_ms) + " | " + money(p.cost_usd) + " | " +
         std::to_string(p.passed) + "/" + std::to_string(p.seeds) + " | " + std::to_string(v.rank[on[n]]) + " |\n";
  }
  return o;
}

// Per swept value: the share of runs that passed and the median of the points' worst figures.
std::string effects_table(const Definition& d, const ScenarioView& v) {
  std::string o =
      "| key | value | points | runs passed | availability (median) | p99 (median) | cost (median) | trips (median) |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (std::size_t k = 0; k < d.axes.size(); ++k) {
    for (std::uint32_t value = 0; value < d.axes[k].values.size(); ++value) {
      std::size_t points = 0, runs = 0, passed = 0;
      std::vector<double> a, p99, cost, trips;
      for (const PointSummary& p : v.points) {
        if (d.points[p.point][k] != value) continue;
        ++points;
        runs += p.seeds;
        passed += p.passed;
        a.push_back(p.availability_pct);
        p99.push_back(p.p99_ms);
        cost.push_back(p.cost_usd);
        trips.push_back(static_cast<double>(p.trips));
      }
      if (points == 0) continue;
      o += "| " + report::md_cell(d.axes[k].key) + " | " + report::md_cell(display_value(d.axes[k].values[value])) +
           " | " + std::to_string(points) + " | " + std::to_string(passed) + "/" + std::to_string(runs) + " | " +
           percent(report::median(a)) + " | " + latency(report::median(p99)) + " | " + money(report::median(cost)) +
           " | " + svg::fixed(report::median(trips), 0) + " |\n";
    }
  }
  return o;
}

std::string expectations_table(const ScenarioView& v) {
  if (v.expectations.empty())
    return "The scenario sets no expectation on the policy under test: every conserving run passes.\n";
  std::string o = "| expectation of the policy under test | points passing on every seed |\n|---|---:|\n";
  for (std::size_t e = 0; e < v.expectations.size(); ++e) {
    const std::size_t n =
        static_cast<std::size_t>(std::count_if(v.points.begin(), v.points.end(), [&](const PointSummary& p) {
          return e < p.check_passes.size() && p.check_passes[e] == p.seeds;
        }));
    o += "| " + report::md_cell(expectation_name(*v.expectations[e])) + " | " + std::to_string(n) + "/" +
         std::to_string(v.points.size()) + " |\n";
  }
  return o;
}

// A figure of the diagnosis: the metric's value as the run report prints it, or a count
// of seeds.
std::string figure_text(const Expectation& e, bool by_metric, double figure) {
  if (!by_metric) return svg::fixed(figure, 0) + " seeds";
  return std::isfinite(figure) ? format_metric(e.metric, figure) : "none";
}

// When no point passes: the expectation that failed most and the keys that moved it most.
std::string diagnosis_section(const Definition& d, const ScenarioView& v) {
  const Diagnosis g = diagnose(d, v.points, v.expectations);
  std::string o = "\n### Why no point passes\n\n";
  if (g.none_failed) {
    return o +
           "Every expectation held on every run, yet no point passed: runs lost requests (not conserved), which "
           "is a bug of the engine or the simulator, not of the policy; points.csv has `conserved` per run.\n";
  }
  const Expectation& e = *v.expectations[g.expectation];
  const std::string figure =
      g.by_metric ? "its worst seed's " + std::string(metric_name(e.metric)) : "the number of seeds on which it held";
  o += "`" + expectation_name(e) + "` failed on " + std::to_string(g.failed_runs) + " of " + std::to_string(g.runs) +
       " runs (points x seeds), more than any other expectation. How far each swept key moves " + figure +
       " with every other key held equal -- the widest spread among points that differ in that key alone -- "
       "and the key's values at the worse and the better end of it:\n\n";
  o += "| key | moves it by up to | worse | better | point groups compared |\n|---|---:|---|---|---:|\n";
  for (const KeyEffect& k : g.keys) {
    const Axis& a = d.axes[k.axis];
    if (k.groups == 0) {
      o += "| " + report::md_cell(a.key) + " | -- | no two points differ in this key alone | | 0 |\n";
      continue;
    }
    if (k.spread == 0.0) {
      o += "| " + report::md_cell(a.key) + " | nothing | the same at every value | | " + std::to_string(k.groups) +
           " |\n";
      continue;
    }
    o += "| " + report::md_cell(a.key) + " | " + figure_text(e, g.by_metric, k.spread) + " | " +
         report::md_cell(figure_text(e, g.by_metric, k.worse) + " at " + display_value(a.values[k.worse_value])) +
         " | " +
         report::md_cell(figure_text(e, g.by_metric, k.better) + " at " + display_value(a.values[k.better_value])) +
         " | " + std::to_string(k.groups) + " |\n";
  }
  return o;
}

std::string best_live_name(const ScenarioView& v) {
  return "best-" + v.scenario.name + ".toml";
}

Result<std::string> best_policy(const Definition& d, const ScenarioView& v, std::uint32_t s) {
  if (v.order.empty()) return std::string("No point finished every seed: no best policy.\n");
  const PointSummary& best = v.points[v.order.front()];
  const ScenarioEntry& e = d.scenarios[s];
  Result<std::string> toml = config::policy_toml(e.text, e.path, overrides_of(d.axes, d.points[best.point]));
  if (!toml) return toml.error();
  std::string o =
      "Point " + std::to_string(best.point) + " ranks first (" + point_values(d, best.point, ", ") + "): it passed " +
      std::to_string(best.passed) + " of " + std::to_string(best.seeds) + " seeds" +
      (best.passed == best.seeds ? "" : " -- no point passed every seed, so treat it as the least bad, not as good") +
      ". The whole policy under test of `" + e.path +
      "` with these values, ready to paste into a live config "
      "(providers and routes as in the scenario file; docs/config.md):\n\n```toml\n# failover sweep: point " +
      std::to_string(best.point) + " of " + v.scenario.name + ". Keys not listed keep their defaults.\n" + *toml +
      "```\n";
  std::string providers;
  for (const PolicyOverride& p : overrides_of(d.axes, d.points[best.point])) {
    if (config::is_provider_key(p.key)) providers += "\n- `" + p.key + " = " + p.value + "`";
  }
  if (!providers.empty()) {
    o += "\nAnd in the `[[providers]]` entries (the same names; `" + best_live_name(v) + "` has them in place):\n" +
         providers + "\n";
  }
  return o;
}

// The whole live config of the best point -- the scenario's providers, routes and policy
// (or the live config it names) with the point's values -- in the live config's format,
// to deploy as is; empty when no point finished.
Result<std::optional<std::string>> best_live_config(const Definition& d, const ScenarioView& v, std::uint32_t s) {
  if (v.order.empty()) return std::optional<std::string>{};
  const auto point = v.points[v.order.front()].point;
  const ScenarioEntry& e = d.scenarios[s];
  Result<Scenario> loaded = load_scenario_string(e.text, e.path, overrides_of(d.axes, d.points[point]));
  if (!loaded) return loaded.error();
  FAILOVER_ASSERT(!loaded->policies.empty());
  Result<std::string> toml = config::config_toml(loaded->policies.front().config);
  if (!toml) return toml.error();
  return std::optional<std::string>{"# failover sweep: the live config of point " + std::to_string(point) + " (" +
                                    point_values(d, point, ", ") + "), the best of " + e.path +
                                    ". Every key is spelt out (docs/config.md); a provider needs base_url and "
                                    "api_key_env before it serves live traffic.\n" +
                                    *toml};
}

Result<std::string> scenario_section(const Shard& m, const ScenarioView& v, std::uint32_t s) {
  const Definition& d = m.definition;
  const ScenarioEntry& e = d.scenarios[s];
  const std::size_t all_pass = static_cast<std::size_t>(
      std::count_if(v.points.begin(), v.points.end(), [](const PointSummary& p) { return p.passed == p.seeds; }));
  std::string seeds;
  for (const std::uint64_t seed : e.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
  std::string o = "\n## " + report::md_prose(v.scenario.name) + " -- " + report::md_prose(v.scenario.title) + "\n\n";
  o += "File `" + e.path + "` (hash " + text_hash(e.text) + "), seeds " + seeds + ". " +
       std::to_string(v.points.size()) + " of " + std::to_string(d.points.size()) + " points finished; **" +
       std::to_string(all_pass) + " passed every expectation on every seed**.\n\n";
  o += expectations_table(v);
  if (all_pass == 0 && !v.points.empty()) o += diagnosis_section(d, v);
  o += "\n### Ranking\n\nPoints by the share of seeds on which every expectation held (and no request was lost), then "
       "by the worst seed's "
       "availability (higher first), p99 latency, cost (lower first); points equal in all of that go to the one "
       "closest to the scenario's own policy -- the fewest keys changed (keys changed: how many keys of the "
       "scenario's config the point sets to another value) -- then to the lower point number. Figures are each "
       "point's worst seed. "
       "The first " +
       std::to_string(std::min(kRankingRows, v.points.size())) + " of " + std::to_string(v.points.size()) +
       "; every run is in points.csv.\n\n";
  o += ranking_table(d, v);
  o += "\n### Pareto frontier\n\nA point is on the frontier when no other point has at least its availability, at most "
       "its p99 and at "
       "most its cost (worst seed each) and is better in one of the three. " +
       std::string(v.frontier_of_passing
                       ? "Only the points that passed every expectation on every seed compete: a point that fails its "
                         "scenario is no candidate, however cheap or fast."
                       : "No point passed every seed, so every point competes.") +
       "\n\n";
  o += frontier_table(d, v);
  o += "\n![availability vs p99 latency](" + svg_name(v) + ")\n";
  o += "\n### What each value does\n\nOver every point with that value: the runs that passed, and the median of the "
       "points' worst-seed figures.\n\n";
  o += effects_table(d, v);
  o += "\n### Best policy\n\n";
  Result<std::string> best = best_policy(d, v, s);
  if (!best) return best.error();
  return o + *best;
}

// The command line that runs this sweep again (unsharded): the scenario paths, each key's
// values, --seeds when every scenario ran seeds 1..N, --random from the mode.
std::string command_line(const Definition& d) {
  std::string o = "failover sweep";
  for (const ScenarioEntry& e : d.scenarios) o += " " + e.path;
  for (const Axis& a : d.axes) {
    std::string values;
    for (const std::string& v : a.values) values += (values.empty() ? "" : ",") + display_value(v);
    o += " --set " + a.key + "=" + values;
  }
  const std::vector<std::uint64_t>& first = d.scenarios.front().seeds;
  bool one_to_n = true;
  for (const ScenarioEntry& e : d.scenarios) one_to_n = one_to_n && e.seeds == first;
  for (std::size_t i = 0; i < first.size(); ++i) one_to_n = one_to_n && first[i] == i + 1;
  if (one_to_n) o += " --seeds " + std::to_string(first.size());
  unsigned long long count = 0, seed = 0;
  if (std::sscanf(d.mode.c_str(), "random %llu (sweep seed %llu)", &count, &seed) == 2) {
    o += " --random " + std::to_string(count) + " --sweep-seed " + std::to_string(seed);
  }
  return o + " --out DIR";
}

Result<std::string> report_md(const Shard& m, const std::vector<ScenarioView>& views) {
  const Definition& d = m.definition;
  std::size_t runs = 0;
  for (const ScenarioEntry& e : d.scenarios) runs += e.seeds.size() * d.points.size();
  std::string o = "# Policy sweep\n\n";
  if (m.partial)
    o += "**Partial: the sweep was interrupted; only the points whose every seed finished are reported.**\n\n";
  o += std::to_string(d.points.size()) + " points (" + d.mode + ") x " + std::to_string(d.scenarios.size()) +
       " scenario" + (d.scenarios.size() == 1 ? "" : "s") + ", " + std::to_string(runs) +
       " runs of the policy under test planned, " + std::to_string(m.records.size()) +
       " finished. Made by `failover sweep` (docs/sweep.md); every run is in points.csv and points.json. "
       "To run it again (add --shard I/N to split it over machines):\n\n```sh\n" +
       command_line(d) + "\n```\n\n";
  o += "| key under [policy] | values |\n|---|---|\n";
  for (const Axis& a : d.axes) {
    std::string values;
    for (const std::string& value : a.values) values += (values.empty() ? "" : ", ") + display_value(value);
    o += "| " + report::md_cell(a.key) + " | " + report::md_cell(values) + " |\n";
  }
  for (std::uint32_t s = 0; s < views.size(); ++s) {
    Result<std::string> section = scenario_section(m, views[s], s);
    if (!section) return section.error();
    o += *section;
  }
  return o;
}

// The diagnosis on one line, for the console: "; fails most: X (57/60 runs), moved most
// by KEY".
std::string why_text(const Definition& d, const std::vector<PointSummary>& points,
                     const std::vector<const Expectation*>& expectations) {
  const Diagnosis g = diagnose(d, points, expectations);
  if (g.none_failed) return "; every expectation held, but runs lost requests";
  std::string o = "; fails most: " + expectation_name(*expectations[g.expectation]) + " (" +
                  std::to_string(g.failed_runs) + "/" + std::to_string(g.runs) + " runs)";
  if (!g.keys.empty() && g.keys.front().groups > 0 && g.keys.front().spread > 0.0)
    o += ", moved most by " + d.axes[g.keys.front().axis].key;
  return o;
}

}  // namespace

Result<std::string> best_points_text(const Shard& merged) {
  std::string out;
  for (std::uint32_t s = 0; s < merged.definition.scenarios.size(); ++s) {
    const ScenarioEntry& e = merged.definition.scenarios[s];
    const Result<Scenario> scenario = load_scenario_string(e.text, e.path);
    if (!scenario) return scenario.error();
    const Result<std::vector<std::uint32_t>> changed = changed_keys(merged.definition, s);
    if (!changed) return changed.error();
    const std::vector<PointSummary> points = summarize(merged, s, *changed);
    const std::vector<std::size_t> order = ranking(points);
    const std::string name = std::filesystem::path(e.path).stem().string();
    if (order.empty()) {
      out += name + ": no point finished\n";
      continue;
    }
    const PointSummary& best = points[order.front()];
    const auto passing =
        std::count_if(points.begin(), points.end(), [](const PointSummary& p) { return p.passed == p.seeds; });
    char availability[64];
    std::snprintf(availability, sizeof availability, "%.3f%%", best.availability_pct);
    out += name + ": " + std::to_string(passing) + " of " + std::to_string(points.size()) +
           " points pass every seed; best: point " + std::to_string(best.point) + " (" +
           point_values(merged.definition, best.point, ", ") + "), " + std::to_string(best.passed) + "/" +
           std::to_string(best.seeds) + " seeds passed, worst availability " + availability +
           (passing == 0 ? why_text(merged.definition, points, policy_expectations(*scenario)) : std::string()) + "\n";
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> render(const Shard& merged) {
  FAILOVER_ASSERT(merged.count == 1);
  FAILOVER_ASSERT(!merged.definition.scenarios.empty());
  Result<std::vector<ScenarioView>> views = views_of(merged);
  if (!views) return views.error();
  std::vector<std::pair<std::string, std::string>> files;
  files.emplace_back("points.csv", points_csv(merged, *views));
  files.emplace_back("points.json", points_json(merged, *views));
  Result<std::string> md = report_md(merged, *views);
  if (!md) return md.error();
  files.emplace_back("report.md", std::move(*md));
  for (const ScenarioView& v : *views) files.emplace_back(svg_name(v), scatter(merged.definition, v));
  for (std::uint32_t s = 0; s < views->size(); ++s) {
    Result<std::optional<std::string>> live = best_live_config(merged.definition, (*views)[s], s);
    if (!live) return live.error();
    if (*live) files.emplace_back(best_live_name((*views)[s]), std::move(**live));
  }
  return files;
}

}  // namespace failover::sim::sweep
