// Bit-reproducible elementary functions for the simulator's samplers. std::exp and
// std::log are only "close" to the true value and differ between libm versions, which
// would make a latency draw -- and so a whole run -- platform dependent; these use only
// + - * / on IEEE doubles (compiled with -ffp-contract=off) plus the correctly rounded
// std::sqrt, so the same input gives the same bits everywhere. Accuracy is ~1 ulp;
// they are for sampling, not for numerical analysis.
#pragma once

namespace failover::sim {

// e^x. Overflows to +inf above ~709.78, underflows to 0 below ~-745.13. x not NaN.
double det_exp(double x) noexcept;

// Natural logarithm, x > 0 (+inf gives +inf). Subnormal inputs are supported.
double det_log(double x) noexcept;

// Square root: IEEE 754 requires it to be correctly rounded, so std::sqrt is exact.
double det_sqrt(double x) noexcept;

// sin(2 pi t) for t in [0, 1): a full period given as a fraction of a turn, so that
// the caller reduces its angle exactly in integers (the diurnal traffic schedule).
double det_sin_turns(double t) noexcept;

// The standard normal quantile Phi^-1(p), 0 < p < 1: Wichura's algorithm AS 241
// (PPND16, Applied Statistics 37(3), 1988), relative accuracy about 1e-16.
double inverse_normal_cdf(double p) noexcept;

}  // namespace failover::sim
