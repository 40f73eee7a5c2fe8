// The report's charts: each policy's first-seed run drawn over time, policies in the
// same colours in every chart, fault windows shaded behind the data. Long runs are
// binned so that no line has more than kPointsMax points.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/engine/assert.h"
#include "sim/report.h"
#include "sim/report_format.h"
#include "sim/svg.h"

namespace failover::sim {
namespace {

using report::policy_colour;

constexpr std::size_t kPointsMax = 600;
constexpr const char* kArrivalsColour = "#222222";  // thin, dashed, over the successes
constexpr const char* kLimitColour = "#c0392b";
constexpr const char* kPlanColour = "#555555";

struct Frame {
  double end_minutes = 1.0;
  std::string seed_text;  // "seed 7" (or "seeds 7, 9" when policies' first seeds differ)
};

double minutes_of(Time t) {
  return static_cast<double>(to_us(t)) / 60e6;
}
double minutes_of(Duration d) {
  return static_cast<double>(to_us(d)) / 60e6;
}

const RunResult& first_run(const PolicyResult& p) {
  FAILOVER_ASSERT(!p.runs.empty());
  return p.runs.front();
}

Frame frame_of(const ScenarioResult& result) {
  Frame f;
  f.end_minutes = std::max(minutes_of(result.scenario->duration), 0.0);
  std::vector<std::uint64_t> seeds;
  for (const PolicyResult& p : result.policies) {
    f.end_minutes = std::max(f.end_minutes, minutes_of(first_run(p).end));
    if (std::find(seeds.begin(), seeds.end(), first_run(p).seed) == seeds.end()) seeds.push_back(first_run(p).seed);
  }
  if (!(f.end_minutes > 0.0)) f.end_minutes = 1.0;
  f.seed_text = seeds.size() == 1 ? "seed " : "seeds ";
  for (std::size_t i = 0; i < seeds.size(); ++i) f.seed_text += (i == 0 ? "" : ", ") + std::to_string(seeds[i]);
  return f;
}

svg::Axis time_axis(const Frame& f) {
  static constexpr double kSteps[] = {1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440, 2880};
  double step = kSteps[std::size(kSteps) - 1];
  for (const double s : kSteps) {
    if (f.end_minutes / s <= 10.0) {
      step = s;
      break;
    }
  }
  svg::Axis axis{"time since the start (h:mm)", 0.0, f.end_minutes, false, {}};
  for (int i = 0; i <= 64 && step * i <= f.end_minutes + 1e-9; ++i) {
    axis.ticks.push_back(svg::Tick{step * i, report::clock_text(step * i)});
  }
  return axis;
}

using TickLabel = std::string (*)(double value, double step);

std::string count_label(double v, double) {
  return report::group_digits(std::llround(v));
}
std::string usd_label(double v, double step) {
  return "$" + svg::fixed(v, step < 1.0 ? 2 : 0);
}

// A linear axis from 0 with room above `max`; integer steps for counts.
svg::Axis value_axis(const std::string& label, double max, bool integer, TickLabel format) {
  double step = svg::nice_ceiling(std::max(max, 0.0) / 5.0);
  if (integer) step = std::max(step, 1.0);
  const double hi = std::max(step, std::ceil(max * 1.04 / step) * step);
  svg::Axis axis{label, 0.0, hi, false, {}};
  for (const double v : svg::linear_ticks(0.0, hi, 12)) axis.ticks.push_back(svg::Tick{v, format(v, step)});
  return axis;
}

// "200 ms", "1 s", "0.5 ms": as few decimals as the 1-2-5 value needs.
std::string latency_label(double ms) {
  const bool seconds = ms >= 1'000.0;
  const double v = seconds ? ms / 1e3 : ms;
  int digits = 0;
  while (digits < 3 && std::abs(v * std::pow(10.0, digits) - std::round(v * std::pow(10.0, digits))) > 1e-6) ++digits;
  return svg::fixed(v, digits) + (seconds ? " s" : " ms");
}

// A log10 axis over the positive values in [lo, hi], ticks at 1-2-5 per decade when
// the range is narrow; values are milliseconds.
svg::Axis latency_axis(double lo, double hi) {
  const double l = std::pow(10.0, std::floor(std::log10(std::max(lo, 1e-3))));
  double h = std::pow(10.0, std::ceil(std::log10(std::max(hi, 1e-3))));
  if (h <= l) h = l * 10.0;
  svg::Axis axis{"latency (log scale)", l, h, true, {}};
  const bool fine = h / l <= 1'000.0;
  for (double decade = l; decade <= h * 1.0001; decade *= 10.0) {
    for (const double m : {1.0, 2.0, 5.0}) {
      if (m != 1.0 && !fine) continue;
      const double v = decade * m;
      if (v <= h * 1.0001) axis.ticks.push_back(svg::Tick{v, latency_label(v)});
    }
  }
  return axis;
}

std::string intensity_text(Ratio r) {
  if (r == kRatioOne) return "";
  const double v = static_cast<double>(r.num) / static_cast<double>(r.den);
  return " at " + report::percent(v, v < 0.01 ? 2 : (v * 100.0 == std::round(v * 100.0) ? 0 : 1));
}

// What a fault band says: its provider and kind, with the figures that tell faults of
// one kind apart ("anthropic: 503 at 94%", "openai: latency x4").
std::string fault_label(const ProviderSpec& p, const Fault& f) {
  std::string what;
  switch (f.kind) {
    case FaultKind::http_error:
      what = std::to_string(f.status) + (f.retry_after ? " + Retry-After" : "");
      break;
    case FaultKind::latency:
      what = f.latency_first_token ? "slow first token"
                                   : "latency x" + svg::fixed(static_cast<double>(f.latency_factor_permille) / 1e3,
                                                              f.latency_factor_permille % 1000 == 0 ? 0 : 1);
      break;
    case FaultKind::stream_error:
      what = "stream error " + std::to_string(f.status);
      break;
    default:
      what = to_string(f.kind);
      break;
  }
  return p.name + ": " + what + (f.kind == FaultKind::latency ? "" : intensity_text(f.intensity));
}

std::vector<svg::Span> fault_spans(const Scenario& s) {
  std::vector<svg::Span> spans;
  for (const ProviderSpec& p : s.providers) {
    for (const Fault& f : p.faults) {
      spans.push_back(svg::Span{minutes_of(f.start), minutes_of(f.end()), fault_label(p, f)});
    }
  }
  return spans;
}

// Buckets per plotted bin: at least `min_bin` long and at most kPointsMax bins.
std::size_t bin_size(const RunResult& run, Duration min_bin) {
  std::size_t k = 1;
  if (to_us(run.bucket) > 0 && to_us(min_bin) > to_us(run.bucket)) {
    k = static_cast<std::size_t>(to_us(min_bin) / to_us(run.bucket));
  }
  return std::max(k, (run.series.size() + kPointsMax - 1) / kPointsMax);
}

enum class Merge : std::uint8_t { sum, max };
using Field = std::int64_t (*)(const Bucket&);

struct Bin {
  double from = 0.0;  // minutes
  double to = 0.0;
  double value = 0.0;
};

std::vector<Bin> binned(const RunResult& run, std::size_t k, Field field, Merge merge) {
  FAILOVER_ASSERT(k >= 1);
  const double width = minutes_of(run.bucket);
  std::vector<Bin> bins;
  for (std::size_t i = 0; i < run.series.size(); i += k) {
    const std::size_t end = std::min(run.series.size(), i + k);
    std::int64_t v = 0;
    for (std::size_t j = i; j < end; ++j) {
      v = merge == Merge::sum ? v + field(run.series[j]) : std::max(v, field(run.series[j]));
    }
    bins.push_back(Bin{width * static_cast<double>(i), width * static_cast<double>(end), static_cast<double>(v)});
  }
  return bins;
}

// Points at bin midpoints, value x scale; with skip_zero a zero value breaks the line.
std::vector<std::vector<svg::Point>> segments_of(const std::vector<Bin>& bins, double scale, bool skip_zero) {
  std::vector<std::vector<svg::Point>> segments(1);
  for (const Bin& b : bins) {
    if (skip_zero && b.value <= 0.0) {
      if (!segments.back().empty()) segments.emplace_back();
      continue;
    }
    segments.back().push_back(svg::Point{(b.from + b.to) / 2.0, b.value * scale});
  }
  if (segments.back().empty()) segments.pop_back();
  return segments;
}

double max_of(const std::vector<svg::Line>& lines) {
  double m = 0.0;
  for (const svg::Line& line : lines) {
    for (const auto& seg : line.segments) {
      for (const svg::Point& p : seg) m = std::max(m, p.y);
    }
  }
  return m;
}

svg::Line straight(const std::string& name, const std::string& colour, svg::Point a, svg::Point b) {
  return svg::Line{name, colour, {{a, b}}, true, true, 1.5};
}

svg::LineChart base_chart(const ScenarioResult& result, const Frame& f, const std::string& title,
                          const std::string& detail) {
  svg::LineChart c;
  c.title = title;
  c.subtitle = result.scenario->title + " · " + f.seed_text + (detail.empty() ? "" : " · " + detail);
  c.x = time_axis(f);
  c.spans = fault_spans(*result.scenario);
  c.span_label = "fault active";
  return c;
}

bool same_series(const ScenarioResult& result, Field field) {
  const RunResult& a = first_run(result.policies.front());
  for (const PolicyResult& p : result.policies) {
    const RunResult& b = first_run(p);
    if (b.series.size() != a.series.size()) return false;
    for (std::size_t i = 0; i < a.series.size(); ++i) {
      if (field(a.series[i]) != field(b.series[i])) return false;
    }
  }
  return true;
}

ChartFile throughput_chart(const ScenarioResult& result, const Frame& f) {
  const Field arrived = [](const Bucket& b) { return b.arrived; };
  const Field succeeded = [](const Bucket& b) { return b.succeeded; };
  const bool shared_arrivals = same_series(result, arrived);
  svg::LineChart c = base_chart(result, f, "Arrivals and successes per minute", "");
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const RunResult& run = first_run(result.policies[i]);
    const std::size_t k = bin_size(run, minutes(1));
    const double per_minute =
        k == 0 || to_us(run.bucket) == 0 ? 0.0 : 1.0 / (minutes_of(run.bucket) * static_cast<double>(k));
    if (!shared_arrivals) {
      c.lines.push_back(svg::Line{result.policies[i].name + " arrivals", policy_colour(i),
                                  segments_of(binned(run, k, arrived, Merge::sum), per_minute, false), true, false,
                                  1.5});
    }
    // Policies that succeed alike draw one line over another: each is drawn narrower
    // than the one before it, so every policy's line shows as a rim around the next.
    const double width = 2.0 + 1.2 * static_cast<double>(result.policies.size() - 1 - i);
    c.lines.push_back(svg::Line{result.policies[i].name + " successes", policy_colour(i),
                                segments_of(binned(run, k, succeeded, Merge::sum), per_minute, false), false, false,
                                width});
  }
  if (shared_arrivals) {
    // Drawn last and thin, so the successes under it stay visible where they equal it.
    const RunResult& run = first_run(result.policies.front());
    const std::size_t k = bin_size(run, minutes(1));
    const double per_minute =
        k == 0 || to_us(run.bucket) == 0 ? 0.0 : 1.0 / (minutes_of(run.bucket) * static_cast<double>(k));
    c.lines.push_back(svg::Line{"arrivals", kArrivalsColour,
                                segments_of(binned(run, k, arrived, Merge::sum), per_minute, false), true, false, 1.2});
  }
  c.y = value_axis("requests per minute", max_of(c.lines), true, count_label);
  return ChartFile{"throughput", "Arrivals and successes per minute", svg::render(c)};
}

ChartFile buffer_chart(const ScenarioResult& result, const Frame& f) {
  const Field held = [](const Bucket& b) { return b.held_max; };
  const std::int64_t capacity = result.scenario->buffer.capacity;
  svg::LineChart c = base_chart(result, f, "Buffer depth against capacity", "requests held, peak per interval");
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const RunResult& run = first_run(result.policies[i]);
    c.lines.push_back(svg::Line{result.policies[i].name, policy_colour(i),
                                segments_of(binned(run, bin_size(run, run.bucket), held, Merge::max), 1.0, false),
                                false, false, 2.0});
    if (run.overflow_at && capacity > 0) {
      c.markers.push_back(
          svg::Marker{svg::Point{minutes_of(*run.overflow_at), static_cast<double>(capacity)}, policy_colour(i),
                      result.policies[i].name + " overflows at " + report::clock_text(minutes_of(*run.overflow_at))});
    }
  }
  const double top = std::max(max_of(c.lines), static_cast<double>(capacity));
  if (capacity > 0) {
    c.lines.push_back(straight("capacity " + report::group_digits(capacity), kLimitColour,
                               svg::Point{0.0, static_cast<double>(capacity)},
                               svg::Point{f.end_minutes, static_cast<double>(capacity)}));
  }
  c.y = value_axis("requests held", top, true, count_label);
  return ChartFile{"buffer", "Buffer depth against capacity", svg::render(c)};
}

