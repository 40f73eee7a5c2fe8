// How large a run is before it runs: the requests its traffic schedule brings and a
// bound on the events the simulator would process for them, so that `failover run`,
// `sweep` and `explore` can refuse a run that cannot finish in reasonable time (a
// million requests per second for 720 hours) with the figures, instead of working for a
// day. It decides the estimate and the limit; what to do above the limit is the CLI's.
// The figures are for people and for that one comparison, never for a simulated
// decision, so they may be floating point.
#pragma once

#include <string>

#include "sim/scenario.h"
#include "sim/traffic.h"

namespace failover::sim {

// Events per request and per attempt, an upper bound fitted on the headline replay
// (reports/bench-sim.md: 5.8 events per request at 1.0 attempts, 6.4 at 1.12): an
// arrival costs about 2 events (arrival, end), each attempt up to 5 (send, first byte,
// done, charge, a breaker or backoff timer).
inline constexpr double kEventsPerRequest = 2.0;
inline constexpr double kEventsPerAttempt = 5.0;

// Above this many events a command refuses to start without --allow-long
// (docs/scenarios.md, "How long a run takes"): the simulator processes about 10 million
// events per second on one core in a Release build (reports/bench-sim.md), so 10^10
// events are some 17 core-minutes there and several times that in a Debug build.
inline constexpr double kEventsMax = 1e10;
inline constexpr double kEventsPerSecondRelease = 1e7;

// The requests that arrive in [spec.start, spec.end) on average: the integral of the rate
// schedule, exact for steady, ramp and spike schedules; for diurnal, the mean times the
// window plus the largest amount a sine can add over it (amplitude x period / pi).
double expected_arrivals(const TrafficSpec& spec);

struct RunEstimate {
  double arrivals = 0.0;  // expected_arrivals of the scenario's traffic
  double events = 0.0;    // at most about: arrivals x (kEventsPerRequest + kEventsPerAttempt x attempts_max)
};

// One run of `policy` (one of the scenario's) on one seed.
RunEstimate estimate_run(const Scenario& scenario, const NamedPolicy& policy);

// The largest draw `failover explore` may make from `base` (docs/explore.md): its traffic
// stretched to the longest horizon and scaled by the highest rate and spike multipliers
// of [explore], each of its policies run with and without faults -- an upper bound.
RunEstimate estimate_draw_max(const Scenario& base);

// "4.3e+12 events (2.6e+12 requests x up to 16 attempts) ..." -- the sentence a command
// prints when `events` (the total of what it would run, `runs` runs) is above kEventsMax.
std::string too_long_message(const RunEstimate& total, std::size_t runs);

}  // namespace failover::sim
