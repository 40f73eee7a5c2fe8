#include "sim/distribution.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace failover::sim {
namespace {

constexpr int kSamples = 100'000;

std::vector<std::int64_t> sorted_samples(const LatencyDist& dist, std::uint64_t seed) {
  Prng prng(seed);
  std::vector<std::int64_t> v;
  v.reserve(kSamples);
  for (int i = 0; i < kSamples; ++i) v.push_back(to_us(dist.sample(prng)));
  std::sort(v.begin(), v.end());
  return v;
}

// Nearest-rank percentile of a sorted sample.
std::int64_t rank(const std::vector<std::int64_t>& sorted, int permille) {
  const auto i = static_cast<std::size_t>((static_cast<std::int64_t>(sorted.size()) * permille + 999) / 1000);
  return sorted[i - 1];
}

TEST(LatencyDist, ConstantAlwaysGivesItsValueAndDrawsOnce) {
  const LatencyDist d = LatencyDist::constant(ms(250));
  Prng a(1);
  Prng b(1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(d.sample(a), ms(250));
  for (int i = 0; i < 100; ++i) (void)b.next();
  EXPECT_EQ(a.next(), b.next());  // one Prng output per sample, even for a constant
}

TEST(LatencyDist, LognormalEmpiricalP50AndP99MatchTheSpec) {
  const auto v = sorted_samples(LatencyDist::lognormal(ms(800), sec(4)), 21);
  EXPECT_NEAR(static_cast<double>(rank(v, 500)), 800'000.0, 800'000.0 * 0.02);
  EXPECT_NEAR(static_cast<double>(rank(v, 990)), 4'000'000.0, 4'000'000.0 * 0.03);
}

TEST(LatencyDist, ExponentialHasItsMeanAndMedian) {
  const auto v = sorted_samples(LatencyDist::exponential(ms(200)), 22);
  double sum = 0.0;
  for (const std::int64_t x : v) sum += static_cast<double>(x);
  EXPECT_NEAR(sum / kSamples, 200'000.0, 200'000.0 * 0.01);
  EXPECT_NEAR(static_cast<double>(rank(v, 500)), 200'000.0 * 0.6931, 200'000.0 * 0.6931 * 0.02);
}

TEST(LatencyDist, QuantileIsMonotoneAndHitsTheSpecExactly) {
  const LatencyDist d = LatencyDist::lognormal(ms(100), sec(1));
  EXPECT_EQ(d.quantile(0.5), ms(100));
  EXPECT_NEAR(static_cast<double>(to_us(d.quantile(0.99))), 1'000'000.0, 2.0);
  Duration last{0};
  for (int i = 1; i < 1000; ++i) {
    const Duration q = d.quantile(static_cast<double>(i) / 1000.0);
    ASSERT_GE(q, last);
    last = q;
  }
}

TEST(LatencyDist, SamplesAreClampedToOneMicrosecondAndOneHour) {
  const auto wide = sorted_samples(LatencyDist::lognormal(minutes(30), minutes(59)), 23);
  EXPECT_EQ(wide.back(), to_us(kLatencyMax));
  const auto tiny = sorted_samples(LatencyDist::exponential(us(1)), 24);
  EXPECT_EQ(tiny.front(), 1);
}

TEST(LatencyDist, ScaledMultipliesEveryQuantile) {
  const LatencyDist base = LatencyDist::lognormal(ms(300), sec(3));
  const LatencyDist slow = base.scaled(4'000);
  EXPECT_EQ(slow.kind(), DistKind::lognormal);
  EXPECT_EQ(slow.first(), ms(1'200));
  EXPECT_EQ(slow.second(), sec(12));
  for (const double u : {0.01, 0.3, 0.5, 0.9, 0.999}) {
    EXPECT_NEAR(static_cast<double>(to_us(slow.quantile(u))), 4.0 * static_cast<double>(to_us(base.quantile(u))), 4.0);
  }
  EXPECT_EQ(LatencyDist::constant(ms(10)).scaled(500).quantile(0.5), ms(5));
  EXPECT_EQ(LatencyDist::exponential(ms(10)).scaled(3'000).first(), ms(30));
}

TEST(LatencyDist, SameSeedGivesTheSameGoldenSequence) {
  const LatencyDist d = LatencyDist::lognormal(ms(800), sec(4));
  Prng prng(42);
  std::vector<std::int64_t> got;
  for (int i = 0; i < 5; ++i) got.push_back(to_us(d.sample(prng)));
  const std::vector<std::int64_t> golden = {308'031, 646'399, 1'105'733, 2'162'510, 4'209'290};
  EXPECT_EQ(got, golden);
  Prng exp_prng(43);
  EXPECT_EQ(to_us(LatencyDist::exponential(ms(200)).sample(exp_prng)), 166'060);
}

TEST(LatencyModel, AnswersTakeLongerPerOutputToken) {
  const LatencyModel m{LatencyDist::constant(ms(400)), ms(20)};
  const LatencyModel::Timing t = m.timing(0.5, 50);
  EXPECT_EQ(t.first_token, ms(400));
  EXPECT_EQ(t.total, ms(400) + ms(1'000));
  const LatencyModel slow = m.scaled(2'500);
  EXPECT_EQ(slow.timing(0.5, 50).first_token, ms(1'000));
  EXPECT_EQ(slow.timing(0.5, 50).total, ms(1'000) + ms(2'500));
}

TEST(TokenDist, ConstantUniformAndLognormalStayInRange) {
  Prng prng(31);
  EXPECT_EQ(TokenDist::constant(512).sample(prng), 512);
  const TokenDist u = TokenDist::uniform(100, 200);
  std::int64_t lo = 1'000;
  std::int64_t hi = 0;
  double sum = 0.0;
  for (int i = 0; i < kSamples; ++i) {
    const std::int64_t x = u.sample(prng);
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += static_cast<double>(x);
  }
  EXPECT_EQ(lo, 100);
  EXPECT_EQ(hi, 200);
  EXPECT_NEAR(sum / kSamples, 150.0, 0.5);
}

TEST(TokenDist, LognormalMatchesItsP50AndP99) {
  Prng prng(32);
  const TokenDist d = TokenDist::lognormal(800, 6'000);
  std::vector<std::int64_t> v;
  for (int i = 0; i < kSamples; ++i) v.push_back(d.sample(prng));
  std::sort(v.begin(), v.end());
  EXPECT_NEAR(static_cast<double>(rank(v, 500)), 800.0, 800.0 * 0.02);
  EXPECT_NEAR(static_cast<double>(rank(v, 990)), 6'000.0, 6'000.0 * 0.03);
  EXPECT_GE(v.front(), kTokensMin);
}

TEST(TokenDist, HugeLognormalIsClampedToTenMillion) {
  Prng prng(33);
  const TokenDist d = TokenDist::lognormal(5'000'000, 9'999'999);
  std::int64_t hi = 0;
  for (int i = 0; i < 10'000; ++i) hi = std::max(hi, d.sample(prng));
  EXPECT_EQ(hi, kTokensMax);
}

TEST(TokenDist, SameSeedGivesTheSameGoldenSequence) {
  Prng prng(44);
  const TokenDist logn = TokenDist::lognormal(800, 6'000);
  const TokenDist uni = TokenDist::uniform(1, 1'000);
  std::vector<std::int64_t> got;
  for (int i = 0; i < 3; ++i) got.push_back(logn.sample(prng));
  for (int i = 0; i < 3; ++i) got.push_back(uni.sample(prng));
  const std::vector<std::int64_t> golden = {1'751, 1'210, 1'821, 337, 204, 637};
  EXPECT_EQ(got, golden);
}

TEST(OpenUnit, NeverReturnsZeroOrOne) {
  Prng prng(45);
  for (int i = 0; i < kSamples; ++i) {
    const double u = open_unit(prng);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(LatencyDistDeathTest, LognormalWithP99BelowP50Aborts) {
  EXPECT_DEATH((void)LatencyDist::lognormal(sec(2), sec(1)), "FAILOVER_ASSERT");
  EXPECT_DEATH((void)LatencyDist::constant(Duration{0}), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