const char* state_colour(BreakerState s) {
  switch (s) {
    case BreakerState::closed:
      return "#cfe9d6";
    case BreakerState::open:
      return "#d55e00";
    case BreakerState::half_open:
      return "#e6a700";
  }
  return "#bdbdbd";
}

constexpr const char* kUnrecorded = "#bdbdbd";

// The lane of one target: its state from the run's transitions; past the last kept
// transition (when the run kept only the first kTransitionsKept) the state is unknown.
svg::Lane breaker_lane(const RunResult& run, std::size_t target, const std::string& label, const Frame& f) {
  svg::Lane lane{label, {}};
  BreakerState state = BreakerState::closed;
  bool seen = false;
  double since = 0.0;
  for (const Transition& t : run.transitions) {
    if (t.target != target) continue;
    if (!seen) state = t.from;
    seen = true;
    lane.bands.push_back(svg::Band{since, minutes_of(t.at), state_colour(state)});
    state = t.to;
    since = minutes_of(t.at);
  }
  const bool truncated = run.transitions_total > static_cast<std::int64_t>(run.transitions.size());
  const double known_until =
      truncated && !run.transitions.empty() ? minutes_of(run.transitions.back().at) : f.end_minutes;
  lane.bands.push_back(svg::Band{since, known_until, state_colour(state)});
  if (truncated) lane.bands.push_back(svg::Band{known_until, f.end_minutes, kUnrecorded});
  return lane;
}

