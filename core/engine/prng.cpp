#include "core/engine/prng.h"

#include "core/engine/assert.h"
#include "core/engine/wide.h"

namespace failover {
namespace {
constexpr std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}
}  // namespace

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t stable_hash(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

Prng::Prng(std::uint64_t seed) noexcept : seed_(seed) {
  std::uint64_t state = seed;
  for (auto& word : s_) word = splitmix64(state);
  // xoshiro's state must not be all zero; splitmix64 never yields four zeros in a row.
  FAILOVER_ASSERT((s_[0] | s_[1] | s_[2] | s_[3]) != 0);
}

Prng Prng::fork(std::string_view name) const noexcept {
  return fork(stable_hash(name));
}

Prng Prng::fork(std::uint64_t stream) const noexcept {
  std::uint64_t state = seed_ ^ (stream * 0xd1b54a32d192ed03ULL);
  return Prng{splitmix64(state)};
}

std::uint64_t Prng::next() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::uint64_t Prng::below(std::uint64_t n) noexcept {
  FAILOVER_ASSERT(n > 0);
  // Lemire, "Fast Random Integer Generation in an Interval" (2019): 128-bit product,
  // rejecting the few low values that would bias the result.
  UInt128 m = static_cast<UInt128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (int guard = 0; low < threshold; ++guard) {
      FAILOVER_ASSERT(guard < 1'000);  // probability of 1000 rejections is < 2^-1000
      m = static_cast<UInt128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

std::int64_t Prng::range(std::int64_t lo, std::int64_t hi) noexcept {
  FAILOVER_ASSERT(lo <= hi);
  const auto span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<std::int64_t>(next());
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + below(span + 1));
}

bool Prng::chance(Ratio p) noexcept {
  FAILOVER_ASSERT(p.valid());
  if (p.num == 0) return false;
  if (p.num == p.den) return true;
  return below(static_cast<std::uint64_t>(p.den)) < static_cast<std::uint64_t>(p.num);
}

double Prng::unit() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

}  // namespace failover
