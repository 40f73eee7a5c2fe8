// The live driver's clocks: the one place that turns std::chrono::steady_clock into
// engine Time (microseconds since the driver started), and the wall clock that
// Retry-After dates are measured against. Only core/transport/ may read a clock.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/engine/time.h"

namespace failover::transport {

// Engine time for one driver: zero when the clock was made, never going backwards.
class MonotonicClock {
 public:
  MonotonicClock() noexcept;
  [[nodiscard]] Time now() const noexcept;
  // The steady_clock instant of an engine time, for arming an Asio timer.
  [[nodiscard]] std::chrono::steady_clock::time_point to_steady(Time t) const noexcept;

 private:
  std::chrono::steady_clock::time_point start_;
};

// Milliseconds since the unix epoch, for HTTP-date and RFC 3339 back-pressure headers.
std::int64_t wall_now_unix_ms() noexcept;

}  // namespace failover::transport
