#include "sim/traffic.h"

#include <algorithm>
#include <utility>

#include "core/engine/assert.h"
#include "core/engine/wide.h"
#include "sim/det_math.h"

namespace failover::sim {
namespace {

constexpr std::int64_t kMicrosPerMinute = 60'000'000;
// µs per arrival at one milli-request per minute: the numerator of every gap.
constexpr std::int64_t kGapNumerator = kMicrosPerMinute * kMilli;
// Poisson thinning draws candidates at the envelope rate; a run of more rejections than
// this between two arrivals means a broken envelope, not bad luck.
constexpr std::int64_t kCandidatesMax = 1'000'000'000;
// Constant arrivals step over a stretch of zero rate in probes of this length.
constexpr Duration kIdleProbe = sec(1);

void check_rate(std::int64_t rpm) {
  FAILOVER_ASSERT(rpm >= 0);
  FAILOVER_ASSERT(rpm <= kRateRpmMax);
}

void check_span(Duration d) {
  FAILOVER_ASSERT(d > Duration{0});
  FAILOVER_ASSERT(d <= kScheduleDurationMax);
}

// Round half away from zero, for the diurnal sine.
std::int64_t round_nearest(double v) noexcept {
  return static_cast<std::int64_t>(v < 0.0 ? v - 0.5 : v + 0.5);
}

}  // namespace

RateSchedule RateSchedule::steady(std::int64_t rpm) {
  check_rate(rpm);
  RateSchedule s;
  s.kind = ScheduleKind::steady;
  s.base_rpm = rpm;
  s.peak_rpm = rpm;
  return s;
}

RateSchedule RateSchedule::ramp(std::int64_t from, std::int64_t to, Time start, Duration over) {
  check_rate(from);
  check_rate(to);
  check_span(over);
  RateSchedule s;
  s.kind = ScheduleKind::ramp;
  s.base_rpm = from;
  s.peak_rpm = to;
  s.start = start;
  s.duration = over;
  return s;
}

RateSchedule RateSchedule::spike(std::int64_t base, std::int64_t peak, Time start, Duration duration) {
  check_rate(base);
  check_rate(peak);
  check_span(duration);
  RateSchedule s;
  s.kind = ScheduleKind::spike;
  s.base_rpm = base;
  s.peak_rpm = peak;
  s.start = start;
  s.duration = duration;
  return s;
}

RateSchedule RateSchedule::diurnal(std::int64_t mean, std::int64_t amplitude, Duration period, Duration phase) {
  check_rate(mean);
  check_span(period);
  FAILOVER_ASSERT(amplitude >= 0);
  FAILOVER_ASSERT(amplitude <= mean);
  RateSchedule s;
  s.kind = ScheduleKind::diurnal;
  s.base_rpm = mean;
  s.amplitude_rpm = amplitude;
  s.period = period;
  s.phase = phase;
  return s;
}

std::int64_t RateSchedule::rate_mrpm(Time t) const noexcept {
  FAILOVER_ASSERT(base_rpm >= 0);
  FAILOVER_ASSERT(peak_rpm >= 0);
  switch (kind) {
    case ScheduleKind::steady:
      return base_rpm * kMilli;
    case ScheduleKind::ramp: {
      if (t < start) return base_rpm * kMilli;
      if (t >= start + duration) return peak_rpm * kMilli;
      // In whole ms: (6e10 mrpm) x (2.6e9 ms) passes 2^63, so the product is 128-bit;
      // the quotient lies between base and peak.
      const std::int64_t elapsed_ms = to_us(t - start) / 1'000;
      const std::int64_t over_ms = std::max<std::int64_t>(1, to_us(duration) / 1'000);
      const Int128 climb = static_cast<Int128>((peak_rpm - base_rpm) * kMilli) * elapsed_ms / over_ms;
      return base_rpm * kMilli + static_cast<std::int64_t>(climb);
    }
    case ScheduleKind::spike:
      return (t >= start && t < start + duration) ? peak_rpm * kMilli : base_rpm * kMilli;
    case ScheduleKind::diurnal: {
      const std::int64_t p = to_us(period);
      const std::int64_t x = ((to_us(t) + to_us(phase)) % p + p) % p;  // exact reduction
      const double s = det_sin_turns(static_cast<double>(x) / static_cast<double>(p));
      const std::int64_t swing = round_nearest(static_cast<double>(amplitude_rpm * kMilli) * s);
      return std::max<std::int64_t>(0, base_rpm * kMilli + swing);
    }
  }
  FAILOVER_ASSERT(false);
  return 0;
}

std::int64_t RateSchedule::rate_mrpm_max() const noexcept {
  FAILOVER_ASSERT(base_rpm >= 0);
  FAILOVER_ASSERT(amplitude_rpm >= 0);
  if (kind == ScheduleKind::diurnal) return (base_rpm + amplitude_rpm) * kMilli;
  return std::max(base_rpm, peak_rpm) * kMilli;
}

Traffic::Traffic(TrafficSpec spec, const Prng& stream)
    : spec_(std::move(spec)), arrivals_(stream.fork("arrivals")), mix_(stream.fork("mix")), cursor_(spec_.start) {
  FAILOVER_ASSERT(!spec_.classes.empty());
  FAILOVER_ASSERT(spec_.classes.size() <= kTrafficClassesMax);
  FAILOVER_ASSERT(spec_.start <= spec_.end);
  for (const TrafficClass& c : spec_.classes) {
    FAILOVER_ASSERT(c.weight > 0);
    FAILOVER_ASSERT(c.weight <= (std::int64_t{1} << 40));
    weight_total_ += c.weight;
  }
  if (spec_.replay) {
    const ReplaySpec& r = *spec_.replay;
    FAILOVER_ASSERT(r.requests != nullptr);
    FAILOVER_ASSERT(r.speed.num > 0 && r.speed.den > 0);
    FAILOVER_ASSERT(r.multiply >= 1 && r.multiply <= kReplayMultiplyMax);
    FAILOVER_ASSERT(r.jitter >= Duration{0} && r.jitter <= kReplayJitterMax);
    FAILOVER_ASSERT(!r.loop || (!r.requests->empty() && r.period > r.requests->back().at));
    done_ = r.requests->empty();
    return;
  }
  envelope_mrpm_ = spec_.rate.rate_mrpm_max();
  FAILOVER_ASSERT(envelope_mrpm_ <= kRateRpmMax * kMilli);
  done_ = envelope_mrpm_ == 0;
}

std::optional<Arrival> Traffic::next_arrival() {
  if (done_) return std::nullopt;
  if (spec_.replay) return next_replayed();
  const std::optional<Time> at = spec_.process == ArrivalProcess::poisson ? next_poisson_time() : next_constant_time();
  if (!at) {
    done_ = true;
    return std::nullopt;
  }
  FAILOVER_ASSERT(*at >= spec_.start);
  FAILOVER_ASSERT(*at < spec_.end);
  return shape(*at);
}

std::optional<Time> Traffic::next_poisson_time() {
  FAILOVER_ASSERT(envelope_mrpm_ > 0);
  const double mean_gap_us = static_cast<double>(kGapNumerator) / static_cast<double>(envelope_mrpm_);
  for (std::int64_t guard = 0; guard < kCandidatesMax; ++guard) {
    // An exponential gap at the envelope rate; the fraction of a µs is carried so that
    // rounding to integer time does not bias the rate.
    const double total = carry_us_ - mean_gap_us * det_log(open_unit(arrivals_));
    if (total >= static_cast<double>(to_us(spec_.end - cursor_))) return std::nullopt;
    const auto whole = static_cast<std::int64_t>(total);
    carry_us_ = total - static_cast<double>(whole);
    cursor_ += us(whole);
    const std::int64_t rate = spec_.rate.rate_mrpm(cursor_);
    FAILOVER_ASSERT(rate <= envelope_mrpm_);
    if (arrivals_.chance(Ratio{rate, envelope_mrpm_})) return cursor_;
  }
  FAILOVER_ASSERT(false);
  return std::nullopt;
}

std::optional<Time> Traffic::next_constant_time() {
  Time t = spec_.start;
  if (first_) {
    first_ = false;
  } else {
    const std::int64_t rate = spec_.rate.rate_mrpm(cursor_);
    FAILOVER_ASSERT(rate > 0);  // every emitted arrival lies where the rate is positive
    remainder_ += kGapNumerator;
    const std::int64_t gap = remainder_ / rate;
    remainder_ -= gap * rate;
    t = cursor_ + us(gap);
  }
  // Step over a stretch of zero rate (a ramp up from 0, a diurnal trough).
  const std::int64_t probes_max = to_us(spec_.end - spec_.start) / to_us(kIdleProbe) + 1;
  for (std::int64_t probe = 0; t < spec_.end && spec_.rate.rate_mrpm(t) == 0; ++probe) {
    FAILOVER_ASSERT(probe <= probes_max);
    t += kIdleProbe;
  }
  if (t >= spec_.end) return std::nullopt;
  cursor_ = t;
  return t;
}

Arrival Traffic::shape(Time at) {
  FAILOVER_ASSERT(weight_total_ > 0);
  auto pick = static_cast<std::int64_t>(mix_.below(static_cast<std::uint64_t>(weight_total_)));
  Index chosen = kNoIndex;
  for (std::size_t i = 0; i < spec_.classes.size() && chosen == kNoIndex; ++i) {
    if (pick < spec_.classes[i].weight) chosen = static_cast<Index>(i);
    pick -= spec_.classes[i].weight;
  }
  FAILOVER_ASSERT(chosen != kNoIndex);  // pick < weight_total_
  const TrafficClass& c = spec_.classes[chosen];
  Arrival a{generated_, at, chosen, c.prompt_tokens.sample(mix_), c.output_tokens.sample(mix_)};
  ++generated_;
  FAILOVER_ASSERT(a.prompt_tokens >= kTokensMin);
  return a;
}

namespace {

// Log time `t` on the scenario's clock: t / speed, in 128 bits (30 days x 10^6).
Duration replay_scaled(Duration t, Ratio speed) {
  return us(static_cast<std::int64_t>(static_cast<Int128>(to_us(t)) * speed.den / speed.num));
}

}  // namespace

// The time of the next request of the log, or empty once it falls at or after the end.
std::optional<Time> Traffic::replay_time() const {
  const ReplaySpec& r = *spec_.replay;
  if (replay_index_ >= r.requests->size()) return std::nullopt;
  const Duration log_time = r.period * replay_pass_ + (*r.requests)[replay_index_].at;
  const Duration window = spec_.end - spec_.start;
  // Compared in log time first, so that a long loop never overflows the scaling.
  if (static_cast<Int128>(to_us(log_time)) * r.speed.den >= static_cast<Int128>(to_us(window)) * r.speed.num) {
    return std::nullopt;
  }
  const Time at = spec_.start + replay_scaled(log_time, r.speed);
  return at < spec_.end ? std::optional<Time>(at) : std::nullopt;
}

std::optional<Arrival> Traffic::next_replayed() {
  const ReplaySpec& r = *spec_.replay;
  const std::optional<Time> next = replay_time();
  while (!copies_.empty() && (!next || copies_.front().at <= *next)) {
    std::pop_heap(copies_.begin(), copies_.end(), copy_later);
    const Copy c = copies_.back();
    copies_.pop_back();
    if (c.at >= spec_.end) continue;  // jittered past the end of the arrivals
    return Arrival{generated_++, c.at, c.class_index, c.prompt_tokens, c.output_tokens};
  }
  if (!next) {
    done_ = true;
    return std::nullopt;
  }
  const ReplayRequest& q = (*r.requests)[replay_index_];
  for (std::int64_t k = 1; k < r.multiply; ++k) {
    const Duration offset =
        r.jitter > Duration{0}
            ? us(static_cast<std::int64_t>(arrivals_.below(static_cast<std::uint64_t>(to_us(r.jitter)))))
            : Duration{0};
    copies_.push_back({*next + offset, copy_sequence_++, q.class_index, q.prompt_tokens, q.output_tokens});
    std::push_heap(copies_.begin(), copies_.end(), copy_later);
  }
  if (++replay_index_ == r.requests->size() && r.loop) {
    replay_index_ = 0;
    ++replay_pass_;
  }
  return Arrival{generated_++, *next, q.class_index, q.prompt_tokens, q.output_tokens};
}

std::uint64_t replay_arrivals(const TrafficSpec& spec) {
  FAILOVER_ASSERT(spec.replay.has_value());
  const ReplaySpec& r = *spec.replay;
  // The log time the arrival window covers: window x speed.
  const auto covered = static_cast<Int128>(to_us(spec.end - spec.start)) * r.speed.num;
  const auto before = [&](Int128 limit_scaled) {  // requests with at x den < limit_scaled
    const auto it = std::lower_bound(
        r.requests->begin(), r.requests->end(), limit_scaled,
        [&](const ReplayRequest& q, Int128 limit) { return static_cast<Int128>(to_us(q.at)) * r.speed.den < limit; });
    return static_cast<std::uint64_t>(it - r.requests->begin());
  };
  std::uint64_t count = 0;
  if (!r.loop) {
    count = before(covered);
  } else {
    const Int128 period = static_cast<Int128>(to_us(r.period)) * r.speed.den;
    FAILOVER_ASSERT(period > 0);
    count = static_cast<std::uint64_t>(covered / period) * r.requests->size() + before(covered % period);
  }
  return count * static_cast<std::uint64_t>(r.multiply);
}

}  // namespace failover::sim
