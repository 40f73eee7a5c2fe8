// Engine time: integer microseconds on a clock the engine cannot read. Drivers (the
// simulator's virtual clock, the live transport's monotonic clock) convert their notion
// of "now" to Time and pass it in; the engine only compares and adds.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace failover {

struct EngineClock {  // Has no now(): only a driver knows what time it is.
  using rep = std::int64_t;
  using period = std::micro;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<EngineClock>;
  static constexpr bool is_steady = true;
};

using Duration = EngineClock::duration;
using Time = EngineClock::time_point;

inline constexpr Time kTimeZero{};
inline constexpr Time kTimeNever{Duration{std::numeric_limits<std::int64_t>::max()}};

constexpr Duration us(std::int64_t n) {
  return Duration{n};
}
constexpr Duration ms(std::int64_t n) {
  return Duration{n * 1'000};
}
constexpr Duration sec(std::int64_t n) {
  return Duration{n * 1'000'000};
}
constexpr Duration minutes(std::int64_t n) {
  return Duration{n * 60'000'000};
}

constexpr std::int64_t to_us(Duration d) {
  return d.count();
}
constexpr std::int64_t to_us(Time t) {
  return t.time_since_epoch().count();
}
constexpr Time at_us(std::int64_t n) {
  return Time{Duration{n}};
}

// A duration as config and scenario files spell it, and as every message that names
// one prints it: "1h30m", "250ms", 90 s as "1m30s", "0" for zero, a leading '-' when
// negative. The loaders' parse_duration (core/config/toml_values.h) reads a
// non-negative one back exactly.
std::string duration_text(Duration d);

// Saturating add: a deadline of "never" plus anything stays "never".
constexpr Time add_sat(Time t, Duration d) {
  const std::int64_t a = to_us(t);
  const std::int64_t b = d.count();
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) return kTimeNever;
  return Time{Duration{a + b}};
}

}  // namespace failover
