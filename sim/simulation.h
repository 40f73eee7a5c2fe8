// Simulation: one run of the production engine against the fake fleet on a virtual
// clock -- traffic arrives into the application's buffer, the engine decides, the
// fleet answers, and the run measures what a user needs to know: availability, drops,
// when (if ever) the buffer overflowed, latency, attempts, breaker transitions and
// cost. It owns the event loop and the metrics; loading scenarios, checking
// expectations and writing reports are left to scenario.h, expect.h and report.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/action.h"
#include "core/engine/config.h"
#include "core/engine/engine.h"
#include "core/engine/time.h"
#include "sim/fleet.h"
#include "sim/histogram.h"
#include "sim/trace.h"
#include "sim/traffic.h"

namespace failover::sim {

// The application's buffer: the case study's message queue. It holds every request
// not yet finished -- waiting, in flight or backing off -- as a queue counts every
// unacknowledged message; an arrival that finds it full is dropped and counted.
enum class BufferMode : std::uint8_t {
  fail,     // a request whose attempts are exhausted ends failed
  requeue,  // at-least-once: it goes back to the tail and is delivered again
};

struct BufferSpec {
  std::int64_t capacity = 0;  // requests held at once; 0: unbounded
  BufferMode mode = BufferMode::fail;
  Duration redelivery_delay = ms(0);  // requeue: until the message is delivered again
  // requeue: a message delivered this many times is not delivered again but ends in the
  // dead-letter queue (counted as failed, and in dead_lettered): no message comes back forever.
  std::int32_t max_deliveries = 1'000;
};

struct RunSpec {
  Config config;                        // the policy under test (validated)
  std::vector<ProviderSpec> providers;  // the fleet, parallel to config.providers
  TrafficSpec traffic;
  BufferSpec buffer;
  Time end;  // the run stops here; unfinished work is "in flight"
  std::uint64_t seed = 1;
  Duration bucket = sec(10);  // resolution of the time series
};

struct Bucket {
  std::int64_t arrived = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t dropped = 0;
  std::int64_t attempts = 0;
  std::int64_t held_max = 0;  // buffer occupancy peak in the bucket
  std::int64_t cost_micro_usd = 0;
  std::int64_t latency_p50_us = 0;  // of requests that succeeded in the bucket
  std::int64_t latency_p99_us = 0;
  std::uint32_t open_targets = 0;  // bit t: target t's breaker was open at some point
};

// The report's per-target charts (sim/report_charts.cpp) need, over time, what each
// target was sent and answered, how long its successes took, how each attempt ended and
// how many attempts each provider had in flight. They are kept at a coarser resolution
// than `series`, at most kChartBinsMax bins of a whole number of buckets each, so their
// memory stays bounded whatever the run's duration and however many targets there are.
struct TargetBin {
  std::int64_t attempts = 0;            // sent in the bin
  std::int64_t successes = 0;           // attempts answered with success in the bin
  std::int64_t success_latency_us = 0;  // summed over those successes, send to answer
};

struct ChartSeries {
  Duration bin{0};  // a multiple of the run's bucket
  std::size_t bins = 0;
  std::size_t targets = 0;
  std::size_t providers = 0;
  std::vector<TargetBin> by_target;  // [bin * targets + target]
  // Attempts that ended in the bin, by the engine's class of their outcome (cancelled:
  // the engine gave up on them -- a hedge lost, a deadline).
  std::vector<std::array<std::int64_t, kOutcomeClassCount>> by_class;  // [bin]
  // The peak of attempts in flight to a provider during the bin, including what it
  // carried over from the bin before.
  std::vector<std::int32_t> in_flight_max;  // [bin * providers + provider]

  [[nodiscard]] const TargetBin& target(std::size_t bin_index, std::size_t t) const {
    return by_target[bin_index * targets + t];
  }
  [[nodiscard]] std::int32_t in_flight(std::size_t bin_index, std::size_t p) const {
    return in_flight_max[bin_index * providers + p];
  }
};

inline constexpr std::size_t kChartBinsMax = 600;

struct Transition {
  Time at;
  Index target = kNoIndex;
  BreakerState from = BreakerState::closed;
  BreakerState to = BreakerState::closed;
};

struct RunResult {
  std::uint64_t seed = 0;
  std::string digest;  // 16 hex digits over the ordered event trace
  std::uint64_t events = 0;
  Time end;
  Duration bucket{0};

