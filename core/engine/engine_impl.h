// EngineImpl: the engine's state and policies behind the Engine facade. Every table
// is sized at construction (request slots, attempt slots, targets, providers,
// routes) and linked by indices, never by pointers, so the hot path does not
// allocate and two runs with the same inputs make the same decisions.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/engine/action.h"
#include "core/engine/breaker.h"
#include "core/engine/config.h"
#include "core/engine/engine.h"
#include "core/engine/outcome.h"
#include "core/engine/prng.h"
#include "core/engine/request.h"
#include "core/engine/request_index.h"
#include "core/engine/timer_heap.h"
#include "core/engine/token_bucket.h"

namespace failover {

inline constexpr std::uint32_t kNoSlot = 0xffff'ffffU;
static_assert(kNoSlot == RequestIndex::kAbsent);
// A provider that has not pushed back (429) for this long grows its adaptive limit by
// slow start again: longer than the round trips of a provider near its capacity, which
// pushes back every few of them, so only a provider that has stopped pushing back
// forgets its mark.
inline constexpr Duration kLimitMarkForgottenAfter = minutes(1);
static_assert(kTargetsPerRouteMax <= 32, "tried targets are a 32-bit mask");
static_assert(kRoutesMax <= 64, "blocked routes are a 64-bit mask");

// Client-side adaptive throttling (Google SRE book, "Handling Overload"): requests and
// accepts over a sliding window of kBuckets buckets.
struct ThrottleWindow {
  static constexpr std::int64_t kBuckets = 8;
  struct Bucket {
    std::int64_t epoch = -1;
    std::int64_t requests = 0;
    std::int64_t accepts = 0;
  };
  std::array<Bucket, kBuckets> buckets{};

  static std::int64_t epoch_of(Time now, Duration window) noexcept {
    return to_us(now) / std::max<std::int64_t>(1, to_us(window) / kBuckets);
  }
  // The bucket for `now`, emptied first if it last held an older epoch.
  Bucket& at(Time now, Duration window) noexcept {
    const std::int64_t epoch = epoch_of(now, window);
    Bucket& b = buckets[static_cast<std::size_t>(epoch % kBuckets)];
    if (b.epoch != epoch) b = {epoch, 0, 0};
    return b;
  }
  // Requests and accepts over the window ending at `now`.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> totals(Time now, Duration window) const noexcept {
    const std::int64_t epoch = epoch_of(now, window);
    std::int64_t requests = 0;
    std::int64_t accepts = 0;
    for (const Bucket& b : buckets) {
      if (b.epoch < 0 || epoch - b.epoch >= kBuckets) continue;
      requests += b.requests;
      accepts += b.accepts;
    }
    return {requests, accepts};
  }
};

struct TargetState {
  Breaker breaker;
  Time blocked_until{};
  Time misconfigured_until{};
  std::int32_t inflight = 0;
  std::int64_t ewma_us = 0;  // 0 until the first sample, then initialised from it
  Time ewma_at{};            // when the last sample came: an estimate fades while unused
  bool has_ewma = false;
  std::int64_t attempts = 0;
  std::int64_t successes = 0;
  std::int64_t failures = 0;
  std::int64_t rate_limited = 0;
  std::int64_t cost_micro_usd = 0;
  ThrottleWindow throttle;
  std::vector<Index> routes;  // routes that contain this target (for the floor)
};

struct ProviderState {
  std::int32_t inflight = 0;
  std::int32_t limit = 0;        // attempts it may have in flight now (adaptive, <= concurrency_max)
  std::int32_t limit_milli = 0;  // growth in congestion avoidance, in thousandths of one more
  std::int32_t ssthresh = 0;     // below it the limit grows one per success, above it one per round trip
  Time decrease_after{};         // one decrease per round trip: a burst of 429s is one signal
  Time pushed_back_at{};         // the last 429
  TokenBucket rpm;
  TokenBucket tpm;
};

struct RouteState {
  std::uint32_t head = kNoSlot;
  std::uint32_t tail = kNoSlot;
  std::int64_t queued = 0;
  std::int64_t requests = 0;
};

enum class Phase : std::uint8_t { free, queued, inflight, backoff };

