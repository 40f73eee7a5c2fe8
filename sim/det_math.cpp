#include "sim/det_math.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/engine/assert.h"

// det_exp and det_log follow Sun's fdlibm (e_exp.c, e_log.c; Copyright (C) 1993 by Sun
// Microsystems, freely redistributable): range reduction by k*ln2 split into a high part
// with trailing zero bits (so k*ln2_hi is exact) and a low part, then a minimax
// polynomial on the reduced argument. Both stay below 1 ulp of error.

namespace failover::sim {
namespace {

constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42 fee00000
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3dea39ef 35793c76
constexpr double kInvLn2 = 1.44269504088896338700e+00;
constexpr double kExpOverflow = 7.09782712893383973096e+02;
constexpr double kExpUnderflow = -7.45133219101941108420e+02;
constexpr double kInf = std::numeric_limits<double>::infinity();

// 2^k for k in [-1022, 1023], built from its exponent bits: exact, no libm.
double pow2(int k) noexcept {
  FAILOVER_ASSERT(k >= -1022);
  FAILOVER_ASSERT(k <= 1023);
  return std::bit_cast<double>(static_cast<std::uint64_t>(k + 1023) << 52);
}

// y * 2^k for y in [0.5, 2] and k in [-1080, 1030], in at most two exact steps (the
// second may round once into the subnormal range, the same way on every machine).
double scale_pow2(double y, int k) noexcept {
  FAILOVER_ASSERT(k >= -1080);
  FAILOVER_ASSERT(k <= 1030);
  if (k > 1023) return y * pow2(1023) * pow2(k - 1023);
  if (k < -1021) return y * pow2(k + 54) * pow2(-54);
  return y * pow2(k);
}

std::uint32_t high_word(double x) noexcept {
  return static_cast<std::uint32_t>(std::bit_cast<std::uint64_t>(x) >> 32);
}

double with_high_word(double x, std::uint32_t hi) noexcept {
  const std::uint64_t low = std::bit_cast<std::uint64_t>(x) & 0xffff'ffffULL;
  return std::bit_cast<double>((static_cast<std::uint64_t>(hi) << 32) | low);
}

// log(1 + f) + k ln2 for |f| < 2^-20, where a short series is exact enough.
double log_near_one(double f, int k) noexcept {
  FAILOVER_ASSERT(f > -0x1.0p-19);
  FAILOVER_ASSERT(f < 0x1.0p-19);
  const double dk = static_cast<double>(k);
  if (f == 0.0) return k == 0 ? 0.0 : dk * kLn2Hi + dk * kLn2Lo;
  const double r = f * f * (0.5 - 0.33333333333333333 * f);
  if (k == 0) return f - r;
  return dk * kLn2Hi - ((r - dk * kLn2Lo) - f);
}

// log(1 + f) + k ln2 for sqrt(2)/2 <= 1 + f < sqrt(2); `hx` is the normalised high
// word's mantissa bits (fdlibm's branch selector between two equivalent forms).
double log_reduced(double f, int k, std::int32_t hx) noexcept {
  constexpr double kLg1 = 6.666666666666735130e-01;
  constexpr double kLg2 = 3.999999999940941908e-01;
  constexpr double kLg3 = 2.857142874366239149e-01;
  constexpr double kLg4 = 2.222219843214978396e-01;
  constexpr double kLg5 = 1.818357216161805012e-01;
  constexpr double kLg6 = 1.531383769920937332e-01;
  constexpr double kLg7 = 1.479819860511658591e-01;
  FAILOVER_ASSERT(f > -0.3);
  FAILOVER_ASSERT(f < 0.42);
  const double s = f / (2.0 + f);
  const double dk = static_cast<double>(k);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  const std::int32_t i = (hx - 0x6147a) | (0x6b851 - hx);
  if (i > 0) {
    const double hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + r));
    return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
  }
  if (k == 0) return f - s * (f - r);
  return dk * kLn2Hi - ((s * (f - r) - dk * kLn2Lo) - f);
}

// Taylor series of sin and cos on |x| <= pi/4, where the first omitted term is below
// 2^-53 relative; the coefficients are 1/n!, folded at compile time.
double sin_poly(double x) noexcept {
  FAILOVER_ASSERT(x >= 0.0);
  FAILOVER_ASSERT(x <= 0.7854);
  const double z = x * x;
  double p = -1.0 / 1307674368000.0;  // -1/15!
  p = p * z + 1.0 / 6227020800.0;     // 1/13!
  p = p * z - 1.0 / 39916800.0;
  p = p * z + 1.0 / 362880.0;
  p = p * z - 1.0 / 5040.0;
  p = p * z + 1.0 / 120.0;
  p = p * z - 1.0 / 6.0;
  return x + x * z * p;
}

double cos_poly(double x) noexcept {
  FAILOVER_ASSERT(x >= 0.0);
  FAILOVER_ASSERT(x <= 0.7854);
  const double z = x * x;
  double p = 1.0 / 20922789888000.0;  // 1/16!
  p = p * z - 1.0 / 87178291200.0;    // -1/14!
  p = p * z + 1.0 / 479001600.0;
  p = p * z - 1.0 / 3628800.0;
  p = p * z + 1.0 / 40320.0;
  p = p * z - 1.0 / 720.0;
  p = p * z + 1.0 / 24.0;
  p = p * z - 0.5;
  return 1.0 + z * p;
}

}  // namespace