ChartFile breaker_chart(const ScenarioResult& result, const Frame& f) {
  svg::LaneChart c;
  c.title = "Breaker state per target";
  c.subtitle = result.scenario->title + " · " + f.seed_text;
  c.x = time_axis(f);
  c.spans = fault_spans(*result.scenario);
  c.span_label = "fault active";
  c.legend = {svg::LegendEntry{"closed", state_colour(BreakerState::closed), false, true},
              svg::LegendEntry{"open", state_colour(BreakerState::open), false, true},
              svg::LegendEntry{"half-open", state_colour(BreakerState::half_open), false, true}};
  bool truncated = false;
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const RunResult& run = first_run(result.policies[i]);
    truncated = truncated || run.transitions_total > static_cast<std::int64_t>(run.transitions.size());
    svg::LaneGroup group{result.policies[i].name, policy_colour(i), {}};
    const Config* config = report::policy_config(result, i);
    for (std::size_t t = 0; t < report::target_count(result, i); ++t) {
      group.lanes.push_back(breaker_lane(run, t, report::target_name(config, t), f));
    }
    c.groups.push_back(std::move(group));
  }
  if (truncated) c.legend.push_back(svg::LegendEntry{"not recorded", kUnrecorded, false, true});
  return ChartFile{"breakers", "Breaker state per target", svg::render(c)};
}

