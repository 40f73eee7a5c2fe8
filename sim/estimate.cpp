// The run estimate (estimate.h): the rate schedule integrated in closed form over the
// arrival window, times the events an arrival and its attempts may take.
#include "sim/estimate.h"

#include <algorithm>
#include <cstdio>
#include <numbers>

#include "core/engine/assert.h"

namespace failover::sim {
namespace {

constexpr double kUsPerMinute = 60e6;

double minutes_of(Duration d) {
  return static_cast<double>(to_us(d)) / kUsPerMinute;
}

// The length of [a, b) within [lo, hi), in minutes.
double overlap_minutes(Time a, Time b, Time lo, Time hi) {
  const Time from = std::max(a, lo);
  const Time to = std::min(b, hi);
  return to > from ? minutes_of(to - from) : 0.0;
}

// A ramp from base to peak over [start, start + duration): base before, peak after, a
// straight line between; the line's part of [a, b) by the trapezoid rule, which is exact.
double ramp_arrivals(const RateSchedule& r, Time a, Time b) {
  const Time end = r.start + r.duration;
  const auto rate_at = [&](Time t) {
    const double along = minutes_of(t - r.start) / std::max(minutes_of(r.duration), 1e-9);
    return static_cast<double>(r.base_rpm) + static_cast<double>(r.peak_rpm - r.base_rpm) * along;
  };
  double n = static_cast<double>(r.base_rpm) * overlap_minutes(a, b, kTimeZero, r.start) +
             static_cast<double>(r.peak_rpm) * overlap_minutes(a, b, end, Time::max());
  const Time from = std::max(a, r.start);
  const Time to = std::min(b, end);
  if (to > from) n += (rate_at(from) + rate_at(to)) / 2.0 * minutes_of(to - from);
  return n;
}

}  // namespace

double expected_arrivals(const TrafficSpec& spec) {
  FAILOVER_ASSERT(spec.start <= spec.end);
  if (spec.replay) return static_cast<double>(replay_arrivals(spec));  // exact: the log says
  const RateSchedule& r = spec.rate;
  FAILOVER_ASSERT(r.base_rpm >= 0 && r.peak_rpm >= 0);
  const double window = minutes_of(spec.end - spec.start);
  switch (r.kind) {
    case ScheduleKind::steady:
      return static_cast<double>(r.base_rpm) * window;
    case ScheduleKind::ramp:
      return ramp_arrivals(r, spec.start, spec.end);
    case ScheduleKind::spike:
      return static_cast<double>(r.base_rpm) * window +
             static_cast<double>(r.peak_rpm - r.base_rpm) *
                 overlap_minutes(spec.start, spec.end, r.start, r.start + r.duration);
    case ScheduleKind::diurnal:
      return static_cast<double>(r.base_rpm) * window +
             std::min(static_cast<double>(r.amplitude_rpm) * minutes_of(r.period) / std::numbers::pi,
                      static_cast<double>(r.amplitude_rpm) * window);
  }
  FAILOVER_ASSERT(false);
  return 0.0;
}

RunEstimate estimate_run(const Scenario& scenario, const NamedPolicy& policy) {
  const std::int32_t attempts = policy.config.policy.retry.attempts_max;
  FAILOVER_ASSERT(attempts >= 1);
  RunEstimate e;
  e.arrivals = expected_arrivals(scenario.traffic);
  e.events = e.arrivals * (kEventsPerRequest + kEventsPerAttempt * static_cast<double>(attempts));
  FAILOVER_ASSERT(e.events >= e.arrivals);
  return e;
}

RunEstimate estimate_draw_max(const Scenario& base) {
  const ExploreSpec& e = base.explore;
  FAILOVER_ASSERT(base.duration > Duration{0});
  const double horizon = e.horizon_hi ? minutes_of(*e.horizon_hi) / minutes_of(base.duration) : 1.0;
  const double rate = static_cast<double>(e.rate_hi_permille) / 1000.0 *
                      (e.spike_chance_ppm > 0 ? std::max(1.0, static_cast<double>(e.spike_hi_permille) / 1000.0) : 1.0);
  RunEstimate total;
  for (const NamedPolicy& p : base.policies) {
    const RunEstimate one = estimate_run(base, p);
    total.arrivals += 2.0 * one.arrivals * horizon * rate;  // with and without its faults
    total.events += 2.0 * one.events * horizon * rate;
  }
  FAILOVER_ASSERT(total.events >= total.arrivals);
  return total;
}

std::string too_long_message(const RunEstimate& total, std::size_t runs) {
  FAILOVER_ASSERT(total.events > kEventsMax);
  const double core_hours = total.events / kEventsPerSecondRelease / 3600.0;
  char text[512];
  std::snprintf(text, sizeof text,
                "would simulate about %.3g requests and up to %.3g events over %zu run%s, above the limit of %.0e "
                "events: some %.3g core-hours at %.0e events per second (a Release build; a Debug build is slower). "
                "Shorten the scenario, lower its rate, or run fewer seeds, points or draws; --allow-long runs it "
                "anyway (docs/scenarios.md, \"How long a run takes\")",
                total.arrivals, total.events, runs, runs == 1 ? "" : "s", kEventsMax, core_hours,
                kEventsPerSecondRelease);
  return text;
}

}  // namespace failover::sim