  std::int64_t arrived = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t dropped = 0;
  std::int64_t in_flight_end = 0;
  std::int64_t requeued = 0;       // deliveries after the first
  std::int64_t dead_lettered = 0;  // requeue: failed for good after max_deliveries (also in failed)
  std::int64_t downgraded = 0;     // succeeded on a cheaper tier: the cost budget ran out
  std::array<std::int64_t, kEndReasonCount> failed_by{};
  std::array<std::int64_t, kEndReasonCount> dropped_by{};
  std::int64_t dropped_buffer_full = 0;  // arrivals that found the buffer full
  bool conserved = false;                // arrived == succeeded + failed + dropped + in flight
  // The first broken liveness invariant (half-open probe bound, an idle ready target
  // while its route waits, a request held past its deadline), with its time; empty: none.
  std::string violation;

  std::optional<Time> overflow_at;  // when the buffer first turned an arrival away
  std::int64_t held_peak = 0;

  Histogram latency;  // end to end, first arrival to success, requeues included
  std::int64_t attempts = 0;
  std::int64_t hedges = 0;
  std::int64_t retry_budget_denied = 0;
  std::vector<std::int64_t> attempts_by_target;
  std::vector<std::int64_t> cost_by_target_micro_usd;
  std::int64_t cost_micro_usd = 0;
  std::int64_t possibly_billed_micro_usd = 0;
  // The all-primary plan: what every arrival would cost at its route's primary target (the first of its highest
  // priority).
  std::int64_t plan_cost_micro_usd = 0;
  std::vector<std::int64_t> trips_by_target;
  // Why requests ended badly (the report's "why it failed"): successes per target; the
  // time each target's breaker spent open and half-open; and, per end reason and
  // target, how many requests failed or were dropped while that target's breaker was
  // open or half-open ([reason * targets + target]).
  std::vector<std::int64_t> successes_by_target;
  std::vector<Duration> open_time_by_target;
  std::vector<Duration> half_open_time_by_target;
  std::vector<std::int64_t> ended_while_open;
  std::vector<std::int64_t> ended_while_half_open;
  // What the preflight needs (sim/preflight.h): per provider, the time its attempts in
  // flight stood at the policy's concurrency_max for it; per fault (providers in order,
  // each provider's faults in order), the attempts sent to its provider while it was on.
  std::vector<Duration> saturated_time_by_provider;
  std::vector<std::int64_t> calls_in_fault;
  std::vector<Transition> transitions;  // the first kTransitionsKept, in order
  std::int64_t transitions_total = 0;
  std::vector<BreakerState> breaker_end;  // per target, at the end
  std::vector<Bucket> series;
  ChartSeries chart;

  [[nodiscard]] double availability() const {
    return arrived == 0 ? 1.0 : static_cast<double>(succeeded) / static_cast<double>(arrived);
  }
};

inline constexpr std::size_t kTransitionsKept = 4'096;

// A run's result before anything happened: every per-target, per-provider and per-fault
// figure and the time series sized for `spec`, all zero. The simulator and the live
// world (sim/live_world.h) both start from it, so their results have one shape.
RunResult empty_result(const RunSpec& spec);

// Runs one policy on one seed. `recorder` (optional) keeps the trace for a
// determinism comparison. Precondition: spec.config passed validate() and
// spec.providers matches spec.config.providers by position.
RunResult run_simulation(const RunSpec& spec, TraceRecorder* recorder = nullptr);

// Trace event kinds (TraceEvent::kind). A new kind is named in to_string (simulation.cpp),
// where the compiler checks that the switch covers every kind.
enum class TraceKind : std::uint32_t {
  arrival = 1,
  dropped_full,
  send,
  first_byte,
  response,
  cancel,
  complete,
  requeue,
  charge,
  breaker,
};

// The kind's name ("arrival", "send"...); "?" for a code that is no kind.
const char* to_string(TraceKind kind) noexcept;
// One traced event as a person reads it, for the first diverging event of a
// determinism check: "send at 1500000 us (a=3, b=1)".
std::string trace_event_text(const TraceEvent& event);

}  // namespace failover::sim
