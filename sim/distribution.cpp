#include "sim/distribution.h"

#include <algorithm>

#include "core/engine/assert.h"
#include "sim/det_math.h"

namespace failover::sim {
namespace {

// Rounds a positive double to the nearest integer within [lo, hi]; the comparison in
// the double domain comes first so that a huge draw never overflows the conversion.
std::int64_t round_clamped(double v, std::int64_t lo, std::int64_t hi) noexcept {
  FAILOVER_ASSERT(lo >= 0);
  FAILOVER_ASSERT(lo <= hi);
  if (!(v >= static_cast<double>(lo))) return lo;
  if (v >= static_cast<double>(hi)) return hi;
  return static_cast<std::int64_t>(v + 0.5);
}

std::int64_t scale_permille(std::int64_t value, std::int64_t factor_permille) noexcept {
  FAILOVER_ASSERT(factor_permille > 0);
  FAILOVER_ASSERT(factor_permille <= kFactorPermilleMax);
  return value * factor_permille / kPermille;
}

// exp(mu + sigma z) at the quantile u of the standard normal z.
double lognormal_quantile(double mu, double sigma, double u) noexcept {
  FAILOVER_ASSERT(sigma >= 0.0);
  FAILOVER_ASSERT(u > 0.0 && u < 1.0);
  return det_exp(mu + sigma * inverse_normal_cdf(u));
}

}  // namespace

double open_unit(Prng& prng) noexcept {
  const std::uint64_t k = prng.next() >> 12;  // 52 bits: k + 0.5 is exact
  const double u = (static_cast<double>(k) + 0.5) * 0x1.0p-52;
  FAILOVER_ASSERT(u > 0.0);
  FAILOVER_ASSERT(u < 1.0);
  return u;
}

LatencyDist::LatencyDist(DistKind kind, std::int64_t first_us, std::int64_t second_us)
    : kind_(kind), first_us_(first_us), second_us_(second_us) {
  FAILOVER_ASSERT(first_us >= to_us(kLatencyMin));
  FAILOVER_ASSERT(first_us <= second_us);
  FAILOVER_ASSERT(second_us <= to_us(kLatencyMax));
  if (kind == DistKind::lognormal) {
    mu_ = det_log(static_cast<double>(first_us));
    sigma_ = (det_log(static_cast<double>(second_us)) - mu_) / kZ99;
  }
}

LatencyDist LatencyDist::constant(Duration value) {
  return LatencyDist{DistKind::constant, to_us(value), to_us(value)};
}

LatencyDist LatencyDist::exponential(Duration mean) {
  return LatencyDist{DistKind::exponential, to_us(mean), to_us(mean)};
}

LatencyDist LatencyDist::lognormal(Duration p50, Duration p99) {
  return LatencyDist{DistKind::lognormal, to_us(p50), to_us(p99)};
}

Duration LatencyDist::quantile(double u) const noexcept {
  FAILOVER_ASSERT(u > 0.0);
  FAILOVER_ASSERT(u < 1.0);
  const std::int64_t lo = to_us(kLatencyMin);
  const std::int64_t hi = to_us(kLatencyMax);
  switch (kind_) {
    case DistKind::constant:
      return us(first_us_);
    case DistKind::exponential:
      return us(round_clamped(-static_cast<double>(first_us_) * det_log(1.0 - u), lo, hi));
    case DistKind::lognormal:
      return us(round_clamped(lognormal_quantile(mu_, sigma_, u), lo, hi));
  }
  FAILOVER_ASSERT(false);
  return us(first_us_);
}

Duration LatencyDist::sample(Prng& prng) const noexcept {
  return quantile(open_unit(prng));
}

LatencyDist LatencyDist::scaled(std::int64_t factor_permille) const {
  const std::int64_t lo = to_us(kLatencyMin);
  const std::int64_t hi = to_us(kLatencyMax);
  const std::int64_t first = std::clamp(scale_permille(first_us_, factor_permille), lo, hi);
  const std::int64_t second = std::clamp(scale_permille(second_us_, factor_permille), first, hi);
  return LatencyDist{kind_, first, second};
}

LatencyModel::Timing LatencyModel::timing(double u, std::int64_t output_tokens) const noexcept {
  FAILOVER_ASSERT(output_tokens >= 0);
  FAILOVER_ASSERT(output_tokens <= kTokensMax);
  const Duration ttft = first_token.quantile(u);
  // per_output_token <= 1 h and tokens <= 1e7: the product stays far below 2^63 µs.
  return Timing{ttft, ttft + per_output_token * output_tokens};
}

LatencyModel LatencyModel::scaled(std::int64_t factor_permille) const {
  FAILOVER_ASSERT(per_output_token >= Duration{0});
  FAILOVER_ASSERT(per_output_token <= kLatencyMax);
  const std::int64_t per_token = std::min(scale_permille(to_us(per_output_token), factor_permille), to_us(kLatencyMax));
  return LatencyModel{first_token.scaled(factor_permille), us(per_token)};
}

TokenDist::TokenDist(TokenDistKind kind, std::int64_t first, std::int64_t second)
    : kind_(kind), first_(first), second_(second) {
  FAILOVER_ASSERT(first >= kTokensMin);
  FAILOVER_ASSERT(first <= second);
  FAILOVER_ASSERT(second <= kTokensMax);
  if (kind == TokenDistKind::lognormal) {
    mu_ = det_log(static_cast<double>(first));
    sigma_ = (det_log(static_cast<double>(second)) - mu_) / kZ99;
  }
}

TokenDist TokenDist::constant(std::int64_t tokens) {
  return TokenDist{TokenDistKind::constant, tokens, tokens};
}

TokenDist TokenDist::uniform(std::int64_t lo, std::int64_t hi) {
  return TokenDist{TokenDistKind::uniform, lo, hi};
}

TokenDist TokenDist::lognormal(std::int64_t p50, std::int64_t p99) {
  return TokenDist{TokenDistKind::lognormal, p50, p99};
}

std::int64_t TokenDist::sample(Prng& prng) const noexcept {
  FAILOVER_ASSERT(first_ >= kTokensMin);
  FAILOVER_ASSERT(second_ <= kTokensMax);
  switch (kind_) {
    case TokenDistKind::constant:
      return first_;
    case TokenDistKind::uniform:
      return prng.range(first_, second_);
    case TokenDistKind::lognormal:
      return round_clamped(lognormal_quantile(mu_, sigma_, open_unit(prng)), kTokensMin, kTokensMax);
  }
  FAILOVER_ASSERT(false);
  return first_;
}

}  // namespace failover::sim
