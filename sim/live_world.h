// The live world of a scenario (`failover run --live`): the same scenario run through
// the real transport against the fleet served on loopback, in real time scaled by K.
// This header decides what makes the scaled world the same world -- the policy's
// durations divided by K, its rates multiplied by K -- and how what the live run
// observed becomes the simulator's RunResult, so that the same metrics, expectations
// and reports apply to both worlds; and it prints the two worlds side by side. It reads
// no clock: the caller (cli/live_run.cpp) stamps every event with scenario time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/engine/action.h"
#include "core/engine/config.h"
#include "core/engine/time.h"
#include "sim/histogram.h"
#include "sim/scenario.h"
#include "sim/simulation.h"

namespace failover::sim {

class JsonWriter;

// The policy as it runs in real time scaled by K: every duration of the policy and of
// the routes (timeouts, backoff, breaker windows and open times, hedge delays, the cost
// budget's window, health half-lives) divided by K, rounded up to the microsecond so
// that none becomes 0 ("off"); every rate multiplied by K (providers' rpm_max and
// tpm_max, the retry budget's floor per second). Counts, shares and money stay.
// Precondition: k >= 1. The result passes validate() when `config` does.
Config scaled_config(const Config& config, std::int64_t k);

// A scenario duration as it passes in real time scaled by K (rounded up); and back.
Duration scaled_down(Duration d, std::int64_t k);

// What a live run observed, fed in the order it happened, each event at its scenario
// time (real time since the fleet's origin x K), kept as the simulator keeps a run
// (sim/simulation.cpp): counts, the time series, latencies, attempts, cost, breakers.
// Times must not go backwards.
class LiveRecord {
 public:
  explicit LiveRecord(const RunSpec& spec);

  // An arrival of the scenario's traffic, and what the all-primary plan would pay for it.
  void arrived(Time at, std::int64_t plan_cost_micro_usd);
  // The application's buffer was full: the arrival is dropped (not submitted).
  void dropped_full(Time at);
  // The arrival was taken into the buffer and handed to the engine.
  void admitted(Time at);
  // A message that failed goes back to the queue (buffer mode requeue).
  void requeued() { ++result_.requeued; }
  // An action of the engine, as LiveOptions::on_action saw it.
  void action(Time at, const Action& action);
  // A message ended for good: succeeded after `latency` (from its first arrival), failed
  // or dropped by the engine; `dead_letter`: failed after its last allowed delivery.
  void ended(Time at, const Complete& c, Duration latency, bool dead_letter);

  // The run as the simulator reports one; `in_flight` messages were unfinished at `end`.
  // Costs come from the engine's totals (what it charged).
  RunResult finish(Time end, std::int64_t in_flight, std::int64_t cost_micro_usd,
                   std::int64_t possibly_billed_micro_usd, std::int64_t retry_budget_denied);

 private:
  Bucket& bucket(Time t);
  void close_buckets(Time upto);
  void note_breakers_at_end(std::size_t reason);
  void add_breaker_time(Index target, Time until);
  void on_send(Time at, const SendAttempt& s);
  void on_breaker(Time at, const BreakerChanged& b);

  const RunSpec& spec_;
  RunResult result_;
  std::int64_t held_ = 0;
  Time last_ = kTimeZero;
  Histogram bucket_latency_;
  std::size_t bucket_latency_index_ = 0;
  Time bucket_closes_at_ = kTimeZero;
  std::int64_t held_at_open_ = 0;
  std::vector<BreakerState> breaker_;
  std::vector<Time> breaker_since_;
  std::vector<std::size_t> first_fault_;  // per provider: its first fault's index in calls_in_fault
};

// What the live run's world did differently from the simulator's, measured by the
// caller, for the report's notes.
struct LiveNotes {
  std::int64_t time_scale = 1;
  double wall_seconds = 0.0;          // the live run, real time
  double arrival_late_mean_ms = 0.0;  // real ms an arrival was submitted after its scheduled instant
  double arrival_late_max_ms = 0.0;
  std::int64_t connections = 0;       // connections the transport opened (TLS handshakes)
  std::int64_t connect_floor_ms = 0;  // the connect timeout was kept at least this long, in real ms
  std::int64_t unfinished = 0;        // requests cut off when the scenario ended
};

// The metrics printed side by side, in this order.
inline constexpr Metric kTwoWorldsMetrics[] = {
    Metric::availability,  Metric::failed,        Metric::dropped,       Metric::attempts_per_request,
    Metric::breaker_trips, Metric::failover_time, Metric::recovery_time, Metric::overflow_at,
    Metric::latency_p50,   Metric::latency_p99,   Metric::cost_usd,      Metric::cost_ratio,
};

// The table: per metric, the simulator's value, the live run's, and live minus sim
// (percentage points for percentages); then the sentences saying where the worlds must
// differ and by how much this run did.
std::string two_worlds_table(const Scenario& scenario, const std::string& policy, const RunResult& simulated,
                             const RunResult& live, const LiveNotes& notes);

// The same as members of a JSON object: "time_scale", "notes" [sentences] and
// "metrics" [{metric, sim, live, difference}] (null where a value is infinite).
void write_two_worlds(JsonWriter& j, const Scenario& scenario, const RunResult& simulated, const RunResult& live,
                      const LiveNotes& notes);

// The sentences of the notes, shared by the table and the JSON.
std::vector<std::string> two_worlds_notes(const LiveNotes& notes);

}  // namespace failover::sim