double min_positive(const std::vector<svg::Line>& lines) {
  double lo = 0.0;
  for (const svg::Line& line : lines) {
    for (const auto& seg : line.segments) {
      for (const svg::Point& p : seg) lo = lo == 0.0 ? p.y : std::min(lo, p.y);
    }
  }
  return lo > 0.0 ? lo : 1.0;
}

ChartFile latency_chart(const ScenarioResult& result, const Frame& f) {
  const Field p50 = [](const Bucket& b) { return b.latency_p50_us; };
  const Field p99 = [](const Bucket& b) { return b.latency_p99_us; };
  bool merged = false;
  for (const PolicyResult& p : result.policies) merged = merged || bin_size(first_run(p), first_run(p).bucket) > 1;
  svg::LineChart c = base_chart(result, f, "Latency of successful requests, end to end",
                                merged ? "worst bucket per interval" : "per bucket");
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const RunResult& run = first_run(result.policies[i]);
    const std::size_t k = bin_size(run, run.bucket);
    const std::string& name = result.policies[i].name;
    c.lines.push_back(svg::Line{name + " p99", policy_colour(i),
                                segments_of(binned(run, k, p99, Merge::max), 1e-3, true), false, false, 2.0});
    c.lines.push_back(svg::Line{name + " p50", policy_colour(i),
                                segments_of(binned(run, k, p50, Merge::max), 1e-3, true), true, false, 1.5});
  }
  c.y = latency_axis(min_positive(c.lines), std::max(max_of(c.lines), 1.0));
  return ChartFile{"latency", "Latency p50 and p99", svg::render(c)};
}

