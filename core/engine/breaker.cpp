#include "core/engine/breaker.h"

#include <algorithm>

namespace failover {

Breaker::Breaker(const BreakerPolicy& policy) noexcept
    : policy_(policy), bucket_us_(std::max<std::int64_t>(1, to_us(policy.window) / kBuckets)) {
  FAILOVER_ASSERT(policy.half_open_probes >= 1);
  FAILOVER_ASSERT(policy.open_base <= policy.open_max);
}

Breaker::Change Breaker::advance(Time now) noexcept {
  if (state_ != BreakerState::open || now < open_until_) return Change::none;
  state_ = BreakerState::half_open;
  period_ = period_ == 0xffff'ffffU ? 1 : period_ + 1;  // never kNoProbe
  probes_started_ = 0;
  probes_succeeded_ = 0;
  FAILOVER_ASSERT(admits());
  return Change::half_opened;
}

bool Breaker::admits() const noexcept {
  switch (state_) {
    case BreakerState::closed:
      return true;
    case BreakerState::open:
      return false;
    case BreakerState::half_open:
      return probes_started_ < policy_.half_open_probes;
  }
  return false;
}

Breaker::Ticket Breaker::on_start() noexcept {
  FAILOVER_ASSERT(admits());
  if (state_ != BreakerState::half_open) return kNoProbe;
  ++probes_started_;
  FAILOVER_ASSERT(period_ != kNoProbe);
  return period_;
}

void Breaker::on_abandon(Ticket ticket) noexcept {
  if (state_ != BreakerState::half_open || ticket != period_) return;
  FAILOVER_ASSERT(probes_started_ > probes_succeeded_);
  --probes_started_;
}

void Breaker::forgive(Time now) noexcept {
  // Each full healthy period spent closed forgives one past trip, so the open time
  // shrinks back after the target has behaved for a while.
  if (state_ != BreakerState::closed || trip_streak_ == 0) return;
  const std::int64_t period = to_us(policy_.healthy_period);
  const std::int64_t healthy = to_us(now) - to_us(healthy_since_);
  if (period <= 0 || healthy < period) return;
  const std::int64_t periods = healthy / period;
  trip_streak_ = static_cast<std::int32_t>(std::max<std::int64_t>(0, trip_streak_ - periods));
  healthy_since_ = Time{Duration{to_us(healthy_since_) + periods * period}};
}

Breaker::Bucket& Breaker::bucket_at(Time now) noexcept {
  const std::int64_t epoch = to_us(now) / bucket_us_;
  Bucket& b = buckets_[static_cast<std::size_t>(epoch % kBuckets)];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0, 0};
  return b;
}

bool Breaker::rules_fire(Time now) const noexcept {
  if (policy_.consecutive_failures > 0 && consecutive_ >= policy_.consecutive_failures) {
    return true;
  }
  const std::int64_t epoch_now = to_us(now) / bucket_us_;
  std::int64_t calls = 0;
  std::int64_t failures = 0;
  std::int64_t slow = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch < 0 || epoch_now - b.epoch >= kBuckets) continue;  // outside the window
    calls += b.calls;
    failures += b.failures;
    slow += b.slow;
  }
  if (calls < policy_.window_calls_min || calls == 0) return false;
  if (policy_.failure_rate.num > 0 && policy_.failure_rate.reached_by(failures, calls)) return true;
  return to_us(policy_.slow_call_threshold) > 0 && policy_.slow_call_rate.num > 0 &&
         policy_.slow_call_rate.reached_by(slow, calls);
}

void Breaker::open(Time now) noexcept {
  trip_streak_ = std::min(trip_streak_ + 1, 1'000'000);
  ++trips_total_;
  // A short first open period returns traffic to a target promptly after a blip; each
  // further trip in a row doubles it, so a flapping target is probed less and less.
  const std::int64_t base = to_us(policy_.open_base);
  const std::int64_t cap = to_us(policy_.open_max);
  const int doublings = std::min(trip_streak_ - 1, 62);
  const std::int64_t open_us = base > (cap >> doublings) ? cap : std::min(cap, base << doublings);
  state_ = BreakerState::open;
  open_until_ = add_sat(now, Duration{open_us});
  probes_started_ = 0;
  probes_succeeded_ = 0;
  FAILOVER_ASSERT(open_until_ > now);
}

void Breaker::reset_window() noexcept {
  consecutive_ = 0;
  buckets_.fill(Bucket{});
}

Breaker::Change Breaker::record(Time now, Sample sample, Ticket ticket) noexcept {
  const auto [failure, slow, trip_allowed] = sample;
  if (state_ == BreakerState::open) return Change::none;  // a straggler from before the trip
  if (state_ == BreakerState::half_open) {
    if (ticket != period_) return Change::none;  // not a probe of this half-open period
    FAILOVER_ASSERT(probes_started_ > probes_succeeded_);
    if (failure || slow) {
      open(now);
      return Change::reopened;
    }
    if (++probes_succeeded_ < policy_.half_open_probes) return Change::none;
    state_ = BreakerState::closed;
    healthy_since_ = now;
    reset_window();
    return Change::closed;
  }
  forgive(now);
  Bucket& b = bucket_at(now);
  ++b.calls;
  if (slow) ++b.slow;
  if (failure) {
    ++b.failures;
    ++consecutive_;
  } else {
    consecutive_ = 0;
  }
  if (!failure && !slow) return Change::none;
  if (!rules_fire(now)) return Change::none;
  if (!trip_allowed) return Change::suppressed;
  open(now);
  reset_window();
  return Change::opened;
}

}  // namespace failover