struct RequestSlot {
  RequestId id = 0;
  Phase phase = Phase::free;
  Index route = kNoIndex;
  Index tier = kNoIndex;
  std::int64_t prompt_tokens = 0;
  std::int64_t output_tokens_max = 0;
  bool stream = false;
  bool committed = false;  // a streamed byte reached the caller
  bool downgraded = false;
  std::uint64_t seq = 0;  // submit order: the queue's fairness key
  Time submitted{};
  Time queued_at{};  // when it last entered its route's queue
  Time deadline{};
  Time wake_at = kTimeNever;                            // end of backoff, or when to hedge
  std::int32_t attempts = 0;                            // started, hedges included
  std::array<std::uint32_t, 2> live{kNoSlot, kNoSlot};  // attempts in flight
  std::uint32_t tried = 0;                              // route positions already tried
  Duration prev_sleep{0};
  std::int64_t cost_micro_usd = 0;
  OutcomeClass last_failure = OutcomeClass::transient;
  std::uint32_t prev = kNoSlot;
  std::uint32_t next = kNoSlot;
};

struct AttemptSlot {
  std::uint32_t generation = 0;
  bool used = false;
  bool hedge = false;
  Breaker::Ticket probe = Breaker::kNoProbe;  // the half-open period that admitted it
  std::uint32_t request = kNoSlot;            // kNoSlot: a probe that outlived its request (detached)
  RequestId request_id = 0;
  Index target = kNoIndex;
  std::int32_t position = 0;  // in the request's route
  Time started{};
  Time deadline{};
  Time first_byte_deadline = kTimeNever;
  Time first_byte_at = kTimeNever;
  std::int64_t reserved_micro_usd = 0;
};

// Why a request cannot go out now (see EngineImpl::evaluate).
enum class Verdict : std::uint8_t { ready, wait, unavailable, over_budget, too_slow, misconfigured, too_big };

struct Candidates {
  std::array<std::int32_t, kTargetsPerRouteMax> position{};
  std::int32_t count = 0;
  Time wake = kTimeNever;          // earliest time a waiting verdict may change by itself
  Index misconfigured = kNoIndex;  // a target resting after a configuration error
};

class EngineImpl {
 public:
  EngineImpl(const Config& config, Prng prng);

  void submit(Time now, const Request& request, ActionBuffer& out) noexcept;
  void cancel(Time now, RequestId id, ActionBuffer& out) noexcept;
  void on_first_byte(Time now, AttemptId attempt, ActionBuffer& out) noexcept;
  void on_response(Time now, AttemptId attempt, const Outcome& outcome, ActionBuffer& out) noexcept;
  void on_timeout(Time now, ActionBuffer& out) noexcept;
  [[nodiscard]] std::optional<Time> next_deadline() const noexcept;
  TakeOver take_over(Time now, const EngineImpl& previous);
  [[nodiscard]] HealthReport health(Time now) const;
  [[nodiscard]] std::optional<Index> idle_target(Time now) const noexcept;
  [[nodiscard]] EngineTotals totals() const noexcept {
    EngineTotals t = totals_;
    t.queued = queued_;
    t.active = active_;
    return t;
  }

  Config config_;
  EngineTotals totals_;

 private:
  // time and ids
  void advance(Time now) noexcept;
  std::uint32_t attempt_slot_of(AttemptId id) const noexcept;
  static AttemptId attempt_id(std::uint32_t slot, std::uint32_t generation) noexcept;
  std::uint32_t timer_of_request(std::uint32_t slot) const noexcept { return slot; }
  std::uint32_t timer_of_attempt(std::uint32_t slot) const noexcept { return requests_max_ + slot; }
  std::uint32_t timer_of_target(Index t) const noexcept { return requests_max_ + inflight_max_ + t; }
  std::uint32_t timer_wake() const noexcept { return requests_max_ + inflight_max_ + target_count_; }

  // queue
  void enqueue(std::uint32_t slot, bool front) noexcept;
  void dequeue(std::uint32_t slot) noexcept;
  void pump(Time now, ActionBuffer& out) noexcept;
  bool make_room(Time now, Index route, ActionBuffer& out) noexcept;
  bool pump_once(Time now, ActionBuffer& out, std::uint64_t& blocked, Time& wake) noexcept;