std::vector<svg::Point> cumulative_cost(const RunResult& run) {
  const Field cost = [](const Bucket& b) { return b.cost_micro_usd; };
  std::vector<svg::Point> points{svg::Point{0.0, 0.0}};
  double total = 0.0;
  for (const Bin& b : binned(run, bin_size(run, run.bucket), cost, Merge::sum)) {
    total += b.value / 1e6;
    points.push_back(svg::Point{b.to, total});
  }
  return points;
}

ChartFile cost_chart(const ScenarioResult& result, const Frame& f) {
  const std::int64_t budget = result.scenario->cost_budget_micro_usd;
  svg::LineChart c = base_chart(result, f, "Cumulative cost", "US dollars");
  bool same_plan = true;
  for (const PolicyResult& p : result.policies) {
    same_plan = same_plan && first_run(p).plan_cost_micro_usd == first_run(result.policies[0]).plan_cost_micro_usd;
  }
  for (std::size_t i = 0; i < result.policies.size(); ++i) {
    const RunResult& run = first_run(result.policies[i]);
    c.lines.push_back(svg::Line{result.policies[i].name, policy_colour(i), {cumulative_cost(run)}, false, false, 2.0});
  }
  for (std::size_t i = 0; i < result.policies.size() && (i == 0 || !same_plan); ++i) {
    const double plan = static_cast<double>(first_run(result.policies[i]).plan_cost_micro_usd) / 1e6;
    if (plan <= 0.0) continue;
    const std::string name =
        same_plan ? "all-primary plan (pro rata)" : result.policies[i].name + " all-primary plan (pro rata)";
    c.lines.push_back(straight(name, same_plan ? kPlanColour : policy_colour(i), svg::Point{0.0, 0.0},
                               svg::Point{f.end_minutes, plan}));
  }
  if (budget > 0) {
    const double b = static_cast<double>(budget) / 1e6;
    c.lines.push_back(
        straight("budget " + report::usd(budget), kLimitColour, svg::Point{0.0, b}, svg::Point{f.end_minutes, b}));
  }
  c.y = value_axis("US dollars, cumulative", max_of(c.lines), false, usd_label);
  return ChartFile{"cost", "Cumulative cost against budget and plan", svg::render(c)};
}

