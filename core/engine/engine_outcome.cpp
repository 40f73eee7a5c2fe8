// Outcomes and timers: what an attempt's end means for its target's health, its
// request's next step (retry, fall back, back off, give up) and the clock.
#include <algorithm>

#include "core/engine/assert.h"
#include "core/engine/backoff.h"
#include "core/engine/engine_impl.h"

namespace failover {

void EngineImpl::on_first_byte(Time now, AttemptId id, ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(out.room() >= Engine::kRoomPerInput);
  advance(now);
  const std::uint32_t aslot = attempt_slot_of(id);
  AttemptSlot& a = attempts_[aslot];
  if (a.first_byte_at != kTimeNever) return;  // only the first counts
  a.first_byte_at = now;
  a.first_byte_deadline = kTimeNever;
  arm_attempt(aslot);
  if (a.request == kNoSlot) return;  // a detached probe: only its verdict is awaited
  RequestSlot& r = requests_[a.request];
  r.wake_at = kTimeNever;  // an answer is coming: no hedge
  if (r.stream) {
    // The caller now holds bytes from this attempt: it is the one, and a failure
    // from here on cannot be replayed elsewhere unnoticed.
    r.committed = true;
    const auto live = r.live;  // let_go compacts r.live
    for (const std::uint32_t other : live) {
      if (other != kNoSlot && other != aslot) let_go(now, other, CancelReason::hedge_lost, out);
    }
  }
  arm_request(a.request);
  pump(now, out);  // a cancelled hedge twin freed a slot that a queued request may take
}

void EngineImpl::on_response(Time now, AttemptId id, const Outcome& outcome, ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(out.room() >= Engine::kRoomPerInput);
  advance(now);
  end_attempt(now, attempt_slot_of(id), outcome, out);
  pump(now, out);
}

void EngineImpl::end_attempt(Time now, std::uint32_t aslot, const Outcome& outcome, ActionBuffer& out) noexcept {
  const AttemptSlot a = attempts_[aslot];  // a copy: the slot is freed below
  const std::uint32_t slot = a.request;
  FAILOVER_ASSERT(slot == kNoSlot || requests_[slot].phase == Phase::inflight);
  const OutcomeClass cls = classify(outcome, config_.policy.classify);
  record_health(now, a, cls, outcome, out);
  settle(aslot, cls, &outcome, out);
  release_attempt(aslot);
  if (slot == kNoSlot) return;  // a detached probe: its verdict was all it was for
  RequestSlot& r = requests_[slot];
  if (cls == OutcomeClass::success) {
    const auto live = r.live;  // let_go compacts r.live
    for (const std::uint32_t other : live) {
      if (other != kNoSlot) let_go(now, other, CancelReason::hedge_lost, out);
    }
    finish(now, slot, RequestStatus::succeeded, EndReason::ok, a.target, out);
    return;
  }
  r.last_failure = cls;
  if (r.live[0] != kNoSlot || r.live[1] != kNoSlot) return;  // its hedge twin may still win
  decide_next(now, slot, cls, outcome, a.target, out);
}

// Health bookkeeping for one ended attempt: breaker, latency, back-pressure.
void EngineImpl::record_health(Time now, const AttemptSlot& a, OutcomeClass cls, const Outcome& outcome,
                               ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(a.used);
  FAILOVER_ASSERT(a.target < targets_.size());
  FAILOVER_ASSERT(now >= a.started);
  TargetState& ts = targets_[a.target];
  FAILOVER_ASSERT(ts.inflight > 0);  // the attempt is released after its health is recorded
  const ClassEffect& effect = config_.policy.classify.effects[static_cast<std::size_t>(cls)];
  const std::int64_t failures_before = ts.failures;
  const Time blocked_before = ts.blocked_until;
  const std::int64_t latency_us = to_us(now) - to_us(a.started);
  const Time first_byte = std::min(a.first_byte_at, now);
  const std::int64_t threshold = to_us(config_.policy.breaker.slow_call_threshold);
  const bool slow = threshold > 0 && to_us(first_byte) - to_us(a.started) > threshold;
  const BreakerState before = ts.breaker.state();
  Breaker::Change change = Breaker::Change::none;
  if (cls == OutcomeClass::success) {
    ++ts.successes;
    const Ratio w = config_.policy.health.ewma_weight;
    ts.ewma_us = ts.has_ewma ? ts.ewma_us + (latency_us - ts.ewma_us) * w.num / w.den : latency_us;
    ts.ewma_at = now;
    ts.has_ewma = true;
    FAILOVER_ASSERT(ts.ewma_us >= 0);
    // A success that was not slow can trip nothing: skip the route-floor scan then.
    change = ts.breaker.record(now, {.failure = false, .slow = slow, .trip_allowed = slow && trip_allowed(a.target)},
                               a.probe);
  } else if (effect.health) {
    ++ts.failures;
    change = ts.breaker.record(now, {.failure = true, .slow = slow, .trip_allowed = trip_allowed(a.target)}, a.probe);
  } else {
    ts.breaker.on_abandon(a.probe);
  }
  if (config_.policy.retry.adaptive_throttle && kClassFacts[static_cast<std::size_t>(cls)].accepted) {
    ++ts.throttle.at(now, config_.policy.retry.throttle_window).accepts;
  }
  if (cls == OutcomeClass::rate_limited) {
    ++ts.rate_limited;
    if (outcome.retry_after && to_us(*outcome.retry_after) > 0) {
      // Back-pressure is state: every request routes around the target until then,
      // spread by jitter so that the herd does not return at one instant.
      const std::int64_t ra = to_us(*outcome.retry_after);
      const std::int64_t spread = config_.policy.retry.retry_after_jitter.scale(ra);
      const Time until = add_sat(now, Duration{ra + (spread > 0 ? prng_.range(0, spread) : 0)});
      ts.blocked_until = std::max(ts.blocked_until, until);
      FAILOVER_ASSERT(ts.blocked_until > now);
    }
  }
  if (cls == OutcomeClass::credential) {
    ts.misconfigured_until = add_sat(now, config_.policy.health.misconfigured_cooldown);
  }
  // Only a health failure counts against the target, and only a 429 holds it back.
  FAILOVER_ASSERT(ts.failures - failures_before == (cls != OutcomeClass::success && effect.health ? 1 : 0));
  FAILOVER_ASSERT(cls == OutcomeClass::rate_limited || ts.blocked_until == blocked_before);
  FAILOVER_ASSERT(ts.blocked_until >= blocked_before);
  // A breaker that did not change kept its state; a change is announced by note_breaker.
  FAILOVER_ASSERT(change != Breaker::Change::none || ts.breaker.state() == before);
  FAILOVER_ASSERT(change != Breaker::Change::suppressed || ts.breaker.state() == before);
  adapt_limit(now, a.target, cls, change);
  note_breaker(now, a.target, change, before, out);
  arm_target(now, a.target);
}

// The provider's adaptive concurrency limit (ConcurrencyPolicy::adaptive): AIMD on
// load-shedding signals. Runs before the attempt is released: `inflight` counts it.
void EngineImpl::adapt_limit(Time now, Index target, OutcomeClass cls, Breaker::Change change) noexcept {
  if (!config_.policy.concurrency.adaptive) return;
  ProviderState& ps = providers_[config_.targets[target].provider];
  const std::int32_t max = config_.providers[config_.targets[target].provider].concurrency_max;
  FAILOVER_ASSERT(ps.limit >= 1);
  FAILOVER_ASSERT(ps.limit <= max);
  if (cls == OutcomeClass::rate_limited) {
    // What it held when it pushed back is about what it can take: 90% of that.
    ps.pushed_back_at = now;
    if (now < ps.decrease_after) return;
    ps.limit = std::max(1, std::min(ps.limit, ps.inflight) * 9 / 10);
    ps.ssthresh = ps.limit;
    ps.limit_milli = 0;
    const std::int64_t round_us = std::max<std::int64_t>(latency_estimate_us(now, targets_[target]), to_us(sec(1)));
    ps.decrease_after = add_sat(now, Duration{round_us});
  } else if (change == Breaker::Change::closed) {
    // Back from an outage: start from what the probes proved and ramp up.
    const std::int32_t start = std::max(2 * config_.policy.breaker.half_open_probes, ps.inflight);
    ps.limit = std::min(ps.limit, std::min(start, max));
  } else if (cls == OutcomeClass::success && ps.limit < max && 2 * ps.inflight >= ps.limit) {
    // A mark set by push-back long ago is forgotten: a burst of 429s that had nothing
    // to do with load (a quota, a share of random 429s) must not slow the way back.
    if (now - ps.pushed_back_at >= kLimitMarkForgottenAfter) ps.ssthresh = max;
    // Busy and answering: one more per success below ssthresh, one per round trip above.
    ps.limit_milli += ps.limit < ps.ssthresh ? 1'000 : (1'000 + ps.limit - 1) / ps.limit;
    if (ps.limit_milli >= 1'000) {
      ++ps.limit;
      ps.limit_milli = 0;
    }
  }
  FAILOVER_ASSERT(ps.limit >= 1);
  FAILOVER_ASSERT(ps.limit <= max);
}

