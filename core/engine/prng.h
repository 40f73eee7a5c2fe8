// The one random generator of the project: xoshiro256** (Blackman & Vigna, 2018),
// seeded through splitmix64. Its output is specified bit for bit, so the same seed
// gives the same decisions on every compiler and standard library; the helpers
// below (unbiased bounded integers, Bernoulli on a Ratio) are ours for the same
// reason: std:: distributions differ between libstdc++, libc++ and MSVC.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/engine/ratio.h"

namespace failover {

class Prng {
 public:
  explicit Prng(std::uint64_t seed) noexcept;

  // A new generator whose stream is independent of this one's and of every other
  // fork with another name: the simulator gives traffic, each provider and each
  // fault its own stream, so adding a fault does not shift the arrivals.
  [[nodiscard]] Prng fork(std::string_view name) const noexcept;
  [[nodiscard]] Prng fork(std::uint64_t stream) const noexcept;

  std::uint64_t next() noexcept;
  // Uniform in [0, n), n > 0, without modulo bias (Lemire's method).
  std::uint64_t below(std::uint64_t n) noexcept;
  // Uniform in [lo, hi], lo <= hi.
  std::int64_t range(std::int64_t lo, std::int64_t hi) noexcept;
  // True with probability p.
  bool chance(Ratio p) noexcept;
  // Uniform double in [0, 1) with 53 random bits; for the simulator's samplers only.
  double unit() noexcept;

  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

 private:
  std::array<std::uint64_t, 4> s_{};
  std::uint64_t seed_ = 0;
};

// splitmix64 step and a stable 64-bit hash of a name (FNV-1a), used to derive streams.
std::uint64_t splitmix64(std::uint64_t& state) noexcept;
std::uint64_t stable_hash(std::string_view text) noexcept;

}  // namespace failover
