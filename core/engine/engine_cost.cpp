// Cost and completion: reserve-then-settle accounting against the budget window, the
// one Complete every request gets, and the health report.
#include <algorithm>
#include <limits>

#include "core/engine/assert.h"
#include "core/engine/cost.h"
#include "core/engine/engine_impl.h"
#include "core/engine/wide.h"

namespace failover {

// Defined here, beside the engine's own accounting, which prices every dispatch and
// settle: in one translation unit the compiler can inline it there.
std::int64_t price_micro_usd(std::int64_t tokens, std::int64_t micro_usd_per_mtok) noexcept {
  // Realistic operands (under 2^31 tokens, under $2147 per 1M tokens) keep the product
  // in 64 bits, and a 128-bit division is a library call (__divti3) on every dispatch
  // and settle; the wide path stays for the rest.
  constexpr std::int64_t kNarrow = std::int64_t{1} << 31;
  static_assert((kNarrow - 1) * (kNarrow - 1) <= std::numeric_limits<std::int64_t>::max() - 999'999);
  if (tokens >= 0 && tokens < kNarrow && micro_usd_per_mtok >= 0 && micro_usd_per_mtok < kNarrow) {
    return (tokens * micro_usd_per_mtok + 999'999) / 1'000'000;
  }
  const Int128 product = static_cast<Int128>(tokens) * micro_usd_per_mtok;
  return static_cast<std::int64_t>((product + 999'999) / 1'000'000);
}

std::int64_t call_cost_micro_usd(const ModelConfig& model, std::int64_t input_tokens,
                                 std::int64_t output_tokens) noexcept {
  return price_micro_usd(input_tokens, model.input_micro_usd_per_mtok) +
         price_micro_usd(output_tokens, model.output_micro_usd_per_mtok);
}

std::int64_t EngineImpl::usage_cost(Index target, std::int64_t input, std::int64_t output) const noexcept {
  return call_cost_micro_usd(config_.model(target), input, output);
}

std::int64_t EngineImpl::worst_case_cost(const RequestSlot& r, Index target) const noexcept {
  return usage_cost(target, r.prompt_tokens, r.output_tokens_max);
}

bool EngineImpl::affordable(std::int64_t cost) const noexcept {
  // advance(now) already rolled the budget window.
  const std::int64_t budget = config_.policy.cost.budget_micro_usd;
  return budget == 0 || spent_window_micro_usd_ + reserved_micro_usd_ + cost <= budget;
}

// Settles an attempt's reservation: the real cost from reported usage, an estimate
// when a success carried none, and the worst case when the attempt may have been
// billed without an answer (timed out, cancelled, cut short after it was sent).
void EngineImpl::settle(std::uint32_t aslot, OutcomeClass cls, const Outcome* outcome, ActionBuffer& out) noexcept {
  AttemptSlot& a = attempts_[aslot];
  reserved_micro_usd_ -= a.reserved_micro_usd;
  FAILOVER_ASSERT(reserved_micro_usd_ >= 0);
  std::int64_t cost = 0;
  ChargeKind kind = ChargeKind::usage;
  const Billing billing = kClassFacts[static_cast<std::size_t>(cls)].billing;
  if (billing == Billing::usage) {
    FAILOVER_ASSERT(outcome != nullptr);
    if (outcome->usage.reported) {
      cost = usage_cost(a.target, outcome->usage.input_tokens, outcome->usage.output_tokens);
    } else {
      cost = a.reserved_micro_usd;
      kind = ChargeKind::estimated;
    }
  } else if (billing == Billing::possibly || (billing == Billing::possibly_if_begun && a.first_byte_at != kTimeNever)) {
    cost = a.reserved_micro_usd;
    kind = ChargeKind::possibly_billed;
  }
  a.reserved_micro_usd = 0;
  if (cost == 0) return;
  spent_window_micro_usd_ += cost;
  targets_[a.target].cost_micro_usd += cost;
  if (kind == ChargeKind::possibly_billed) {
    totals_.possibly_billed_micro_usd += cost;
  } else {
    totals_.cost_micro_usd += cost;
    if (a.request != kNoSlot) requests_[a.request].cost_micro_usd += cost;  // a detached probe's is the run's
  }
  out.push(Charge{a.request_id, attempt_id(aslot, a.generation), a.target, cost, kind});
}

void EngineImpl::finish(Time now, std::uint32_t slot, RequestStatus status, EndReason reason, Index target,
                        ActionBuffer& out) noexcept {
  RequestSlot& r = requests_[slot];
  FAILOVER_ASSERT(r.phase != Phase::free);
  FAILOVER_ASSERT((status == RequestStatus::succeeded) == (reason == EndReason::ok));
  // cancel_attempt compacts r.live (a hedge twin moves to the front), so cancel from
  // a copy: walking r.live itself would skip the second of two live attempts.
  const auto live = r.live;
  const CancelReason why = reason == EndReason::cancelled ? CancelReason::caller_gone : CancelReason::deadline;
  for (const std::uint32_t aslot : live) {
    if (aslot != kNoSlot) let_go(now, aslot, why, out);
  }
  FAILOVER_ASSERT(r.live[0] == kNoSlot);
  FAILOVER_ASSERT(r.live[1] == kNoSlot);
  if (r.phase == Phase::queued) dequeue(slot);
  timers_.remove(timer_of_request(slot));
  out.push(Complete{r.id, status, reason, target, r.attempts, now - r.submitted, r.cost_micro_usd, r.downgraded});
  switch (status) {
    case RequestStatus::succeeded:
      ++totals_.succeeded;
      break;
    case RequestStatus::failed:
      ++totals_.failed;
      break;
    case RequestStatus::dropped:
      ++totals_.dropped;
      break;
  }
  held_.erase(r.id, slot);
  r.phase = Phase::free;
  --active_;
  FAILOVER_ASSERT(active_ >= 0);
  free_requests_.push_back(slot);
}

void EngineImpl::complete_unheld(const Request& request, EndReason reason, ActionBuffer& out) noexcept {
  FAILOVER_ASSERT(reason != EndReason::ok);
  ++totals_.dropped;
  out.push(Complete{request.id, RequestStatus::dropped, reason, kNoIndex, 0, Duration{0}, 0, false});
}

HealthReport EngineImpl::health(Time now) const {
  HealthReport report;
  report.targets.reserve(targets_.size());
  for (std::size_t t = 0; t < targets_.size(); ++t) {
    const TargetState& ts = targets_[t];
    TargetHealth h;
    h.target = static_cast<Index>(t);
    h.breaker = ts.breaker.state();
    h.attempts = ts.attempts;
    h.successes = ts.successes;
    h.failures = ts.failures;
    h.rate_limited = ts.rate_limited;
    h.ewma_latency_us = ts.ewma_us;
    h.inflight = ts.inflight;
    h.trips = ts.breaker.trips();
    h.open_until = ts.breaker.open_until();
    h.blocked_until = ts.blocked_until;
    h.misconfigured = ts.misconfigured_until > now;
    h.cost_micro_usd = ts.cost_micro_usd;
    report.targets.push_back(h);
  }
  for (const RouteState& rs : routes_) report.route_requests.push_back(rs.requests);
  report.totals = totals();
  return report;
}

}  // namespace failover