  // routing
  Verdict evaluate(Time now, const RequestSlot& r, std::uint32_t exclude_mask, Candidates& c) const noexcept;
  std::int32_t pick(const RequestSlot& r, const Candidates& c) noexcept;
  bool throttled(Time now, Index target) noexcept;
  bool handle_verdict(Time now, std::uint32_t slot, Verdict v, const Candidates& c, ActionBuffer& out) noexcept;
  void dispatch(Time now, std::uint32_t slot, std::int32_t position, bool hedge, ActionBuffer& out) noexcept;
  bool fits(const RequestSlot& r, Index target) const noexcept;
  std::int64_t latency_estimate_us(Time now, const TargetState& ts) const noexcept;
  Time estimate_fades_at(Time now, const TargetState& ts) const noexcept;
  bool congested(Time now, const RouteState& q) const noexcept;
  bool route_fits(Index route, const RequestSlot& r) const noexcept;

  // outcomes
  void end_attempt(Time now, std::uint32_t aslot, const Outcome& outcome, ActionBuffer& out) noexcept;
  void record_health(Time now, const AttemptSlot& a, OutcomeClass cls, const Outcome& outcome,
                     ActionBuffer& out) noexcept;
  void decide_next(Time now, std::uint32_t slot, OutcomeClass cls, const Outcome& outcome, Index target,
                   ActionBuffer& out) noexcept;
  bool decide_without_retry(Time now, std::uint32_t slot, OutcomeClass cls, Index target, ActionBuffer& out) noexcept;
  void decide_retry(Time now, std::uint32_t slot, OutcomeClass cls, const Outcome& outcome, Index target,
                    ActionBuffer& out) noexcept;
  bool trip_allowed(Index target) const noexcept;
  void adapt_limit(Time now, Index target, OutcomeClass cls, Breaker::Change change) noexcept;
  void release_attempt(std::uint32_t aslot) noexcept;
  void cancel_attempt(Time now, std::uint32_t aslot, CancelReason why, ActionBuffer& out) noexcept;
  void let_go(Time now, std::uint32_t aslot, CancelReason why, ActionBuffer& out) noexcept;
  void detach(std::uint32_t aslot) noexcept;

  // timers
  void on_request_timer(Time now, std::uint32_t slot, ActionBuffer& out) noexcept;
  void on_attempt_timer(Time now, std::uint32_t aslot, ActionBuffer& out) noexcept;
  void on_target_timer(Time now, Index target, ActionBuffer& out) noexcept;
  void arm_request(std::uint32_t slot) noexcept;
  void arm_attempt(std::uint32_t aslot) noexcept;
  void arm_target(Time now, Index target) noexcept;
  void try_hedge(Time now, std::uint32_t slot, ActionBuffer& out) noexcept;
  void note_breaker(Time now, Index target, Breaker::Change change, BreakerState from, ActionBuffer& out) noexcept;

  // cost
  std::int64_t worst_case_cost(const RequestSlot& r, Index target) const noexcept;
  std::int64_t usage_cost(Index target, std::int64_t input, std::int64_t output) const noexcept;
  bool affordable(std::int64_t cost) const noexcept;
  void settle(std::uint32_t aslot, OutcomeClass cls, const Outcome* outcome, ActionBuffer& out) noexcept;

  // completion
  void finish(Time now, std::uint32_t slot, RequestStatus status, EndReason reason, Index target,
              ActionBuffer& out) noexcept;
  void complete_unheld(const Request& request, EndReason reason, ActionBuffer& out) noexcept;

  Prng prng_;
  std::uint32_t requests_max_;
  std::uint32_t inflight_max_;
  std::uint32_t target_count_;
  std::vector<TargetState> targets_;
  std::vector<ProviderState> providers_;
  std::vector<RouteState> routes_;
  std::vector<RequestSlot> requests_;
  std::vector<AttemptSlot> attempts_;
  std::vector<std::uint32_t> free_requests_;
  std::vector<std::uint32_t> free_attempts_;
  RequestIndex held_;  // the slot of every request id held, to check submit's precondition
  TimerHeap timers_;
  TokenBucket retry_budget_;
  Time now_{};
  bool pending_ = false;
  std::uint64_t seq_ = 0;
  std::int32_t inflight_ = 0;
  std::int64_t queued_ = 0;
  std::int64_t active_ = 0;
  std::int64_t budget_window_ = 0;
  std::int64_t spent_window_micro_usd_ = 0;
  std::int64_t reserved_micro_usd_ = 0;
};

}  // namespace failover
