// Engine: the sans-I/O failover core. It decides which target each request goes to,
// when to retry, back off, hedge, fail over, queue, drop or give up, and what each
// attempt cost -- and leaves every I/O to its driver: the simulator's virtual clock
// and fake fleet, or the live HTTPS transport. Time comes in as an argument; work
// goes out as actions; the engine reads no clock, opens no socket, starts no thread.
//
// How to drive it. A driver owns the engine, one ActionBuffer, one timer and a clock,
// and turns each event into one input: submit() for a request of its caller, cancel()
// when that caller goes away, on_first_byte() and on_response() for what an attempt
// did, on_timeout() when its timer fires. After every input it (1) performs every action in the buffer, in order,
// and clears it -- SendAttempt starts an attempt (remember its AttemptId),
// CancelAttempt aborts one (never report it afterwards), Complete answers a request
// (its id may be submitted again from then on), Charge and BreakerChanged are records
// to keep or log -- and (2) re-arms its one timer at next_deadline(), or disarms it
// when that is empty; a deadline at or before now means: call on_timeout() again at
// once. Every input needs Engine::kRoomPerInput free places in the buffer, which a
// buffer cleared after every input always has. `now` must never go backwards across
// inputs. The engine is not thread-safe: call it from one thread (or under one lock),
// and feed outcomes back on that thread. docs/embedding.md has a complete driver loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/engine/action.h"
#include "core/engine/config.h"
#include "core/engine/outcome.h"
#include "core/engine/prng.h"
#include "core/engine/request.h"
#include "core/engine/time.h"

namespace failover {

struct TargetHealth {
  Index target = kNoIndex;
  BreakerState breaker = BreakerState::closed;
  std::int64_t attempts = 0;
  std::int64_t successes = 0;
  std::int64_t failures = 0;  // health failures only (not 4xx, not 429)
  std::int64_t rate_limited = 0;
  std::int64_t ewma_latency_us = 0;  // 0 until the first sample
  std::int32_t inflight = 0;
  std::int32_t trips = 0;  // times the breaker opened
  Time open_until;         // while open
  Time blocked_until;      // Retry-After back-pressure
  bool misconfigured = false;
  std::int64_t cost_micro_usd = 0;
};

struct EngineTotals {
  std::int64_t submitted = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t dropped = 0;
  std::int64_t cancelled = 0;  // of dropped: withdrawn by their caller (Engine::cancel)
  std::int64_t attempts = 0;
  std::int64_t retries = 0;  // attempts beyond the first, hedges included
  std::int64_t hedges = 0;
  std::int64_t retry_budget_denied = 0;
  std::int64_t breaker_trips = 0;
  std::int64_t trips_suppressed = 0;  // kept closed by min_available_targets
  std::int64_t downgrades = 0;
  std::int64_t cost_micro_usd = 0;
  std::int64_t possibly_billed_micro_usd = 0;
  std::int64_t queued = 0;  // waiting now
  std::int64_t active = 0;  // held now, in any state
};

struct HealthReport {
  std::vector<TargetHealth> targets;         // in target order
  std::vector<std::int64_t> route_requests;  // requests per route
  EngineTotals totals;
};

// What an engine took over from the one it replaces on a config reload (Engine::take_over).
struct TakeOver {
  std::vector<bool> targets;    // per target of the new config: its state came from the previous engine
  std::vector<bool> providers;  // per provider of the new config: likewise
  bool retry_budget = false;
  bool cost_window = false;
};

class EngineImpl;

class Engine {
 public:
  // The room an input needs in its ActionBuffer: every input asserts out.room() >=
  // kRoomPerInput on entry. An input with more to say than the buffer holds stops
  // early, and next_deadline() returns `now` until on_timeout() has said the rest.
  static constexpr std::size_t kRoomPerInput = 8;

  // `config` must have passed validate(); the engine copies what it needs and sizes
  // every table here, so submit/on_response/on_timeout do not allocate.
  Engine(const Config& config, Prng prng);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // A new request. Emits at least one of: Complete (dropped at once: queue full,
  // invalid, cost budget), SendAttempt (dispatched now), or nothing (queued).
  // Preconditions (asserted: a driver that breaks one has a bug): now >= every earlier
  // now; request.id is not held already, i.e. no request with that id was submitted
  // and not yet completed.
  void submit(Time now, const Request& request, ActionBuffer& out) noexcept;