// --- Availability per minute, against each policy's SLO ---

// A percent axis from a round value below `lo` to 100%, so that 99.9% and 99.99% part.
svg::Axis percent_axis(const std::string& label, double lo) {
  const double span = std::max(100.0 - std::clamp(lo, 0.0, 100.0), 0.01);
  double step = svg::nice_ceiling(span * 1.1 / 5.0);
  const double bottom = std::max(0.0, std::floor((100.0 - span * 1.1) / step) * step);
  svg::Axis axis{label, bottom, 100.0 + step * 0.25, false, {}};
  const int digits = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  for (const double v : svg::linear_ticks(bottom, 100.0, 8)) {
    axis.ticks.push_back(svg::Tick{v, svg::fixed(v, digits) + "%"});
  }
  return axis;
}

// Per bin of about a minute: succeeded / (succeeded + failed + dropped) of the requests
// that ended in it, in percent; a bin where none ended breaks the line.
std::vector<std::vector<svg::Point>> availability_segments(const RunResult& run, double& lo) {
  const std::size_t k = bin_size(run, minutes(1));
  const double width = minutes_of(run.bucket);
  std::vector<std::vector<svg::Point>> segments(1);
  for (std::size_t i = 0; i < run.series.size(); i += k) {
    const std::size_t end = std::min(run.series.size(), i + k);
    std::int64_t ok = 0;
    std::int64_t ended = 0;
    for (std::size_t j = i; j < end; ++j) {
      ok += run.series[j].succeeded;
      ended += run.series[j].succeeded + run.series[j].failed + run.series[j].dropped;
    }
    if (ended == 0) {
      if (!segments.back().empty()) segments.emplace_back();
      continue;
    }
    const double v = 100.0 * static_cast<double>(ok) / static_cast<double>(ended);
    lo = std::min(lo, v);
    segments.back().push_back(svg::Point{width * (static_cast<double>(i + end) / 2.0), v});
  }
  if (segments.back().empty()) segments.pop_back();
  return segments;
}

ChartFile availability_chart(const ScenarioResult& result, const Frame& f) {
  svg::LineChart c =
      base_chart(result, f, "Availability per minute", "succeeded / ended, of the requests that ended in each minute");
  double lo = 100.0;
  const std::size_t n = result.policies.size();
  for (std::size_t i = 0; i < n; ++i) {
    c.lines.push_back(svg::Line{result.policies[i].name, policy_colour(i),
                                availability_segments(first_run(result.policies[i]), lo), false, false,
                                2.0 + 1.2 * static_cast<double>(n - 1 - i)});
  }
  std::optional<double> slo_min;
  for (const Expectation& e : result.scenario->expectations) {
    if (e.metric != Metric::availability || (e.bound != Bound::at_least && e.bound != Bound::between)) continue;
    for (std::size_t i = 0; i < n; ++i) {
      if (result.policies[i].name != e.policy) continue;
      c.lines.push_back(straight(e.policy + " SLO >= " + svg::fixed(e.lo, e.lo == std::round(e.lo) ? 0 : 2) + "%",
                                 policy_colour(i), svg::Point{0.0, e.lo}, svg::Point{f.end_minutes, e.lo}));
      slo_min = std::min(slo_min.value_or(100.0), e.lo);
    }
  }
  // With an SLO the axis serves it: from five times its error budget below 100%, so that
  // 99.9% and 99.99% part; what falls lower is drawn at the bottom edge, and says so.
  if (slo_min && lo < 100.0 - 5.0 * (100.0 - *slo_min)) {
    lo = std::max(0.0, 100.0 - 5.0 * (100.0 - *slo_min));
    c.subtitle += " · lower minutes drawn at the bottom edge";
  }
  c.y = percent_axis("available", lo);
  return ChartFile{"availability", "Availability per minute against the SLO", svg::render(c)};
}

