// The deterministic functions against the platform's libm (allowed here: tests only
// measure accuracy), plus golden bit patterns that catch any change of algorithm.
#include "sim/det_math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/engine/prng.h"

namespace failover::sim {
namespace {

// |a - b| in units of b's last place.
double ulps(double a, double b) {
  const double spacing = std::nextafter(std::fabs(b), std::numeric_limits<double>::infinity()) - std::fabs(b);
  return std::fabs(a - b) / spacing;
}

TEST(DetMath, ExpIsWithinTwoUlpsOfLibmOverItsWholeRange) {
  Prng prng(1);
  double worst = 0.0;
  for (int i = 0; i < 200'000; ++i) {
    const double x = -708.0 + prng.unit() * (709.0 + 708.0);
    worst = std::max(worst, ulps(det_exp(x), std::exp(x)));
  }
  EXPECT_LE(worst, 2.0);
}

TEST(DetMath, ExpIsAccurateNearZeroAndAtSpecialPoints) {
  EXPECT_EQ(det_exp(0.0), 1.0);
  EXPECT_LE(ulps(det_exp(1.0), 2.718281828459045), 1.0);
  EXPECT_LE(ulps(det_exp(-1e-12), std::exp(-1e-12)), 1.0);
  EXPECT_LE(ulps(det_exp(0.3465), std::exp(0.3465)), 1.0);
  EXPECT_EQ(det_exp(710.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(det_exp(-746.0), 0.0);
  // Subnormal results: a relative error that stays small, compared in absolute terms.
  EXPECT_NEAR(det_exp(-740.0), std::exp(-740.0), 1e-322);
}

TEST(DetMath, LogIsWithinTwoUlpsOfLibmFromSubnormalsToHuge) {
  Prng prng(2);
  double worst = 0.0;
  for (int i = 0; i < 200'000; ++i) {
    const int exponent = static_cast<int>(prng.range(-1070, 1020));
    const double x = (1.0 + prng.unit()) * std::ldexp(1.0, exponent);
    worst = std::max(worst, ulps(det_log(x), std::log(x)));
  }
  EXPECT_LE(worst, 2.0);
}

TEST(DetMath, LogIsAccurateNearOne) {
  Prng prng(3);
  double worst = 0.0;
  for (int i = 0; i < 100'000; ++i) {
    const double x = 1.0 + (prng.unit() - 0.5) * 1e-5;
    if (x == 1.0) continue;
    worst = std::max(worst, ulps(det_log(x), std::log(x)));
  }
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(det_log(1.0), 0.0);
}

TEST(DetMath, LogOfPowersOfTwoIsKTimesLn2) {
  for (int k = -1074; k <= 1023; k += 7) {
    const double x = std::ldexp(1.0, k);
    EXPECT_LE(ulps(det_log(x), static_cast<double>(k) * 0.6931471805599453), 1.0) << k;
  }
  EXPECT_EQ(det_log(std::numeric_limits<double>::infinity()), std::numeric_limits<double>::infinity());
}

TEST(DetMath, SinTurnsMatchesLibmOnAFullPeriod) {
  constexpr double kTwoPi = 6.283185307179586;
  double worst = 0.0;
  for (int i = 0; i < 100'000; ++i) {
    const double t = static_cast<double>(i) / 100'000.0;
    worst = std::max(worst, std::fabs(det_sin_turns(t) - std::sin(kTwoPi * t)));
  }
  EXPECT_LE(worst, 1e-15);
  EXPECT_EQ(det_sin_turns(0.0), 0.0);
  EXPECT_EQ(det_sin_turns(0.25), 1.0);
  EXPECT_EQ(det_sin_turns(0.75), -1.0);
}

TEST(DetMath, InverseNormalCdfHitsKnownQuantiles) {
  EXPECT_EQ(inverse_normal_cdf(0.5), 0.0);
  EXPECT_NEAR(inverse_normal_cdf(0.975), 1.959963984540054, 1e-14);
  EXPECT_NEAR(inverse_normal_cdf(0.99), 2.326347874040841, 1e-14);
  EXPECT_NEAR(inverse_normal_cdf(0.999), 3.090232306167814, 1e-13);
  EXPECT_NEAR(inverse_normal_cdf(1e-10), -6.361340902404056, 1e-12);
  EXPECT_NEAR(inverse_normal_cdf(1e-20), -9.262340089798408, 1e-13);
  EXPECT_NEAR(inverse_normal_cdf(1e-300), -37.04709629936120, 1e-12);
}

TEST(DetMath, InverseNormalCdfInvertsTheCdf) {
  // Phi(x) = erfc(-x / sqrt 2) / 2 from libm, as the reference.
  Prng prng(4);
  double worst = 0.0;
  for (int i = 0; i < 100'000; ++i) {
    const double p = 1e-6 + prng.unit() * (1.0 - 2e-6);
    const double x = inverse_normal_cdf(p);
    const double back = 0.5 * std::erfc(-x / std::sqrt(2.0));
    worst = std::max(worst, std::fabs(back - p) / std::min(p, 1.0 - p));
  }
  EXPECT_LE(worst, 1e-12);
}

TEST(DetMath, InverseNormalCdfIsAntisymmetric) {
  // Probabilities whose complement 1 - p is exact in binary.
  for (const double p : {0x1.0p-10, 0.0625, 0.125, 0.25, 0.375, 0.4375}) {
    EXPECT_EQ(inverse_normal_cdf(p), -inverse_normal_cdf(1.0 - p)) << p;
  }
}

TEST(DetMath, GoldenBitsCatchAnyChangeOfAlgorithm) {
  EXPECT_EQ(std::bit_cast<std::uint64_t>(det_exp(3.7)), 4630889269335878785U);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(det_exp(-12.345)), 4526751318660336514U);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(det_log(1234.5678)), 4619700710149689815U);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(det_log(0.000321)), 13844090063423191953U);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(inverse_normal_cdf(0.9)), 4608450414325689652U);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(inverse_normal_cdf(0.001)), 13837513040186066032U);
  EXPECT_EQ(std::bit_cast<std::uint64_t>(det_sin_turns(0.1)), 4603469518431672926U);
}

TEST(DetMathDeathTest, LogOfZeroOrANegativeNumberAborts) {
  EXPECT_DEATH((void)det_log(0.0), "FAILOVER_ASSERT");
  EXPECT_DEATH((void)det_log(-1.0), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
