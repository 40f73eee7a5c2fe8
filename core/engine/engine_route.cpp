// Admission, routing and dispatch: which queued request goes next, to which target.
#include <algorithm>

#include "core/engine/assert.h"
#include "core/engine/engine_impl.h"

namespace failover {

void EngineImpl::submit(Time now, const Request& request, ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(out.room() >= Engine::kRoomPerInput);
  // The caller's promise (Request::id): an id is not reused while the engine holds it,
  // or its driver could not tell the two requests' actions apart.
  FAILOVER_ASSERT(held_.find(request.id) == kNoSlot);
  advance(now);
  ++totals_.submitted;
  // Every request earns the retry budget a share of one retry (Finagle's RetryBudget).
  retry_budget_.deposit_milli(config_.policy.retry.budget_ratio.scale(1'000));

  Index route = request.route;
  if (request.tier != kNoIndex) {
    route = request.tier < config_.tiers.size() ? config_.tiers[request.tier].route : kNoIndex;
  }
  if (route >= config_.routes.size()) {
    complete_unheld(request, EndReason::invalid_request, out);
    return;
  }
  const QueuePolicy& qp = config_.policy.queue;
  if (queued_ >= qp.depth_max && !make_room(now, route, out)) {
    complete_unheld(request, EndReason::queue_full, out);
    return;
  }
  if (active_ >= qp.requests_max || free_requests_.empty()) {
    complete_unheld(request, EndReason::queue_full, out);
    return;
  }
  const Time deadline = request.deadline.value_or(add_sat(now, config_.policy.timeouts.request));
  if (deadline <= now) {
    complete_unheld(request, EndReason::deadline, out);
    return;
  }
  const std::uint32_t slot = free_requests_.back();
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase == Phase::free);
  r = RequestSlot{};
  r.id = request.id;
  r.route = route;
  r.tier = request.tier;
  r.prompt_tokens = request.prompt_tokens;
  r.output_tokens_max = request.output_tokens_max;
  r.stream = request.stream;
  r.seq = seq_++;
  r.submitted = now;
  r.deadline = deadline;
  if (!route_fits(route, r)) {
    complete_unheld(request, EndReason::invalid_request, out);
    return;
  }
  free_requests_.pop_back();
  held_.insert(request.id, slot);
  ++active_;
  ++routes_[route].requests;
  enqueue(slot, false);
  arm_request(slot);
  pump(now, out);
}

// The caller withdrew the request (Engine::cancel). It ends as any request ends
// (finish): its attempts are cancelled -- a current probe runs on, detached -- and its
// queue place, timers and slot are given back; then the freed room goes to the queue.
void EngineImpl::cancel(Time now, RequestId id, ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(out.room() >= Engine::kRoomPerInput);
  FAILOVER_ASSERT(now >= now_);  // time never goes backwards, even for a no-op
  const std::uint32_t slot = held_.find(id);
  // Never held, or completed already (the caller raced the engine): nothing changes, not
  // even the engine's time -- advancing it alone would refill buckets and roll the budget
  // window without the pump that must follow.
  if (slot == kNoSlot) return;
  advance(now);
  FAILOVER_ASSERT(requests_[slot].id == id);
  FAILOVER_ASSERT(requests_[slot].phase != Phase::free);
  const std::int64_t active_before = active_;
  ++totals_.cancelled;
  finish(now, slot, RequestStatus::dropped, EndReason::cancelled, kNoIndex, out);
  FAILOVER_ASSERT(held_.find(id) == kNoSlot);  // ended exactly once: a second cancel is a no-op
  FAILOVER_ASSERT(active_ == active_before - 1);
  pump(now, out);
}

// The queue is full: the route holding the most waiting requests gives up its oldest,
// if that is another route holding more than `route` does -- so that a backlog for a
// route whose targets are all down cannot turn away requests for a healthy one. False
// when `route` itself holds the most (its own newcomer is the one turned away).
bool EngineImpl::make_room(Time now, Index route, ActionBuffer& out) noexcept {
  std::size_t largest = route;
  for (std::size_t q = 0; q < routes_.size(); ++q) {
    if (routes_[q].queued > routes_[largest].queued) largest = q;
  }
  if (largest == route || routes_[largest].queued <= routes_[route].queued + 1) return false;
  const std::uint32_t oldest = routes_[largest].head;
  FAILOVER_ASSERT(oldest != kNoSlot);
  FAILOVER_ASSERT(requests_[oldest].phase == Phase::queued);
  finish(now, oldest, requests_[oldest].attempts == 0 ? RequestStatus::dropped : RequestStatus::failed,
         EndReason::queue_full, kNoIndex, out);
  return true;
}

// Can some target of the route, or of its capability fallbacks, hold the request?
bool EngineImpl::route_fits(Index route, const RequestSlot& r) const noexcept {
  for (std::size_t hops = 0; route != kNoIndex && hops < kRoutesMax; ++hops) {
    for (const RouteTarget& rt : config_.routes[route].targets) {
      if (fits(r, rt.target)) return true;
    }
    route = config_.routes[route].capability_fallback;
  }
  return false;
}

bool EngineImpl::fits(const RequestSlot& r, Index target) const noexcept {
  const std::int64_t window = config_.model(target).context_window_tokens;
  return window == 0 || r.prompt_tokens + r.output_tokens_max <= window;
}

// Sends queued requests while there is room: the oldest request (by submit order)
// among the heads of the per-route queues whose route has a target ready for it.
void EngineImpl::pump(Time now, ActionBuffer& out) noexcept {
  std::uint64_t blocked = 0;  // routes whose head cannot go now...
  Time wake = kTimeNever;     // ...and the earliest time one of them may go by itself
  const std::size_t bound = requests_.size() + routes_.size() + 1;
  for (std::size_t i = 0; i < bound; ++i) {
    if (out.room() < Engine::kRoomPerInput) {  // one decision may emit as much as an input
      pending_ = true;
      break;
    }
    if (!pump_once(now, out, blocked, wake)) break;
  }
  // Set once all decisions are made: a route found blocked early in the pass keeps its
  // wake time even when a later decision in the same pass ends another request.
  timers_.set(timer_wake(), wake);
}

// One dispatch decision; false when nothing more can go now.
bool EngineImpl::pump_once(Time now, ActionBuffer& out, std::uint64_t& blocked, Time& wake) noexcept {
  if (queued_ == 0 || inflight_ >= static_cast<std::int32_t>(inflight_max_)) return false;
  std::uint32_t best = kNoSlot;
  Candidates best_c;
  for (std::size_t route = 0; route < routes_.size(); ++route) {
    const RouteState& q = routes_[route];
    const std::uint32_t head = congested(now, q) ? q.tail : q.head;
    if (head == kNoSlot || (blocked >> route & 1U) != 0) continue;
    if (best != kNoSlot && requests_[best].seq < requests_[head].seq) continue;
    Candidates c;
    const Verdict v = evaluate(now, requests_[head], 0, c);
    if (v == Verdict::ready) {
      best = head;
      best_c = c;
      continue;
    }
    if (handle_verdict(now, head, v, c, out)) return true;  // the head ended or moved: decide again
    // The head waits for a target that later requests may not need: one it is too slow
    // for may be free for the newest (most time left), which must not idle behind it.
    Candidates newest;
    if (q.tail != head && evaluate(now, requests_[q.tail], 0, newest) == Verdict::ready) {
      best = q.tail;
      best_c = newest;
      continue;
    }
    blocked |= std::uint64_t{1} << route;
    wake = std::min({wake, c.wake, q.tail != head ? newest.wake : kTimeNever});
  }
  if (best == kNoSlot) return false;
  RequestSlot& r = requests_[best];
  for (std::int32_t tries = 0; best_c.count > 0 && tries < static_cast<std::int32_t>(kTargetsPerRouteMax); ++tries) {
    const std::int32_t k = pick(r, best_c);
    const Index target =
        config_.routes[r.route].targets[static_cast<std::size_t>(best_c.position[static_cast<std::size_t>(k)])].target;
    if (!throttled(now, target)) {
      const std::int32_t position = best_c.position[static_cast<std::size_t>(k)];
      dequeue(best);
      dispatch(now, best, position, false, out);
      return true;
    }
    best_c.position[static_cast<std::size_t>(k)] = best_c.position[static_cast<std::size_t>(best_c.count - 1)];
    --best_c.count;
  }
  // Every ready target refused the request client-side (adaptive throttling).
  finish(now, best, r.attempts == 0 ? RequestStatus::dropped : RequestStatus::failed, EndReason::no_target, kNoIndex,
         out);
  return true;
}

// Liveness check for drivers that verify the engine (the simulator does, after every
// input): a target whose breaker admits, that is not blocked or misconfigured, whose
// provider has room, and that the newest request waiting on one of its routes could
// use at once -- idle while that request waits. The newest is the one with the most
// time left: if it cannot use the target, no request of the route can.
std::optional<Index> EngineImpl::idle_target(Time now) const noexcept {
  if (pending_ || queued_ == 0 || inflight_ >= static_cast<std::int32_t>(inflight_max_)) return std::nullopt;
  FAILOVER_ASSERT(now >= now_);
  // A timer already due (a refilled rate bucket, a lapsed block) is the driver's to
  // fire: until it does, the engine has not been told that time has passed.
  if (!timers_.empty() && timers_.top_time() <= now) return std::nullopt;
  for (std::size_t route = 0; route < routes_.size(); ++route) {
    const RouteState& q = routes_[route];
    if (q.tail == kNoSlot) continue;
    Candidates c;
    if (evaluate(now_, requests_[q.tail], 0, c) != Verdict::ready) continue;
    return config_.routes[route].targets[static_cast<std::size_t>(c.position[0])].target;
  }
  return std::nullopt;
}

// Has the route's queue been standing longer than the policy lets it (adaptive LIFO)?
// Its oldest request has waited lifo_share of the time it had left when it joined the
// queue, and at least lifo_after.
bool EngineImpl::congested(Time now, const RouteState& q) const noexcept {
  const QueuePolicy& qp = config_.policy.queue;
  if (qp.discipline != Discipline::adaptive_lifo || q.head == kNoSlot || q.head == q.tail) return false;
  const RequestSlot& head = requests_[q.head];
  FAILOVER_ASSERT(now >= head.queued_at);
  const std::int64_t waited_us = to_us(now) - to_us(head.queued_at);
  if (waited_us <= to_us(qp.lifo_after)) return false;
  // Time left at entry, capped at a day: the share's product then stays far from overflow.
  constexpr std::int64_t kDayUs = 86'400'000'000;
  const std::int64_t left_us = std::clamp<std::int64_t>(to_us(head.deadline) - to_us(head.queued_at), 0, kDayUs);
  FAILOVER_ASSERT(qp.lifo_share.valid());
  return waited_us > qp.lifo_share.scale(left_us);
}

// The target's usual latency, fading while no sample comes (0: nothing known). A
// target skipped because its estimate is too long gets no new sample, so an estimate
// that never faded would keep it skipped for good after it recovered.
std::int64_t EngineImpl::latency_estimate_us(Time now, const TargetState& ts) const noexcept {
  if (!ts.has_ewma) return 0;
  FAILOVER_ASSERT(ts.ewma_us >= 0);
  const std::int64_t half_life = to_us(config_.policy.health.ewma_idle_half_life);
  if (half_life <= 0) return ts.ewma_us;
  const std::int64_t halvings = (to_us(now) - to_us(ts.ewma_at)) / half_life;
  FAILOVER_ASSERT(halvings >= 0);
  return halvings >= 63 ? 0 : ts.ewma_us >> halvings;
}

// When the target's latency estimate next halves (kTimeNever: it never fades).
Time EngineImpl::estimate_fades_at(Time now, const TargetState& ts) const noexcept {
  const std::int64_t half_life = to_us(config_.policy.health.ewma_idle_half_life);
  if (!ts.has_ewma || half_life <= 0 || ts.ewma_us == 0) return kTimeNever;
  const std::int64_t halvings = (to_us(now) - to_us(ts.ewma_at)) / half_life;
  return add_sat(ts.ewma_at, Duration{(halvings + 1) * half_life});
}

namespace {

// Why none of a route's targets is ready for a request, as evaluate() found them.
struct Blockers {
  bool wait = false;         // busy or rate-limited: it frees up in time
  bool unavailable = false;  // open or blocked: it comes back in time
  bool over_budget = false;
  bool too_slow = false;  // cannot answer before the deadline
};

// The verdict for what evaluate() saw, the first that applies: ready, wait, over
// budget, unavailable, too slow, misconfigured, too big.
Verdict verdict_of(const Candidates& c, const Blockers& b) noexcept {
  if (c.count > 0) return Verdict::ready;
  if (b.wait) return Verdict::wait;
  if (b.over_budget) return Verdict::over_budget;
  if (b.unavailable) return Verdict::unavailable;
  if (b.too_slow) return Verdict::too_slow;
  if (c.misconfigured != kNoIndex) return Verdict::misconfigured;
  return Verdict::too_big;
}

}  // namespace

// Sorts a route's targets for one request into ready candidates, or says why none is.
// A target that could not answer before the request's deadline even once it is free
// -- its usual latency is longer than the time left, or it is open or blocked past
// that -- counts as too slow, not as one to wait for: a request that no target can
// serve in time ends now, rather than holding its place in the queue until its
// deadline while targets that later requests could use stand idle.
Verdict EngineImpl::evaluate(Time now, const RequestSlot& r, std::uint32_t exclude_mask, Candidates& c) const noexcept {
  FAILOVER_ASSERT(now == now_);  // advance(now) rolled the budget window that affordable() reads
  FAILOVER_ASSERT(r.phase != Phase::free);
  FAILOVER_ASSERT(r.route < routes_.size());
  const RouteConfig& route = config_.routes[r.route];
  const CostPolicy& cost = config_.policy.cost;
  const bool enforce_budget = cost.budget_micro_usd > 0 && cost.on_exhausted != BudgetExhausted::report;
  Blockers seen;
  c.count = 0;
  // No time left: start nothing, even if the driver's timer for the deadline is late.
  if (now >= r.deadline) return Verdict::too_slow;
  for (std::size_t pos = 0; pos < route.targets.size(); ++pos) {
    if ((exclude_mask >> pos & 1U) != 0) continue;
    const Index t = route.targets[pos].target;
    const TargetState& ts = targets_[t];
    const ProviderState& ps = providers_[config_.targets[t].provider];
    if (!fits(r, t)) continue;
    const std::int64_t need_us = latency_estimate_us(now, ts);
    const auto too_late = [&](Time ready_at) { return to_us(ready_at) + need_us > to_us(r.deadline); };
    if (too_late(now)) {
      seen.too_slow = true;                                   // its usual latency no longer fits before the deadline...
      c.wake = std::min(c.wake, estimate_fades_at(now, ts));  // ...until its estimate fades
      continue;
    }
    Time until = kTimeNever;
    if (ts.misconfigured_until > now) until = ts.misconfigured_until;
    if (ts.breaker.state() == BreakerState::open) until = std::min(until, ts.breaker.open_until());
    if (ts.blocked_until > now) until = std::min(until, ts.blocked_until);
    if (ts.misconfigured_until > now) {
      c.misconfigured = t;  // not worth waiting for: a person must fix it
      continue;
    }
    if (until != kTimeNever) {
      (too_late(until) ? seen.too_slow : seen.unavailable) = true;
      if (!too_late(until)) c.wake = std::min(c.wake, until);
      continue;
    }
    if (!ts.breaker.admits() || ps.inflight >= ps.limit) {
      seen.wait = true;  // a completion frees it
      continue;
    }
    const std::int64_t tokens = r.prompt_tokens + r.output_tokens_max;
    if (!ps.rpm.has(1) || !ps.tpm.has(tokens)) {
      // The target is ready when both buckets are: the later of the two (a bucket that
      // already holds enough answers `now`, which must not become the wake time).
      const Time ready_at = std::max(ps.rpm.available_at(now, 1), ps.tpm.available_at(now, tokens));
      (too_late(ready_at) ? seen.too_slow : seen.wait) = true;
      if (!too_late(ready_at)) c.wake = std::min(c.wake, ready_at);
      continue;
    }
    if (enforce_budget && !affordable(worst_case_cost(r, t))) {
      seen.over_budget = true;
      continue;
    }
    c.position[static_cast<std::size_t>(c.count++)] = static_cast<std::int32_t>(pos);
  }
  FAILOVER_ASSERT(static_cast<std::size_t>(c.count) <= route.targets.size());
  // A candidate is never one the caller excluded, nor one that cannot take it now.
  for (std::int32_t k = 0; k < c.count; ++k) {
    const auto pos = static_cast<std::uint32_t>(c.position[static_cast<std::size_t>(k)]);
    const Index t = route.targets[pos].target;
    FAILOVER_ASSERT((exclude_mask >> pos & 1U) == 0);
    FAILOVER_ASSERT(targets_[t].breaker.admits());
    FAILOVER_ASSERT(providers_[config_.targets[t].provider].inflight < providers_[config_.targets[t].provider].limit);
  }
  return verdict_of(c, seen);
}

// Acts on a head that cannot go now. True when it ended or moved (decide again),
// false when it simply waits.
bool EngineImpl::handle_verdict(Time now, std::uint32_t slot, Verdict v, const Candidates& c,
                                ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase == Phase::queued);  // a route's head or newest, as pump_once found it
  FAILOVER_ASSERT(v != Verdict::ready);       // a ready request is dispatched, not handled
  FAILOVER_ASSERT(c.count == 0);
  const RequestStatus unstarted = r.attempts == 0 ? RequestStatus::dropped : RequestStatus::failed;
  switch (v) {
    case Verdict::ready:
    case Verdict::wait:
      return false;
    case Verdict::unavailable:
      if (config_.policy.queue.when_unavailable == WhenUnavailable::wait) return false;
      finish(now, slot, RequestStatus::failed, EndReason::no_target, kNoIndex, out);
      return true;
    case Verdict::too_slow:
      // No target can answer before the deadline: end it now (shed it, if it never
      // started), as its deadline timer would, only sooner.
      finish(now, slot, unstarted, r.attempts == 0 ? EndReason::deadline : EndReason::deadline_exceeded, kNoIndex, out);
      return true;
    case Verdict::misconfigured:
      // Every target left is misconfigured: waiting out its cool-down cannot help.
      FAILOVER_ASSERT(c.misconfigured != kNoIndex);
      FAILOVER_ASSERT(targets_[c.misconfigured].misconfigured_until > now);
      finish(now, slot, RequestStatus::failed, EndReason::misconfigured, c.misconfigured, out);
      return true;
    case Verdict::too_big:
      if (config_.routes[r.route].capability_fallback == kNoIndex) {
        finish(now, slot, unstarted, EndReason::invalid_request, kNoIndex, out);
        return true;
      }
      // validate() refuses a route that falls back to itself: the request moves on.
      FAILOVER_ASSERT(config_.routes[r.route].capability_fallback != r.route);
      dequeue(slot);
      r.route = config_.routes[r.route].capability_fallback;
      r.tried = 0;
      enqueue(slot, true);
      return true;
    case Verdict::over_budget: {
      const Index down = r.tier == kNoIndex ? kNoIndex : config_.tiers[r.tier].downgrade_to;
      if (config_.policy.cost.on_exhausted != BudgetExhausted::downgrade || down == kNoIndex) {
        finish(now, slot, unstarted, EndReason::cost_budget, kNoIndex, out);
        return true;
      }
      FAILOVER_ASSERT(down != r.tier);  // validate() refuses a tier that downgrades to itself
      dequeue(slot);
      r.tier = down;
      r.route = config_.tiers[down].route;
      r.tried = 0;
      r.downgraded = true;
      ++totals_.downgrades;
      enqueue(slot, true);
      return true;
    }
  }
  return false;
}

// Chooses among ready candidates: untried targets first; then by the route's rule.
std::int32_t EngineImpl::pick(const RequestSlot& r, const Candidates& c) noexcept {
  FAILOVER_ASSERT(c.count > 0);
  const RouteConfig& route = config_.routes[r.route];
  bool any_untried = false;
  for (std::int32_t k = 0; k < c.count; ++k)
    any_untried |= (r.tried >> c.position[static_cast<std::size_t>(k)] & 1U) == 0;
  auto eligible = [&](std::int32_t k) {
    return !any_untried || (r.tried >> c.position[static_cast<std::size_t>(k)] & 1U) == 0;
  };
  auto rt = [&](std::int32_t k) -> const RouteTarget& {
    return route.targets[static_cast<std::size_t>(c.position[static_cast<std::size_t>(k)])];
  };
  std::int32_t best = -1;
  if (route.selection == Selection::cheapest) {
    std::int64_t best_cost = 0;
    for (std::int32_t k = 0; k < c.count; ++k) {
      if (!eligible(k)) continue;
      const std::int64_t cost = worst_case_cost(r, rt(k).target);
      if (best < 0 || cost < best_cost) {
        best = k;
        best_cost = cost;
      }
    }
    return best;
  }
  std::int32_t level = 0;
  bool found = false;
  for (std::int32_t k = 0; k < c.count; ++k) {
    if (eligible(k) && (!found || rt(k).priority < level)) {
      level = rt(k).priority;
      found = true;
    }
  }
  FAILOVER_ASSERT(found);
  if (route.selection == Selection::least_latency) {
    for (std::int32_t k = 0; k < c.count; ++k) {
      if (!eligible(k) || rt(k).priority != level) continue;
      const TargetState& ts = targets_[rt(k).target];
      const std::int64_t lat = ts.has_ewma ? ts.ewma_us : 0;  // unmeasured targets get explored
      if (best < 0 || lat < (targets_[rt(best).target].has_ewma ? targets_[rt(best).target].ewma_us : 0)) best = k;
    }
    return best;
  }
  std::int64_t total = 0;
  for (std::int32_t k = 0; k < c.count; ++k)
    if (eligible(k) && rt(k).priority == level) total += rt(k).weight;
  FAILOVER_ASSERT(total > 0);
  std::int64_t ticket = total == 1 ? 0 : static_cast<std::int64_t>(prng_.below(static_cast<std::uint64_t>(total)));
  for (std::int32_t k = 0; k < c.count; ++k) {
    if (!eligible(k) || rt(k).priority != level) continue;
    if (ticket < rt(k).weight) return k;
    ticket -= rt(k).weight;
  }
  FAILOVER_ASSERT(false);
  return -1;
}

// Client-side adaptive throttling: reject locally with probability
// max(0, (requests - K * accepts) / (requests + 1)) over the window.
bool EngineImpl::throttled(Time now, Index target) noexcept {
  const RetryPolicy& rp = config_.policy.retry;
  if (!rp.adaptive_throttle) return false;
  const auto [requests, accepts] = targets_[target].throttle.totals(now, rp.throttle_window);
  const std::int64_t num = requests * 1'000 - rp.throttle_k_milli * accepts;
  if (num <= 0) return false;
  return prng_.chance(Ratio{num, (requests + 1) * 1'000});
}

void EngineImpl::dispatch(Time now, std::uint32_t slot, std::int32_t position, bool hedge, ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(!free_attempts_.empty());
  FAILOVER_ASSERT(r.attempts < config_.policy.retry.attempts_max);
  const Index target = config_.routes[r.route].targets[static_cast<std::size_t>(position)].target;
  const Index provider = config_.targets[target].provider;
  const std::uint32_t aslot = free_attempts_.back();
  free_attempts_.pop_back();
  AttemptSlot& a = attempts_[aslot];
  TargetState& ts = targets_[target];
  a.used = true;
  a.hedge = hedge;
  a.request = slot;
  a.request_id = r.id;
  a.target = target;
  a.position = position;
  a.started = now;
  a.probe = ts.breaker.on_start();
  // A probe runs to its verdict even if its request ends first (see let_go): only its
  // own timeout bounds it. Any other attempt ends with its request.
  const Time attempt_end = add_sat(now, config_.policy.timeouts.attempt);
  a.deadline = a.probe != Breaker::kNoProbe ? attempt_end : std::min(attempt_end, r.deadline);
  // The first-byte timeout bounds the wait for a streamed answer's first token. A
  // non-streamed answer's first byte is its last: it comes only when the whole answer
  // is generated, which for a long answer takes longer than any first-token bound, and
  // a healthy target would be timed out (and tripped) for it. The attempt timeout
  // bounds those.
  a.first_byte_deadline = r.stream && to_us(config_.policy.timeouts.first_byte) > 0
                              ? add_sat(now, config_.policy.timeouts.first_byte)
                              : kTimeNever;
  a.first_byte_at = kTimeNever;
  a.reserved_micro_usd = worst_case_cost(r, target);
  reserved_micro_usd_ += a.reserved_micro_usd;

  ++ts.inflight;
  ++ts.attempts;
  ProviderState& ps = providers_[provider];
  ++ps.inflight;
  ps.rpm.advance(now);
  ps.tpm.advance(now);
  (void)ps.rpm.try_take(1);
  (void)ps.tpm.try_take(r.prompt_tokens + r.output_tokens_max);
  ++inflight_;
  const std::size_t live = r.live[0] == kNoSlot ? 0 : 1;
  FAILOVER_ASSERT(r.live[live] == kNoSlot);
  r.live[live] = aslot;
  r.tried |= 1U << static_cast<std::uint32_t>(position);
  ++r.attempts;
  r.phase = Phase::inflight;
  ++totals_.attempts;
  if (r.attempts > 1) ++totals_.retries;
  if (hedge) ++totals_.hedges;
  if (config_.policy.retry.adaptive_throttle) ++ts.throttle.at(now, config_.policy.retry.throttle_window).requests;
  // Hedge: if no byte has come back after hedge_after, a second target gets a copy.
  const Duration hedge_after = config_.routes[r.route].hedge_after;
  if (!hedge && to_us(hedge_after) > 0 && !r.committed) r.wake_at = add_sat(now, hedge_after);
  arm_attempt(aslot);
  arm_request(slot);
  out.push(SendAttempt{attempt_id(aslot, a.generation), r.id, target, provider, config_.targets[target].model,
                       r.attempts, hedge, a.deadline, a.probe != Breaker::kNoProbe});
}

}  // namespace failover