void EngineImpl::note_breaker(Time now, Index target, Breaker::Change change, BreakerState from,
                              ActionBuffer& out) noexcept {
  switch (change) {
    case Breaker::Change::none:
      return;
    case Breaker::Change::suppressed:
      ++totals_.trips_suppressed;
      return;
    case Breaker::Change::opened:
    case Breaker::Change::reopened:
      ++totals_.breaker_trips;
      break;
    case Breaker::Change::half_opened:
    case Breaker::Change::closed:
      break;
  }
  const BreakerState to = targets_[target].breaker.state();
  FAILOVER_ASSERT(from != to);
  out.push(BreakerChanged{target, from, to, now});
}

// The route floor (Envoy's max-ejection idea): a breaker may not open if that would
// leave any route it serves with fewer than min_available_targets targets not open.
bool EngineImpl::trip_allowed(Index target) const noexcept {
  const std::int32_t floor = config_.policy.breaker.min_available_targets;
  if (floor <= 0) return true;
  for (const Index route : targets_[target].routes) {
    std::int32_t available = 0;
    for (const RouteTarget& rt : config_.routes[route].targets) {
      if (rt.target == target) continue;
      const TargetState& other = targets_[rt.target];
      if (other.breaker.state() != BreakerState::open && other.misconfigured_until <= now_) ++available;
    }
    if (available < floor) return false;
  }
  return true;
}

