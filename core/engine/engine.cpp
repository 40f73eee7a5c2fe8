#include "core/engine/engine.h"

#include <algorithm>

#include "core/engine/assert.h"
#include "core/engine/backoff.h"
#include "core/engine/engine_impl.h"
#include "core/engine/wide.h"

namespace failover {

// ---- facade ----------------------------------------------------------------------

Engine::Engine(const Config& config, Prng prng) : impl_(std::make_unique<EngineImpl>(config, prng)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

void Engine::submit(Time now, const Request& request, ActionBuffer& out) noexcept {
  impl_->submit(now, request, out);
}
void Engine::cancel(Time now, RequestId request, ActionBuffer& out) noexcept {
  impl_->cancel(now, request, out);
}
void Engine::on_first_byte(Time now, AttemptId attempt, ActionBuffer& out) noexcept {
  impl_->on_first_byte(now, attempt, out);
}
void Engine::on_response(Time now, AttemptId attempt, const Outcome& outcome, ActionBuffer& out) noexcept {
  impl_->on_response(now, attempt, outcome, out);
}
void Engine::on_timeout(Time now, ActionBuffer& out) noexcept {
  impl_->on_timeout(now, out);
}
std::optional<Time> Engine::next_deadline() const noexcept {
  return impl_->next_deadline();
}
TakeOver Engine::take_over(Time now, const Engine& previous) {
  FAILOVER_ASSERT(&previous != this);
  return impl_->take_over(now, *previous.impl_);
}
HealthReport Engine::health(Time now) const {
  return impl_->health(now);
}
std::optional<Index> Engine::idle_target(Time now) const noexcept {
  return impl_->idle_target(now);
}
EngineTotals Engine::totals() const noexcept {
  return impl_->totals();
}
const Config& Engine::config() const noexcept {
  return impl_->config_;
}

// ---- construction ----------------------------------------------------------------

EngineImpl::EngineImpl(const Config& config, Prng prng)
    : config_(config),
      prng_(prng),
      requests_max_(static_cast<std::uint32_t>(config.policy.queue.requests_max)),
      inflight_max_(static_cast<std::uint32_t>(config.policy.concurrency.inflight_max)),
      target_count_(static_cast<std::uint32_t>(config.targets.size())),
      targets_(config.targets.size()),
      providers_(config.providers.size()),
      routes_(config.routes.size()),
      requests_(requests_max_),
      attempts_(inflight_max_),
      held_(requests_max_),
      timers_(requests_max_ + inflight_max_ + target_count_ + 1) {
  FAILOVER_ASSERT(validate(config).has_value());
  FAILOVER_ASSERT(requests_max_ > 0);
  FAILOVER_ASSERT(inflight_max_ > 0);
  const RetryPolicy& retry = config.policy.retry;
  retry_budget_ = TokenBucket(retry.budget_max, retry.budget_min_per_second, sec(1));
  for (std::size_t t = 0; t < targets_.size(); ++t) targets_[t].breaker = Breaker(config.policy.breaker);
  for (std::size_t r = 0; r < config.routes.size(); ++r) {
    for (const RouteTarget& rt : config.routes[r].targets) targets_[rt.target].routes.push_back(static_cast<Index>(r));
  }
  for (std::size_t p = 0; p < config.providers.size(); ++p) {
    const ProviderConfig& pc = config.providers[p];
    providers_[p].limit = pc.concurrency_max;
    providers_[p].ssthresh = pc.concurrency_max;
    if (pc.rpm_max > 0) providers_[p].rpm = TokenBucket(pc.rpm_max, pc.rpm_max, minutes(1));
    if (pc.tpm_max > 0) providers_[p].tpm = TokenBucket(pc.tpm_max, pc.tpm_max, minutes(1));
  }
  free_requests_.reserve(requests_max_);
  for (std::uint32_t i = requests_max_; i > 0; --i) free_requests_.push_back(i - 1);
  free_attempts_.reserve(inflight_max_);
  for (std::uint32_t i = inflight_max_; i > 0; --i) free_attempts_.push_back(i - 1);
}

// ---- time and ids ------------------------------------------------------------------

void EngineImpl::advance(Time now) noexcept {
  FAILOVER_ASSERT(now >= now_);  // time never goes backwards
  now_ = now;
  retry_budget_.advance(now);
  // The client-side rate limits refill with time, not only when an attempt is sent:
  // evaluate() reads their levels, and a stale level would hold a request back (and
  // schedule its wake-up) as if no time had passed since the last dispatch.
  for (ProviderState& ps : providers_) {
    ps.rpm.advance(now);
    ps.tpm.advance(now);
  }
  const std::int64_t window = to_us(config_.policy.cost.budget_window);
  const std::int64_t index = window > 0 ? to_us(now) / window : 0;
  if (index != budget_window_) {
    budget_window_ = index;
    spent_window_micro_usd_ = 0;
  }
}

AttemptId EngineImpl::attempt_id(std::uint32_t slot, std::uint32_t generation) noexcept {
  return (static_cast<AttemptId>(generation) << 32) | slot;
}

std::uint32_t EngineImpl::attempt_slot_of(AttemptId id) const noexcept {
  const auto slot = static_cast<std::uint32_t>(id & 0xffff'ffffU);
  const auto generation = static_cast<std::uint32_t>(id >> 32);
  FAILOVER_ASSERT(slot < attempts_.size());  // an id the engine never issued
  FAILOVER_ASSERT(attempts_[slot].used);     // reported twice, or after a cancel
  FAILOVER_ASSERT(attempts_[slot].generation == generation);
  return slot;
}

std::optional<Time> EngineImpl::next_deadline() const noexcept {
  if (pending_) return now_;
  if (timers_.empty()) return std::nullopt;
  return timers_.top_time();
}

// ---- the queue: one FIFO list per route, merged by submit order ---------------------

void EngineImpl::enqueue(std::uint32_t slot, bool front) noexcept {
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase != Phase::queued);
  RouteState& q = routes_[r.route];
  r.phase = Phase::queued;
  r.queued_at = now_;
  // A request coming back from a failed attempt goes to the front: it is older than
  // anything behind it, and making it wait again would stretch its latency twice.
  if (front) {
    r.prev = kNoSlot;
    r.next = q.head;
    if (q.head != kNoSlot) requests_[q.head].prev = slot;
    q.head = slot;
    if (q.tail == kNoSlot) q.tail = slot;
  } else {
    r.next = kNoSlot;
    r.prev = q.tail;
    if (q.tail != kNoSlot) requests_[q.tail].next = slot;
    q.tail = slot;
    if (q.head == kNoSlot) q.head = slot;
  }
  ++q.queued;
  ++queued_;
}

void EngineImpl::dequeue(std::uint32_t slot) noexcept {
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase == Phase::queued);
  RouteState& q = routes_[r.route];
  if (r.prev != kNoSlot)
    requests_[r.prev].next = r.next;
  else
    q.head = r.next;
  if (r.next != kNoSlot)
    requests_[r.next].prev = r.prev;
  else
    q.tail = r.prev;
  r.prev = kNoSlot;
  r.next = kNoSlot;
  r.phase = Phase::backoff;  // the caller sets the real phase next
  --q.queued;
  --queued_;
  FAILOVER_ASSERT(q.queued >= 0);
  FAILOVER_ASSERT(queued_ >= 0);
}

}  // namespace failover