double det_exp(double x) noexcept {
  FAILOVER_ASSERT(x == x);  // not NaN
  if (x > kExpOverflow) return kInf;
  if (x < kExpUnderflow) return 0.0;
  // k = round(x / ln2), half away from zero; |k| <= 1075.
  const int k = static_cast<int>(x * kInvLn2 + (x < 0.0 ? -0.5 : 0.5));
  const double dk = static_cast<double>(k);
  const double hi = x - dk * kLn2Hi;
  const double lo = dk * kLn2Lo;
  const double r = hi - lo;
  const double t = r * r;
  const double c =
      r -
      t * (1.66666666666666019037e-01 +
           t * (-2.77777777770155933842e-03 +
                t * (6.61375632143793436117e-05 + t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))));
  const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
  FAILOVER_ASSERT(y > 0.5);
  return scale_pow2(y, k);
}

double det_log(double x) noexcept {
  FAILOVER_ASSERT(x > 0.0);  // also rejects NaN
  if (x == kInf) return x;
  int k = 0;
  if (x < 0x1.0p-1022) {  // subnormal: scale into the normal range first
    x *= 0x1.0p54;
    k -= 54;
  }
  auto hx = static_cast<std::int32_t>(high_word(x));
  k += (hx >> 20) - 1023;
  hx &= 0x000f'ffff;
  // Normalise the mantissa into [sqrt(2)/2, sqrt(2)): halve it when it is above sqrt(2).
  const std::int32_t i = (hx + 0x95f64) & 0x10'0000;
  const double m = with_high_word(x, static_cast<std::uint32_t>(hx | (i ^ 0x3ff0'0000)));
  k += i >> 20;
  const double f = m - 1.0;
  FAILOVER_ASSERT(k >= -1080);
  if ((0x000f'ffff & (2 + hx)) < 3) return log_near_one(f, k);
  return log_reduced(f, k, hx);
}

double det_sqrt(double x) noexcept {
  FAILOVER_ASSERT(x >= 0.0);
  const double r = std::sqrt(x);
  FAILOVER_ASSERT(r >= 0.0);
  return r;
}

double det_sin_turns(double t) noexcept {
  FAILOVER_ASSERT(t >= 0.0);
  FAILOVER_ASSERT(t < 1.0);
  constexpr double kHalfPi = 1.57079632679489661923;
  const double q = t * 4.0;  // exact: quadrant and position within it
  const int quadrant = static_cast<int>(q);
  const double f = q - static_cast<double>(quadrant);  // exact, in [0, 1)
  // Within a quadrant: sin(f pi/2) or cos(f pi/2), folded onto [0, pi/4].
  const bool odd = (quadrant & 1) != 0;
  double v = 0.0;
  if (f <= 0.5) {
    v = odd ? cos_poly(f * kHalfPi) : sin_poly(f * kHalfPi);
  } else {
    v = odd ? sin_poly((1.0 - f) * kHalfPi) : cos_poly((1.0 - f) * kHalfPi);
  }
  return quadrant >= 2 ? -v : v;
}

double inverse_normal_cdf(double p) noexcept {
  FAILOVER_ASSERT(p > 0.0);
  FAILOVER_ASSERT(p < 1.0);
  const double q = p - 0.5;
  if (q >= -0.425 && q <= 0.425) {
    const double r = 0.180625 - q * q;
    const double num =
        (((((((2.5090809287301226727e+3 * r + 3.3430575583588128105e+4) * r + 6.7265770927008700853e+4) * r +
             4.5921953931549871457e+4) *
                r +
            1.3731693765509461125e+4) *
               r +
           1.9715909503065514427e+3) *
              r +
          1.3314166789178437745e+2) *
             r +
         3.3871328727963666080e+0);
    const double den =
        (((((((5.2264952788528545610e+3 * r + 2.8729085735721942674e+4) * r + 3.9307895800092710610e+4) * r +
             2.1213794301586595867e+4) *
                r +
            5.3941960214247511077e+3) *
               r +
           6.8718700749205790830e+2) *
              r +
          4.2313330701600911252e+1) *
             r +
         1.0);
    return q * num / den;
  }
  double r = det_sqrt(-det_log(q < 0.0 ? p : 1.0 - p));
  double z = 0.0;
  if (r <= 5.0) {
    r -= 1.6;
    z = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r +
             1.27045825245236838258e+0) *
                r +
            3.64784832476320460504e+0) *
               r +
           5.76949722146069140550e+0) *
              r +
          4.63033784615654529590e+0) *
             r +
         1.42343711074968357734e+0) /
        (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r +
             1.48103976427480074590e-1) *
                r +
            6.89767334985100004550e-1) *
               r +
           1.67638483018380384940e+0) *
              r +
          2.05319162663775882187e+0) *
             r +
         1.0);
  } else {
    r -= 5.0;
    z = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r +
             2.65321895265761230930e-2) *
                r +
            2.96560571828504891230e-1) *
               r +
           1.78482653991729133580e+0) *
              r +
          5.46378491116411436990e+0) *
             r +
         6.65790464350110377720e+0) /
        (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r +
             7.86869131145613259100e-4) *
                r +
            1.48753612908506148525e-2) *
               r +
           1.36929880922735805310e-1) *
              r +
          5.99832206555887937690e-1) *
             r +
         1.0);
  }
  return q < 0.0 ? -z : z;
}

}  // namespace failover::sim