// After the last live attempt of a request failed: retry, fall back, wait, or end it.
void EngineImpl::decide_next(Time now, std::uint32_t slot, OutcomeClass cls, const Outcome& outcome, Index target,
                             ActionBuffer& out) noexcept {
  const RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase == Phase::inflight);
  FAILOVER_ASSERT(r.live[0] == kNoSlot);  // its last live attempt has ended...
  FAILOVER_ASSERT(r.live[1] == kNoSlot);
  FAILOVER_ASSERT(cls != OutcomeClass::success);  // ...and failed
  FAILOVER_ASSERT(r.attempts > 0);
  FAILOVER_ASSERT(r.attempts <= config_.policy.retry.attempts_max);
  if (!decide_without_retry(now, slot, cls, target, out)) decide_retry(now, slot, cls, outcome, target, out);
  // It ended, waits at the front of a queue, or backs off: nothing of it is in flight.
  FAILOVER_ASSERT(r.phase != Phase::inflight);
  FAILOVER_ASSERT(r.live[0] == kNoSlot);
}

// What needs no retry: a stream that broke after bytes reached the caller, a class the
// policy does not retry, a capability refusal (it moves to the fallback route: not a
// health failure, so no budget and no backoff). False when a retry is to be decided.
bool EngineImpl::decide_without_retry(Time now, std::uint32_t slot, OutcomeClass cls, Index target,
                                      ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  const ClassEffect& effect = config_.policy.classify.effects[static_cast<std::size_t>(cls)];
  const RouteConfig& route = config_.routes[r.route];
  if (r.committed && !route.stream_resume) {
    finish(now, slot, RequestStatus::failed, EndReason::stream_interrupted, target, out);
    return true;
  }
  // The class-effect table decides (ClassifyPolicy::effects): nothing here overrides it.
  if (!effect.retry) {
    finish(now, slot, RequestStatus::failed,
           cls == OutcomeClass::caller_error ? EndReason::caller_error : EndReason::attempts_exhausted, target, out);
    return true;
  }
  if (cls != OutcomeClass::capability || !effect.fallback) return false;
  if (route.capability_fallback == kNoIndex) {
    finish(now, slot, RequestStatus::failed, EndReason::capability, target, out);
    return true;
  }
  r.route = route.capability_fallback;
  r.tried = 0;
  if (r.attempts >= config_.policy.retry.attempts_max) {
    finish(now, slot, RequestStatus::failed, EndReason::capability, target, out);
    return true;
  }
  enqueue(slot, true);
  return true;
}

