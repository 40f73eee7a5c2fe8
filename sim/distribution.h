// Distributions of the fake fleet and the traffic: how long an answer takes
// (LatencyDist, LatencyModel) and how many tokens a request carries (TokenDist).
// They decide the shape of a draw, computed identically on every platform (our own
// det_math, never std:: distributions); which Prng stream a draw comes from is left to
// the caller -- the fleet and the traffic generator each own theirs.
#pragma once

#include <cstdint>

#include "core/engine/prng.h"
#include "core/engine/time.h"

namespace failover::sim {

inline constexpr Duration kLatencyMin = us(1);
inline constexpr Duration kLatencyMax = minutes(60);
inline constexpr std::int64_t kTokensMin = 1;
inline constexpr std::int64_t kTokensMax = 10'000'000;
// The standard normal quantile at 0.99: (ln p99 - ln p50) / this is a lognormal's sigma.
inline constexpr double kZ99 = 2.326347874;
// Multipliers are integers in thousandths: 1'000 is x1, 4'000 a fourfold brownout.
inline constexpr std::int64_t kPermille = 1'000;
inline constexpr std::int64_t kFactorPermilleMax = 1'000'000;  // x1000

// A uniform double in (0, 1), never 0 or 1: (k + 1/2) / 2^52 for k drawn from the top
// 52 bits of one Prng output. The input of every quantile function.
double open_unit(Prng& prng) noexcept;

enum class DistKind : std::uint8_t { constant, exponential, lognormal };

// A latency distribution over [kLatencyMin, kLatencyMax]. Sampling maps one uniform
// draw through the quantile function, so a brownout that changes the parameters moves
// each call's latency without shifting the stream (see FakeProvider).
class LatencyDist {
 public:
  static LatencyDist constant(Duration value);
  static LatencyDist exponential(Duration mean);
  // mu = ln p50, sigma = (ln p99 - ln p50) / 2.326347874; requires 0 < p50 <= p99.
  static LatencyDist lognormal(Duration p50, Duration p99);

  LatencyDist() : LatencyDist(constant(ms(1))) {}

  // The value at quantile u, u in (0, 1), clamped to [kLatencyMin, kLatencyMax].
  [[nodiscard]] Duration quantile(double u) const noexcept;
  // quantile(open_unit(prng)): one Prng output per sample.
  [[nodiscard]] Duration sample(Prng& prng) const noexcept;
  // The same kind with every parameter multiplied by factor_permille / 1000.
  [[nodiscard]] LatencyDist scaled(std::int64_t factor_permille) const;

  [[nodiscard]] DistKind kind() const noexcept { return kind_; }
  // constant: the value; exponential: the mean; lognormal: p50.
  [[nodiscard]] Duration first() const noexcept { return us(first_us_); }
  // lognormal: p99; otherwise equal to first().
  [[nodiscard]] Duration second() const noexcept { return us(second_us_); }

 private:
  LatencyDist(DistKind kind, std::int64_t first_us, std::int64_t second_us);

  DistKind kind_ = DistKind::constant;
  std::int64_t first_us_ = 1'000;
  std::int64_t second_us_ = 1'000;
  double mu_ = 0.0;     // lognormal: ln p50 (p50 in µs)
  double sigma_ = 0.0;  // lognormal
};

// How long an answer takes. The latency distribution is the time to first token
// (TTFT: queueing and prompt processing, independent of the answer's length); then
// each output token takes per_output_token. A streamed answer's first byte arrives at
// TTFT and its last at TTFT + n x per_output_token; a non-streamed answer arrives whole
// at the latter. With per_output_token = 0 the distribution is the whole latency.
struct LatencyModel {
  LatencyDist first_token;
  Duration per_output_token{0};

  struct Timing {
    Duration first_token{0};
    Duration total{0};
  };
  // The timing at quantile u for an answer of output_tokens tokens.
  [[nodiscard]] Timing timing(double u, std::int64_t output_tokens) const noexcept;
  // Both parts multiplied by factor_permille / 1000 (a brownout).
  [[nodiscard]] LatencyModel scaled(std::int64_t factor_permille) const;
};

enum class TokenDistKind : std::uint8_t { constant, uniform, lognormal };

// A token count in [kTokensMin, kTokensMax]: prompt sizes and answer lengths.
class TokenDist {
 public:
  static TokenDist constant(std::int64_t tokens);
  static TokenDist uniform(std::int64_t lo, std::int64_t hi);  // inclusive, lo <= hi
  static TokenDist lognormal(std::int64_t p50, std::int64_t p99);

  TokenDist() : TokenDist(constant(1)) {}

  // constant: no draw; uniform: one Prng::range; lognormal: one open_unit.
  [[nodiscard]] std::int64_t sample(Prng& prng) const noexcept;
  [[nodiscard]] TokenDistKind kind() const noexcept { return kind_; }

 private:
  TokenDist(TokenDistKind kind, std::int64_t first, std::int64_t second);

  TokenDistKind kind_ = TokenDistKind::constant;
  std::int64_t first_ = 1;
  std::int64_t second_ = 1;
  double mu_ = 0.0;
  double sigma_ = 0.0;
};

}  // namespace failover::sim
