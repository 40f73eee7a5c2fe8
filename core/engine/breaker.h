// Breaker: the per-target health gate. Closed, it counts failures two ways -- a run of
// consecutive failures and a failure rate (and optionally a slow-call rate) over a
// sliding time window with a minimum number of calls -- and opens when either rule
// fires. Open, it admits nothing until its open time passes (base, doubled for each
// further consecutive trip, capped; a healthy period forgives one trip). Half-open, it
// admits a limited number of probes, closes when they all succeed and reopens on the
// first probe failure. Whether a trip is allowed at all (the route floor) is the
// engine's decision, passed in.
#pragma once

#include <array>
#include <cstdint>

#include "core/engine/action.h"
#include "core/engine/config.h"
#include "core/engine/time.h"

namespace failover {

class Breaker {
 public:
  static constexpr std::int64_t kBuckets = 10;  // window resolution: window / 10

  enum class Change : std::uint8_t { none, opened, half_opened, closed, reopened, suppressed };

  // Which half-open period admitted an attempt as a probe (kNoProbe: it started while
  // closed). Only a result carrying the current period's ticket is a probe's result:
  // an attempt started before the trip, or a probe of an earlier half-open period,
  // may end while the breaker is half-open, and must neither close it, reopen it nor
  // hand back a probe it never took.
  using Ticket = std::uint32_t;
  static constexpr Ticket kNoProbe = 0;

  Breaker() = default;
  explicit Breaker(const BreakerPolicy& policy) noexcept;

  [[nodiscard]] BreakerState state() const noexcept { return state_; }
  [[nodiscard]] Time open_until() const noexcept { return open_until_; }
  [[nodiscard]] std::int32_t trips() const noexcept { return trips_total_; }
  [[nodiscard]] std::int32_t trip_streak() const noexcept { return trip_streak_; }

  // This breaker as another engine takes it over on a config reload: state, open time,
  // trip streak and window kept; the probes of a half-open period given back, since
  // their verdicts go to the engine that sent them, so the taker may probe anew.
  [[nodiscard]] Breaker taken_over() const noexcept {
    Breaker b = *this;
    b.probes_started_ = b.probes_succeeded_;
    return b;
  }

  // Open -> half-open once the open time has passed. Call at open_until().
  Change advance(Time now) noexcept;

  // May a new attempt start now? Closed: yes. Half-open: while probes remain. Open: no.
  [[nodiscard]] bool admits() const noexcept;
  // An attempt started; in half-open it takes a probe. Returns the attempt's ticket,
  // to be passed back when it ends.
  Ticket on_start() noexcept;
  // Is `ticket` a probe of the current half-open period (one whose verdict decides)?
  [[nodiscard]] bool current_probe(Ticket ticket) const noexcept {
    return state_ == BreakerState::half_open && ticket != kNoProbe && ticket == period_;
  }
  // A started attempt ended without a health verdict (cancelled, 4xx, 429): if it is
  // a probe of the current half-open period, its probe is handed back.
  void on_abandon(Ticket ticket) noexcept;

  // What one ended attempt says about the target's health, named at the call site
  // (`{.failure = true, .slow = false, .trip_allowed = true}`) so that no bare bool is
  // read by position.
  struct Sample {
    bool failure = false;      // it counts against the target
    bool slow = false;         // its time to first byte passed the slow-call threshold
    bool trip_allowed = true;  // false when opening would leave a route below its floor
  };
  // A started attempt ended with a health verdict. In half-open only a current probe's
  // result counts; any other returns Change::none.
  Change record(Time now, Sample sample, Ticket ticket = kNoProbe) noexcept;

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    std::int32_t calls = 0;
    std::int32_t failures = 0;
    std::int32_t slow = 0;
  };

  void forgive(Time now) noexcept;
  Bucket& bucket_at(Time now) noexcept;
  [[nodiscard]] bool rules_fire(Time now) const noexcept;
  void open(Time now) noexcept;
  void reset_window() noexcept;

  BreakerPolicy policy_;
  std::int64_t bucket_us_ = 1;
  BreakerState state_ = BreakerState::closed;
  std::int32_t consecutive_ = 0;
  std::int32_t probes_started_ = 0;
  std::int32_t probes_succeeded_ = 0;
  std::int32_t trip_streak_ = 0;
  std::int32_t trips_total_ = 0;
  Ticket period_ = kNoProbe;  // the current (or last) half-open period
  Time open_until_{};
  Time healthy_since_{};
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace failover
