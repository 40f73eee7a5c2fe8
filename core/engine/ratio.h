// Ratio: an exact probability or share as num/den in integers, so that decisions
// (a 94% error rate, a 20% retry budget) never depend on floating-point rounding.
#pragma once

#include <cstdint>

namespace failover {

struct Ratio {
  std::int64_t num = 0;
  std::int64_t den = 1;

  friend constexpr bool operator==(Ratio, Ratio) = default;

  // x * num / den, rounded down; x and num stay small enough (tokens, µs, counts).
  [[nodiscard]] constexpr std::int64_t scale(std::int64_t x) const { return x * num / den; }
  // True when part/whole >= this ratio (whole > 0).
  [[nodiscard]] constexpr bool reached_by(std::int64_t part, std::int64_t whole) const {
    return part * den >= num * whole;
  }
  [[nodiscard]] constexpr bool valid() const { return den > 0 && num >= 0 && num <= den; }
};

inline constexpr Ratio kRatioZero{0, 1};
inline constexpr Ratio kRatioOne{1, 1};

}  // namespace failover