// A failure to retry: at once on a target the request has not tried, after a backoff,
// or not at all (attempts, deadline, Retry-After beyond the policy, retry budget).
void EngineImpl::decide_retry(Time now, std::uint32_t slot, OutcomeClass cls, const Outcome& outcome, Index target,
                              ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  const ClassEffect& effect = config_.policy.classify.effects[static_cast<std::size_t>(cls)];
  FAILOVER_ASSERT(effect.retry);
  if (r.attempts >= config_.policy.retry.attempts_max) {
    finish(now, slot, RequestStatus::failed, EndReason::attempts_exhausted, target, out);
    return;
  }
  if (now >= r.deadline) {
    finish(now, slot, RequestStatus::failed, EndReason::deadline_exceeded, target, out);
    return;
  }
  Candidates c;
  const Verdict v = evaluate(now, r, 0, c);
  if (v == Verdict::misconfigured) {
    // No target left that a retry could reach: fail now, naming the one that refused.
    finish(now, slot, RequestStatus::failed, EndReason::misconfigured, target, out);
    return;
  }
  bool other_ready = false;
  for (std::int32_t k = 0; k < c.count; ++k) {
    other_ready |= (r.tried >> c.position[static_cast<std::size_t>(k)] & 1U) == 0;
  }
  if (cls == OutcomeClass::rate_limited && !other_ready && outcome.retry_after &&
      *outcome.retry_after > config_.policy.retry.retry_after_max) {
    // The target asks for longer than we will wait, and nothing else can take it.
    finish(now, slot, RequestStatus::failed, EndReason::rate_limited, target, out);
    return;
  }
  if (!retry_budget_.try_take(1)) {
    ++totals_.retry_budget_denied;
    finish(now, slot, RequestStatus::failed, EndReason::retry_budget, target, out);
    return;
  }
  if (effect.fallback && other_ready && v == Verdict::ready) {
    enqueue(slot, true);  // fall back at once to a target this request has not tried
    return;
  }
  const std::int32_t retry = r.attempts;  // 1 after the first attempt failed
  const Duration sleep = backoff_delay(config_.policy.retry, retry, r.prev_sleep, prng_);
  FAILOVER_ASSERT(sleep >= Duration{0});
  r.prev_sleep = sleep;
  if (to_us(sleep) == 0) {
    enqueue(slot, true);
    return;
  }
  if (add_sat(now, sleep) >= r.deadline) {
    finish(now, slot, RequestStatus::failed, EndReason::deadline_exceeded, target, out);
    return;
  }
  r.phase = Phase::backoff;
  r.wake_at = add_sat(now, sleep);
  FAILOVER_ASSERT(r.wake_at > now);  // it backs off, and wakes before its deadline
  FAILOVER_ASSERT(r.wake_at < r.deadline);
  arm_request(slot);
}

void EngineImpl::release_attempt(std::uint32_t aslot) noexcept {
  AttemptSlot& a = attempts_[aslot];
  FAILOVER_ASSERT(a.used);
  if (a.request != kNoSlot) detach(aslot);
  FAILOVER_ASSERT(a.request == kNoSlot);
  --targets_[a.target].inflight;
  --providers_[config_.targets[a.target].provider].inflight;
  --inflight_;
  FAILOVER_ASSERT(inflight_ >= 0);
  FAILOVER_ASSERT(targets_[a.target].inflight >= 0);
  timers_.remove(timer_of_attempt(aslot));
  a.used = false;
  ++a.generation;  // a late report for this slot is now detectably stale
  free_attempts_.push_back(aslot);
}