// --- Per target, for the policy under test (the scenario's first) ---

constexpr std::size_t kFocus = 0;

svg::LineChart focus_chart(const ScenarioResult& result, const Frame& f, const std::string& title,
                           const std::string& detail) {
  return base_chart(result, f, title, "policy under test: " + result.policies[kFocus].name + " · " + detail);
}

double bin_middle(const ChartSeries& chart, std::size_t b) {
  return minutes_of(chart.bin) * (static_cast<double>(b) + 0.5);
}

// Traffic share: each target's part of the attempts sent in each interval.
ChartFile share_chart(const ScenarioResult& result, const Frame& f) {
  const RunResult& run = first_run(result.policies[kFocus]);
  const ChartSeries& chart = run.chart;
  const Config* config = report::policy_config(result, kFocus);
  svg::LineChart c = focus_chart(result, f, "Traffic share per target",
                                 "share of the attempts sent in each " + report::duration_text(chart.bin));
  for (std::size_t t = 0; t < chart.targets; ++t) {
    std::vector<std::vector<svg::Point>> segments(1);
    for (std::size_t b = 0; b < chart.bins; ++b) {
      std::int64_t all = 0;
      for (std::size_t u = 0; u < chart.targets; ++u) all += chart.target(b, u).attempts;
      if (all == 0) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      const double share = 100.0 * static_cast<double>(chart.target(b, t).attempts) / static_cast<double>(all);
      segments.back().push_back(svg::Point{bin_middle(chart, b), share});
    }
    if (segments.back().empty()) segments.pop_back();
    c.lines.push_back(
        svg::Line{report::target_name(config, t), policy_colour(t), std::move(segments), false, false, 2.0});
  }
  c.y = svg::Axis{"share of attempts", 0.0, 104.0, false, {}};
  for (const double v : svg::linear_ticks(0.0, 100.0, 6)) c.y.ticks.push_back(svg::Tick{v, svg::fixed(v, 0) + "%"});
  return ChartFile{"share", "Traffic share per target", svg::render(c)};
}

// Attempts per minute by how they ended, every class but success.
ChartFile errors_chart(const ScenarioResult& result, const Frame& f) {
  const RunResult& run = first_run(result.policies[kFocus]);
  const ChartSeries& chart = run.chart;
  svg::LineChart c = focus_chart(result, f, "Failed attempts by class", "attempts per minute, all targets");
  const double per_minute = 1.0 / minutes_of(chart.bin);
  for (std::size_t k = 0; k < kOutcomeClassCount; ++k) {
    if (k == static_cast<std::size_t>(OutcomeClass::success)) continue;
    std::vector<svg::Point> points;
    bool any = false;
    for (std::size_t b = 0; b < chart.bins; ++b) {
      any = any || chart.by_class[b][k] > 0;
      points.push_back(svg::Point{bin_middle(chart, b), static_cast<double>(chart.by_class[b][k]) * per_minute});
    }
    if (!any) continue;
    const auto cls = static_cast<OutcomeClass>(k);
    const std::string name = std::string(to_string(cls)) + (cls == OutcomeClass::cancelled ? " (by the engine)" : "");
    c.lines.push_back(svg::Line{
        name, policy_colour(c.lines.size()), {std::move(points)}, cls == OutcomeClass::cancelled, false, 2.0});
  }
  if (c.lines.empty()) c.subtitle += " · no attempt failed";
  c.y = value_axis("attempts per minute", max_of(c.lines), true, count_label);
  return ChartFile{"errors", "Failed attempts by class", svg::render(c)};
}