  // The caller of request `request` went away (its connection closed, its user gave
  // up): nobody wants the answer. The request ends now with exactly one Complete
  // (dropped, EndReason::cancelled), wherever it was -- queued, backing off, in flight
  // with or without a hedge twin. Each attempt in flight gets a CancelAttempt
  // (CancelReason::caller_gone; the driver must not report it afterwards), except a
  // half-open breaker's probe, which runs on to its verdict as for any request that
  // ends (SendAttempt::probe). It says nothing about any target: no breaker hears of
  // it and the retry budget is untouched; an attempt already sent may have been billed
  // (a possibly_billed Charge). The room it frees goes to queued requests at once (it
  // may emit their SendAttempts). Named like submit(), not on_*: it is the caller's
  // own word, not something an attempt or the clock did. An id the engine does not
  // hold -- never submitted, or completed already -- is a no-op (not even the engine's
  // time moves): a driver's caller may leave just as its request ends. Does not allocate.
  void cancel(Time now, RequestId request, ActionBuffer& out) noexcept;

  // The first byte of attempt `attempt` arrived (streams: the first content delta, not
  // merely the first bytes: only content delivered to the caller commits). Records
  // time to first byte; for a streamed request, commits it to this attempt and cancels
  // its hedge twin; until then any failure of the attempt fails over. May emit
  // CancelAttempt, Charge and SendAttempt (the freed slot).
  void on_first_byte(Time now, AttemptId attempt, ActionBuffer& out) noexcept;

  // Attempt `attempt` ended. Every SendAttempt gets exactly one on_response unless the
  // engine cancelled it first (after CancelAttempt the driver must not report it); a
  // probe (SendAttempt::probe) is reported even after its request's Complete. A failure
  // to even start the attempt (connect refused, TLS, DNS) is an Outcome too.
  // May emit Complete, Charge, SendAttempt, CancelAttempt, BreakerChanged.
  void on_response(Time now, AttemptId attempt, const Outcome& outcome, ActionBuffer& out) noexcept;

  // Timers: deadlines, attempt timeouts, backoffs, hedges, targets coming back.
  // An early call is a no-op.
  void on_timeout(Time now, ActionBuffer& out) noexcept;

  // The earliest time the engine needs on_timeout; `now` itself when it stopped
  // early for lack of room in the action buffer. Empty when nothing is pending.
  [[nodiscard]] std::optional<Time> next_deadline() const noexcept;

  // A config reload: this engine, made from the new config and given no input yet,
  // takes over from `previous` (the old config's engine, which keeps the requests and
  // attempts it holds and goes on serving them) the state of what did not change:
  // - a target (provider name, model id) whose provider has the same settings (name,
  //   base_url, protocol, api_key_env, concurrency_max, rpm_max, tpm_max; its list of
  //   other models aside), whose model has the same id, prices and context window, under
  //   an equal breaker policy: its breaker (state, open_until, trip streak, window), its
  //   Retry-After block and misconfiguration rest, its latency estimate and counts, and
  //   its throttle window when the throttle window is equal;
  // - a provider with the same settings, under the same adaptive-concurrency switch: its
  //   adaptive limit and its rpm/tpm buckets;
  // - the retry budget's level when the budget settings are equal, and the cost spent in
  //   the current budget window when the window is equal.
  // Attempts in flight stay the previous engine's: each target starts with none in
  // flight, and a half-open breaker's probes in flight are given back (their verdicts
  // reach the previous engine only), so this one may probe again. Everything else
  // starts fresh. `now` is at or after every input of either engine, and both read the
  // same clock.
  TakeOver take_over(Time now, const Engine& previous);

  [[nodiscard]] HealthReport health(Time now) const;
  // A liveness check, for a driver that verifies the engine (the simulator does after
  // every input): a target that some waiting request could be sent to right now, which
  // the engine nevertheless left idle -- empty when there is none, as there should
  // never be. `now` is the time of the last input. Reads only; costs one route scan
  // when requests wait.
  [[nodiscard]] std::optional<Index> idle_target(Time now) const noexcept;
  [[nodiscard]] EngineTotals totals() const noexcept;
  [[nodiscard]] const Config& config() const noexcept;

 private:
  std::unique_ptr<EngineImpl> impl_;
};

// Four inputs' worth fit in the smallest buffer: a driver that clears it after every
// input never starves the engine.
static_assert(Engine::kRoomPerInput * 4 <= ActionBuffer::kCapacityMin);

}  // namespace failover
