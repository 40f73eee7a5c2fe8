#include "core/transport/clock.h"

#include <limits>

#include "core/engine/assert.h"

namespace failover::transport {

MonotonicClock::MonotonicClock() noexcept : start_(std::chrono::steady_clock::now()) {}

Time MonotonicClock::now() const noexcept {
  const auto elapsed = std::chrono::steady_clock::now() - start_;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  FAILOVER_ASSERT(micros >= 0);
  return at_us(static_cast<std::int64_t>(micros));
}

std::chrono::steady_clock::time_point MonotonicClock::to_steady(Time t) const noexcept {
  // "Never" and far-future deadlines saturate a year ahead rather than overflow.
  constexpr std::int64_t kFarUs = std::int64_t{365} * 24 * 3'600 * 1'000'000;
  const std::int64_t micros = to_us(t) > kFarUs ? kFarUs : to_us(t);
  FAILOVER_ASSERT(micros <= kFarUs);
  return start_ + std::chrono::microseconds(micros);
}

std::int64_t wall_now_unix_ms() noexcept {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  const auto ms_count = std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
  return ms_count < 0 ? 0 : static_cast<std::int64_t>(ms_count);
}

}  // namespace failover::transport