// Unlinks an attempt from its request, which keeps no claim on it. Alone (not from
// release_attempt), it leaves a probe running after its request has ended or moved on.
void EngineImpl::detach(std::uint32_t aslot) noexcept {
  AttemptSlot& a = attempts_[aslot];
  FAILOVER_ASSERT(a.used);
  FAILOVER_ASSERT(a.request != kNoSlot);
  RequestSlot& r = requests_[a.request];
  for (auto& live : r.live) {
    if (live == aslot) live = kNoSlot;
  }
  if (r.live[0] == kNoSlot && r.live[1] != kNoSlot) std::swap(r.live[0], r.live[1]);
  a.request = kNoSlot;
}

// An attempt its request no longer needs (a twin won, the stream committed elsewhere,
// the request ended). A probe of the current half-open period is let run to its
// verdict: cancelled, it would decide nothing, its probe would be handed back, and the
// next request would take it -- a breaker whose probes go to requests near their
// deadline would stay half-open for good, taking attempt after attempt that never
// decides. Probes are few (half_open_probes), so letting them finish costs little.
void EngineImpl::let_go(Time now, std::uint32_t aslot, CancelReason why, ActionBuffer& out) noexcept {
  const AttemptSlot& a = attempts_[aslot];
  FAILOVER_ASSERT(a.used);
  FAILOVER_ASSERT(a.request != kNoSlot);
  if (targets_[a.target].breaker.current_probe(a.probe)) {
    detach(aslot);
    return;
  }
  cancel_attempt(now, aslot, why, out);
}

void EngineImpl::cancel_attempt(Time now, std::uint32_t aslot, CancelReason why, ActionBuffer& out) noexcept {
  AttemptSlot& a = attempts_[aslot];
  FAILOVER_ASSERT(a.used);
  out.push(CancelAttempt{attempt_id(aslot, a.generation), a.request_id, why});
  // An attempt abandoned after waiting past the slow-call threshold without a first
  // byte (a hedge loser on a hung target) is a slow call: the breaker hears about it,
  // or a target that hangs every call would stay closed while hedges hide it
  // (scenarios/hung-connections.toml). And a first attempt that lost without a byte to
  // its hedge -- sent hedge_after later, and first to answer -- has hung: a failure.
  // A caller going away says nothing about the target (Engine::cancel): no verdict.
  TargetState& ts = targets_[a.target];
  const std::int64_t threshold = to_us(config_.policy.breaker.slow_call_threshold);
  const bool silent = a.first_byte_at == kTimeNever;
  const bool heard = why != CancelReason::caller_gone;
  const bool slow = heard && threshold > 0 && silent && to_us(now) - to_us(a.started) > threshold;
  const bool hung = why == CancelReason::hedge_lost && silent && !a.hedge;
  if (slow || hung) {
    const BreakerState before = ts.breaker.state();
    note_breaker(
        now, a.target,
        ts.breaker.record(now, {.failure = hung, .slow = slow, .trip_allowed = trip_allowed(a.target)}, a.probe),
        before, out);
    arm_target(now, a.target);
  } else {
    ts.breaker.on_abandon(a.probe);
  }
  settle(aslot, OutcomeClass::cancelled, nullptr, out);
  release_attempt(aslot);
}

// ---- timers ------------------------------------------------------------------------

