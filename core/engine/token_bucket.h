// TokenBucket: integer token bucket refilled continuously in time, used for the
// shared retry budget and the client-side RPM/TPM limits. Tokens are held in
// milli-tokens so that fractional deposits (0.2 of a retry per request) stay exact.
#pragma once

#include <cstdint>
#include <limits>

#include "core/engine/assert.h"
#include "core/engine/time.h"
#include "core/engine/wide.h"

namespace failover {

class TokenBucket {
 public:
  TokenBucket() = default;
  // capacity and refill in whole tokens; refill_per is the period over which
  // `refill` tokens arrive (e.g. 600 tokens per minute). The bucket starts full.
  TokenBucket(std::int64_t capacity, std::int64_t refill, Duration refill_per) noexcept
      : capacity_milli_(capacity * 1'000),
        refill_milli_(refill * 1'000),
        period_us_(to_us(refill_per)),
        level_milli_(capacity * 1'000) {
    FAILOVER_ASSERT(capacity >= 0);
    FAILOVER_ASSERT(refill >= 0);
    FAILOVER_ASSERT(period_us_ > 0);
  }

  [[nodiscard]] bool enabled() const noexcept { return period_us_ > 0; }

  void advance(Time now) noexcept {
    if (!enabled()) return;
    if (now <= last_) return;
    const std::int64_t elapsed = to_us(now) - to_us(last_);
    last_ = now;
    if (level_milli_ >= capacity_milli_) {
      carry_ = 0;
      return;
    }
    // refill_milli * elapsed / period with the remainder carried so nothing is lost.
    const Int128 numer = static_cast<Int128>(refill_milli_) * elapsed + carry_;
    const auto gained = static_cast<std::int64_t>(numer / period_us_);
    carry_ = static_cast<std::int64_t>(numer % period_us_);
    level_milli_ = level_milli_ + gained >= capacity_milli_ ? capacity_milli_ : level_milli_ + gained;
  }

  // Adds milli-tokens (a deposit from a request), up to capacity.
  void deposit_milli(std::int64_t milli) noexcept {
    FAILOVER_ASSERT(milli >= 0);
    level_milli_ = level_milli_ + milli >= capacity_milli_ ? capacity_milli_ : level_milli_ + milli;
  }

  [[nodiscard]] bool has(std::int64_t tokens) const noexcept { return !enabled() || level_milli_ >= tokens * 1'000; }

  bool try_take(std::int64_t tokens) noexcept {
    FAILOVER_ASSERT(tokens >= 0);
    if (!enabled()) return true;
    if (level_milli_ < tokens * 1'000) return false;
    level_milli_ -= tokens * 1'000;
    return true;
  }

  // When `tokens` will be available at the refill rate alone (now when already there).
  // Exact: counted from the last refill, remainder included, so that a driver woken
  // at this time finds the tokens there rather than a microsecond short.
  [[nodiscard]] Time available_at(Time now, std::int64_t tokens) const noexcept {
    if (has(tokens)) return now;
    if (refill_milli_ == 0 || tokens * 1'000 > capacity_milli_) return kTimeNever;
    const Int128 missing = static_cast<Int128>(tokens * 1'000 - level_milli_) * period_us_ - carry_;
    FAILOVER_ASSERT(missing > 0);
    const Int128 wait_us = (missing + refill_milli_ - 1) / refill_milli_;
    if (wait_us > static_cast<Int128>(std::numeric_limits<std::int64_t>::max())) return kTimeNever;
    const Time at = add_sat(last_, Duration{static_cast<std::int64_t>(wait_us)});
    return at > now ? at : now;
  }

  [[nodiscard]] std::int64_t level_milli() const noexcept { return level_milli_; }

 private:
  std::int64_t capacity_milli_ = 0;
  std::int64_t refill_milli_ = 0;
  std::int64_t period_us_ = 0;  // 0: disabled, always has tokens
  std::int64_t level_milli_ = 0;
  std::int64_t carry_ = 0;
  Time last_{};
};

}  // namespace failover