// Each target's mean time to a successful answer, send to answer: a fallback's
// brownout shows here, where the end-to-end percentiles average it away.
ChartFile target_latency_chart(const ScenarioResult& result, const Frame& f) {
  const RunResult& run = first_run(result.policies[kFocus]);
  const ChartSeries& chart = run.chart;
  const Config* config = report::policy_config(result, kFocus);
  svg::LineChart c =
      focus_chart(result, f, "Latency per target",
                  "mean of successful attempts, send to answer, per " + report::duration_text(chart.bin));
  for (std::size_t t = 0; t < chart.targets; ++t) {
    std::vector<std::vector<svg::Point>> segments(1);
    for (std::size_t b = 0; b < chart.bins; ++b) {
      const TargetBin& tb = chart.target(b, t);
      if (tb.successes == 0) {
        if (!segments.back().empty()) segments.emplace_back();
        continue;
      }
      const double mean_ms = static_cast<double>(tb.success_latency_us) / static_cast<double>(tb.successes) / 1e3;
      segments.back().push_back(svg::Point{bin_middle(chart, b), mean_ms});
    }
    if (segments.back().empty()) segments.pop_back();
    c.lines.push_back(
        svg::Line{report::target_name(config, t), policy_colour(t), std::move(segments), false, false, 2.0});
  }
  c.y = latency_axis(min_positive(c.lines), std::max(max_of(c.lines), 1.0));
  return ChartFile{"target-latency", "Latency per target", svg::render(c)};
}

// Attempts in flight to each provider, peak per interval, against its concurrency_max.
ChartFile in_flight_chart(const ScenarioResult& result, const Frame& f) {
  const RunResult& run = first_run(result.policies[kFocus]);
  const ChartSeries& chart = run.chart;
  const Config* config = report::policy_config(result, kFocus);
  svg::LineChart c = focus_chart(result, f, "Attempts in flight per provider",
                                 "peak per " + report::duration_text(chart.bin) + ", against concurrency_max");
  for (std::size_t p = 0; p < chart.providers; ++p) {
    std::vector<svg::Point> points;
    for (std::size_t b = 0; b < chart.bins; ++b) {
      points.push_back(svg::Point{bin_middle(chart, b), static_cast<double>(chart.in_flight(b, p))});
    }
    const std::string& name = result.scenario->providers[p].name;
    c.lines.push_back(svg::Line{name, policy_colour(p), {std::move(points)}, false, false, 2.0});
  }
  double top = max_of(c.lines);
  for (std::size_t p = 0; config != nullptr && p < chart.providers && p < config->providers.size(); ++p) {
    const double limit = static_cast<double>(config->providers[p].concurrency_max);
    if (limit <= 0.0) continue;
    c.lines.push_back(straight(result.scenario->providers[p].name + " concurrency_max " +
                                   report::group_digits(config->providers[p].concurrency_max),
                               policy_colour(p), svg::Point{0.0, limit}, svg::Point{f.end_minutes, limit}));
    top = std::max(top, limit);
  }
  c.y = value_axis("attempts in flight", top, true, count_label);
  return ChartFile{"in-flight", "Attempts in flight against the limit", svg::render(c)};
}

}  // namespace

std::vector<ChartFile> report_charts(const ScenarioResult& result) {
  FAILOVER_ASSERT(result.scenario != nullptr);
  FAILOVER_ASSERT(!result.policies.empty());
  const Frame f = frame_of(result);
  return {throughput_chart(result, f), availability_chart(result, f),   buffer_chart(result, f),
          breaker_chart(result, f),    share_chart(result, f),          errors_chart(result, f),
          latency_chart(result, f),    target_latency_chart(result, f), in_flight_chart(result, f),
          cost_chart(result, f)};
}

}  // namespace failover::sim