void EngineImpl::on_timeout(Time now, ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(out.room() >= Engine::kRoomPerInput);
  advance(now);
  pending_ = false;
  const std::size_t bound = timers_.capacity_ids();
  for (std::size_t i = 0; i < bound && !timers_.empty() && timers_.top_time() <= now; ++i) {
    if (out.room() < Engine::kRoomPerInput) {  // one timer may emit as much as an input
      pending_ = true;
      return;
    }
    const std::uint32_t id = timers_.top();
    timers_.remove(id);
    if (id < requests_max_) {
      on_request_timer(now, id, out);
    } else if (id < requests_max_ + inflight_max_) {
      on_attempt_timer(now, id - requests_max_, out);
    } else if (id < timer_wake()) {
      on_target_timer(now, id - requests_max_ - inflight_max_, out);
    }  // else the wake timer: nothing to do but pump
  }
  pump(now, out);
}

void EngineImpl::on_request_timer(Time now, std::uint32_t slot, ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase != Phase::free);
  if (now >= r.deadline) {
    const bool started = r.attempts > 0;
    finish(now, slot, started ? RequestStatus::failed : RequestStatus::dropped,
           started ? EndReason::deadline_exceeded : EndReason::deadline, kNoIndex, out);
    return;
  }
  if (now >= r.wake_at) {
    r.wake_at = kTimeNever;
    if (r.phase == Phase::backoff) enqueue(slot, true);
    if (r.phase == Phase::inflight) try_hedge(now, slot, out);
  }
  arm_request(slot);
}

void EngineImpl::try_hedge(Time now, std::uint32_t slot, ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  if (r.live[0] == kNoSlot || r.live[1] != kNoSlot || r.committed) return;
  if (r.attempts >= config_.policy.retry.attempts_max) return;
  if (inflight_ >= static_cast<std::int32_t>(inflight_max_)) return;
  if (attempts_[r.live[0]].first_byte_at != kTimeNever) return;
  Candidates c;
  const std::uint32_t busy = 1U << static_cast<std::uint32_t>(attempts_[r.live[0]].position);
  if (evaluate(now, r, busy, c) != Verdict::ready) return;
  if (!retry_budget_.try_take(1)) {  // hedges spend the same budget as retries
    ++totals_.retry_budget_denied;
    return;
  }
  dispatch(now, slot, c.position[static_cast<std::size_t>(pick(r, c))], true, out);
}

void EngineImpl::on_attempt_timer(Time now, std::uint32_t aslot, ActionBuffer& out) noexcept {
  AttemptSlot& a = attempts_[aslot];
  FAILOVER_ASSERT(a.used);
  const bool first_byte_late = a.first_byte_at == kTimeNever && now >= a.first_byte_deadline;
  if (!first_byte_late && now < a.deadline) {
    arm_attempt(aslot);
    return;
  }
  out.push(CancelAttempt{attempt_id(aslot, a.generation), a.request_id, CancelReason::timeout});
  end_attempt(now, aslot, Outcome::timed_out(first_byte_late ? TimeoutKind::first_byte : TimeoutKind::total), out);
}

void EngineImpl::on_target_timer(Time now, Index target, ActionBuffer& out) noexcept {
  TargetState& ts = targets_[target];
  const BreakerState before = ts.breaker.state();
  note_breaker(now, target, ts.breaker.advance(now), before, out);
  arm_target(now, target);
}

void EngineImpl::arm_request(std::uint32_t slot) noexcept {
  const RequestSlot& r = requests_[slot];
  timers_.set(timer_of_request(slot), std::min(r.deadline, r.wake_at));
}

void EngineImpl::arm_attempt(std::uint32_t aslot) noexcept {
  const AttemptSlot& a = attempts_[aslot];
  const Time fb = a.first_byte_at == kTimeNever ? a.first_byte_deadline : kTimeNever;
  timers_.set(timer_of_attempt(aslot), std::min(a.deadline, fb));
}

// A target's timer fires when it may come back: its breaker's open time ends, its
// Retry-After passes, or its misconfiguration cool-down ends.
void EngineImpl::arm_target(Time now, Index target) noexcept {
  const TargetState& ts = targets_[target];
  Time at = kTimeNever;
  if (ts.breaker.state() == BreakerState::open) at = ts.breaker.open_until();
  if (ts.blocked_until > now) at = std::min(at, ts.blocked_until);
  if (ts.misconfigured_until > now) at = std::min(at, ts.misconfigured_until);
  timers_.set(timer_of_target(target), at);
}

}  // namespace failover
