// Backoff: how long a request waits before trying the same target again. The two
// jitter formulas are the published ones (Brooker, "Exponential Backoff And Jitter",
// AWS Architecture Blog, 2015) -- the case study's "full jitter" added a fixed
// fraction, which is not jitter at all and lets a herd return in step.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/engine/assert.h"
#include "core/engine/config.h"
#include "core/engine/prng.h"
#include "core/engine/time.h"

namespace failover {

// `retry` is 1 for the first retry; `previous` is the last sleep (decorrelated jitter).
inline Duration backoff_delay(const RetryPolicy& policy, std::int32_t retry, Duration previous, Prng& prng) noexcept {
  FAILOVER_ASSERT(retry >= 1);
  const std::int64_t base = to_us(policy.backoff_base);
  const std::int64_t cap = to_us(policy.backoff_max);
  FAILOVER_ASSERT(base <= cap);
  switch (policy.backoff) {
    case Backoff::none:
      return Duration{0};
    case Backoff::full_jitter: {
      // sleep = random_between(0, min(cap, base * 2^retry-1))
      std::int64_t ceiling = base;
      for (std::int32_t i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
      return Duration{prng.range(0, std::min(ceiling, cap))};
    }
    case Backoff::decorrelated_jitter: {
      // sleep = min(cap, random_between(base, previous * 3))
      const std::int64_t prev = std::max(base, to_us(previous));
      const std::int64_t hi = prev > cap / 3 ? cap : prev * 3;
      return Duration{std::min(cap, prng.range(base, std::max(base, hi)))};
    }
  }
  return Duration{0};
}

}  // namespace failover
