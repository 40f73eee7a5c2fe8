// `failover run SCENARIO --live [--time-scale K]`: one policy of a scenario on one seed,
// run in the live world -- the scenario's providers served in-process by the fleet
// (serve/fleet_server.h) on 127.0.0.1 over TLS with a CA made for the run, the
// scenario's arrivals (the simulator's traffic generator, same seed) sent in real time
// scaled by K through the real transport and the live driver, the policy scaled so that
// the scaled world is the same world (sim/live_world.h). It owns the clock, the threads
// and the sockets of that run; what the run measured is a sim::RunResult, judged and
// reported as a simulated one is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/engine/result.h"
#include "sim/live_world.h"
#include "sim/scenario.h"

namespace failover::cli {

// Above these a --live run is refused up front (unless --allow-long): the real time it
// would take, and the arrivals per real second at the schedule's peak. Measured
// (reports/two-worlds.md, "What the machine carries", bench/live_world_bench.sh): fleet
// and transport together spend about 0.8 ms of CPU per arrival of the headline's mix at
// K = 4 and 1.5 to 2.2 ms of the quiet day's at K = 60 (80% streamed; 2.5 to 5.6 ms
// before the fleet merged a stream's writes closer than kWriteGapMs), start-up included, on two shared
// cores where fleet and transport each have one thread. 400 arrivals per second (the
// headline at K = 10) collapsed there, and so did K = 120 after the merge: a run needs
// most of a core per thread to spare, because a core that falls behind delays answers by
// more than the scaled timeouts allow.
inline constexpr double kLiveSecondsMax = 3'600.0;
inline constexpr double kLiveArrivalsPerSecondMax = 300.0;
// The connect timeout (TCP + TLS handshake) is not scaled below this in real time: the
// simulator has no connection set-up, and on loopback a slow handshake is the machine's
// load, not a provider's fault.
inline constexpr std::int64_t kConnectFloorMs = 1'000;
// The fleet writes a streamed answer's pieces at least this far apart in real time
// (serve::FleetOptions::write_gap): the live world measures an answer's first byte and
// its end, both kept at their times, and a write per piece (64 per answer) made the
// pieces, not the requests, what the machine spent its CPU on (reports/two-worlds.md).
inline constexpr std::int64_t kWriteGapMs = 20;

struct LiveEstimate {
  double real_seconds = 0.0;     // the scenario's duration / K
  double peak_per_second = 0.0;  // arrivals per real second at the schedule's peak
  double arrivals = 0.0;         // expected arrivals (sim/estimate.h)
};
LiveEstimate estimate_live(const sim::Scenario& scenario, std::int64_t time_scale);
// Why the machine cannot carry the run, with the estimate; empty when it can.
std::optional<std::string> live_refusal(const LiveEstimate& estimate, std::int64_t time_scale);

struct LiveRun {
  sim::RunResult run;
  sim::LiveNotes notes;
};

// Runs `policy` (one of the scenario's) on `seed` live. An Error when the fleet, the
// CA or the driver cannot start; what happens to requests is the result, never an Error.
Result<LiveRun> run_live(const sim::Scenario& scenario, const sim::NamedPolicy& policy, std::uint64_t seed,
                         std::int64_t time_scale);

}  // namespace failover::cli
