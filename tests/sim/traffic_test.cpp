#include "sim/traffic.h"

#include <gtest/gtest.h>

#include <vector>

namespace failover::sim {
namespace {

TrafficClass plain_class(std::string name, std::int64_t weight) {
  TrafficClass c;
  c.name = std::move(name);
  c.weight = weight;
  c.prompt_tokens = TokenDist::constant(1'000);
  c.output_tokens = TokenDist::constant(200);
  return c;
}

TrafficSpec spec_of(RateSchedule rate, ArrivalProcess process, Duration length) {
  TrafficSpec s;
  s.rate = rate;
  s.process = process;
  s.start = kTimeZero;
  s.end = kTimeZero + length;
  s.classes.push_back(plain_class("default", 1));
  return s;
}

std::vector<Arrival> all_arrivals(Traffic& traffic) {
  std::vector<Arrival> out;
  for (int guard = 0; guard < 10'000'000; ++guard) {
    const std::optional<Arrival> a = traffic.next_arrival();
    if (!a) break;
    out.push_back(*a);
  }
  return out;
}

std::int64_t count_between(const std::vector<Arrival>& arrivals, Duration from, Duration to) {
  std::int64_t n = 0;
  for (const Arrival& a : arrivals) n += (a.at >= kTimeZero + from && a.at < kTimeZero + to) ? 1 : 0;
  return n;
}

TEST(Traffic, Constant2400PerMinuteForTenMinutesIsExactly24000Arrivals) {
  Traffic t(spec_of(RateSchedule::steady(2'400), ArrivalProcess::constant, minutes(10)), Prng(1));
  const auto arrivals = all_arrivals(t);
  ASSERT_EQ(arrivals.size(), 24'000U);
  EXPECT_EQ(arrivals.front().at, kTimeZero);
  for (std::size_t i = 1; i < arrivals.size(); ++i) ASSERT_EQ(arrivals[i].at - arrivals[i - 1].at, ms(25));
  EXPECT_EQ(arrivals.back().number, 23'999U);
  EXPECT_FALSE(t.next_arrival().has_value());  // stays done
}

TEST(Traffic, ConstantGapsCarryTheRemainderExactly) {
  // 7 per minute: gaps of 8'571'428 or 8'571'429 µs, exactly 7 per minute over an hour.
  Traffic t(spec_of(RateSchedule::steady(7), ArrivalProcess::constant, minutes(60)), Prng(1));
  const auto arrivals = all_arrivals(t);
  ASSERT_EQ(arrivals.size(), 420U);
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    const std::int64_t gap = to_us(arrivals[i].at - arrivals[i - 1].at);
    ASSERT_TRUE(gap == 8'571'428 || gap == 8'571'429) << gap;
  }
  EXPECT_EQ(arrivals[7].at, kTimeZero + minutes(1));
}

TEST(Traffic, PoissonOverAnHourIsWithinOnePercentOfTheRate) {
  Traffic t(spec_of(RateSchedule::steady(2'400), ArrivalProcess::poisson, minutes(60)), Prng(2));
  const auto arrivals = all_arrivals(t);
  EXPECT_NEAR(static_cast<double>(arrivals.size()), 144'000.0, 1'440.0);
  for (std::size_t i = 1; i < arrivals.size(); ++i) ASSERT_GE(arrivals[i].at, arrivals[i - 1].at);
  EXPECT_LT(arrivals.back().at, kTimeZero + minutes(60));
}

TEST(Traffic, PoissonGapsAreExponential) {
  // Mean gap 25 ms; an exponential's standard deviation equals its mean.
  Traffic t(spec_of(RateSchedule::steady(2'400), ArrivalProcess::poisson, minutes(60)), Prng(3));
  const auto arrivals = all_arrivals(t);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    const auto gap = static_cast<double>(to_us(arrivals[i].at - arrivals[i - 1].at));
    sum += gap;
    sum_sq += gap * gap;
  }
  const double n = static_cast<double>(arrivals.size() - 1);
  const double mean = sum / n;
  const double variance = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 25'000.0, 250.0);
  EXPECT_NEAR(variance / (mean * mean), 1.0, 0.03);
}

TEST(Traffic, ClassSharesFollowTheirWeights) {
  TrafficSpec s = spec_of(RateSchedule::steady(6'000), ArrivalProcess::constant, minutes(20));
  s.classes = {plain_class("simple", 6), plain_class("medium", 3), plain_class("complex", 1)};
  Traffic t(s, Prng(4));
  const auto arrivals = all_arrivals(t);
  ASSERT_EQ(arrivals.size(), 120'000U);
  std::int64_t per_class[3] = {0, 0, 0};
  for (const Arrival& a : arrivals) ++per_class[a.class_index];
  EXPECT_NEAR(static_cast<double>(per_class[0]) / 120'000.0, 0.6, 0.01);
  EXPECT_NEAR(static_cast<double>(per_class[1]) / 120'000.0, 0.3, 0.01);
  EXPECT_NEAR(static_cast<double>(per_class[2]) / 120'000.0, 0.1, 0.01);
}

TEST(Traffic, TokenCountsComeFromTheClassDistributions) {
  TrafficSpec s = spec_of(RateSchedule::steady(600), ArrivalProcess::constant, minutes(10));
  s.classes[0].prompt_tokens = TokenDist::uniform(100, 300);
  s.classes[0].output_tokens = TokenDist::constant(42);
  Traffic t(s, Prng(5));
  for (const Arrival& a : all_arrivals(t)) {
    ASSERT_GE(a.prompt_tokens, 100);
    ASSERT_LE(a.prompt_tokens, 300);
    ASSERT_EQ(a.output_tokens, 42);
  }
}

TEST(Traffic, SameSeedSameArrivalsAndAnotherSeedOthers) {
  const TrafficSpec s = spec_of(RateSchedule::steady(1'200), ArrivalProcess::poisson, minutes(5));
  Traffic a(s, Prng(6));
  Traffic b(s, Prng(6));
  Traffic c(s, Prng(7));
  const auto xa = all_arrivals(a);
  const auto xb = all_arrivals(b);
  const auto xc = all_arrivals(c);
  ASSERT_EQ(xa.size(), xb.size());
  for (std::size_t i = 0; i < xa.size(); ++i) ASSERT_EQ(xa[i].at, xb[i].at);
  EXPECT_NE(xa.front().at, xc.front().at);
}

TEST(Traffic, ChangingTokenSizesMovesNoArrival) {
  TrafficSpec s = spec_of(RateSchedule::steady(1'200), ArrivalProcess::poisson, minutes(5));
  Traffic a(s, Prng(8));
  s.classes[0].prompt_tokens = TokenDist::lognormal(500, 8'000);
  Traffic b(s, Prng(8));
  const auto xa = all_arrivals(a);
  const auto xb = all_arrivals(b);
  ASSERT_EQ(xa.size(), xb.size());
  for (std::size_t i = 0; i < xa.size(); ++i) ASSERT_EQ(xa[i].at, xb[i].at);
}

TEST(Traffic, ASpikeTriplesTheRateInsideItsWindow) {
  const RateSchedule spike = RateSchedule::spike(1'000, 3'000, kTimeZero + minutes(20), minutes(10));
  EXPECT_EQ(spike.rate_mrpm(kTimeZero + minutes(19)), 1'000'000);
  EXPECT_EQ(spike.rate_mrpm(kTimeZero + minutes(20)), 3'000'000);
  EXPECT_EQ(spike.rate_mrpm(kTimeZero + minutes(30)), 1'000'000);
  Traffic t(spec_of(spike, ArrivalProcess::poisson, minutes(40)), Prng(9));
  const auto arrivals = all_arrivals(t);
  const auto before = static_cast<double>(count_between(arrivals, minutes(0), minutes(10)));
  const auto inside = static_cast<double>(count_between(arrivals, minutes(20), minutes(30)));
  EXPECT_NEAR(before, 10'000.0, 300.0);
  EXPECT_NEAR(inside / before, 3.0, 0.1);
}

TEST(Traffic, ARampInterpolatesTheRateInIntegers) {
  const RateSchedule ramp = RateSchedule::ramp(600, 2'400, kTimeZero + minutes(10), minutes(30));
  EXPECT_EQ(ramp.rate_mrpm(kTimeZero), 600'000);
  EXPECT_EQ(ramp.rate_mrpm(kTimeZero + minutes(25)), 1'500'000);
  EXPECT_EQ(ramp.rate_mrpm(kTimeZero + minutes(40)), 2'400'000);
  EXPECT_EQ(ramp.rate_mrpm(kTimeZero + minutes(90)), 2'400'000);
  EXPECT_EQ(ramp.rate_mrpm_max(), 2'400'000);
}

TEST(Traffic, AConstantRampFromZeroDeliversItsArea) {
  // 0 -> 600/min over 10 min: 3'000 arrivals under the ramp, 6'000 in the next 10 min.
  const RateSchedule ramp = RateSchedule::ramp(0, 600, kTimeZero, minutes(10));
  Traffic t(spec_of(ramp, ArrivalProcess::constant, minutes(20)), Prng(10));
  const auto arrivals = all_arrivals(t);
  EXPECT_NEAR(static_cast<double>(count_between(arrivals, minutes(0), minutes(10))), 3'000.0, 60.0);
  EXPECT_NEAR(static_cast<double>(count_between(arrivals, minutes(10), minutes(20))), 6'000.0, 2.0);
  Traffic p(spec_of(ramp, ArrivalProcess::poisson, minutes(20)), Prng(10));
  const auto poisson = all_arrivals(p);
  EXPECT_NEAR(static_cast<double>(count_between(poisson, minutes(0), minutes(10))), 3'000.0, 200.0);
}

TEST(Traffic, DiurnalFollowsASine) {
  const RateSchedule d = RateSchedule::diurnal(2'000, 1'000, minutes(24 * 60), Duration{0});
  EXPECT_EQ(d.rate_mrpm(kTimeZero), 2'000'000);
  EXPECT_EQ(d.rate_mrpm(kTimeZero + minutes(6 * 60)), 3'000'000);
  EXPECT_EQ(d.rate_mrpm(kTimeZero + minutes(12 * 60)), 2'000'000);
  EXPECT_EQ(d.rate_mrpm(kTimeZero + minutes(18 * 60)), 1'000'000);
  EXPECT_EQ(d.rate_mrpm(kTimeZero + minutes(4 * 60)), 2'866'025);  // 2000 + 1000 sin(60 deg)
  const RateSchedule shifted = RateSchedule::diurnal(2'000, 1'000, minutes(24 * 60), minutes(6 * 60));
  EXPECT_EQ(shifted.rate_mrpm(kTimeZero), 3'000'000);
  EXPECT_EQ(d.rate_mrpm_max(), 3'000'000);
}

TEST(Traffic, DiurnalPoissonAveragesToTheMeanOverAPeriod) {
  const RateSchedule d = RateSchedule::diurnal(100, 100, minutes(60), Duration{0});
  Traffic t(spec_of(d, ArrivalProcess::poisson, minutes(120)), Prng(11));
  const auto arrivals = all_arrivals(t);
  EXPECT_NEAR(static_cast<double>(arrivals.size()), 12'000.0, 400.0);
  // The first half of each period runs above the mean, the second below.
  const auto high = static_cast<double>(count_between(arrivals, minutes(0), minutes(30)));
  const auto low = static_cast<double>(count_between(arrivals, minutes(30), minutes(60)));
  EXPECT_GT(high, 2.0 * low);
}

TEST(Traffic, GoldenArrivalsCatchAnyChangeOfAlgorithm) {
  TrafficSpec s = spec_of(RateSchedule::steady(2'400), ArrivalProcess::poisson, minutes(1));
  s.classes = {plain_class("a", 1), plain_class("b", 1)};
  s.classes[1].prompt_tokens = TokenDist::lognormal(1'000, 8'000);
  Traffic t(s, Prng(2026));
  std::vector<std::int64_t> got;
  for (int i = 0; i < 4; ++i) {
    const Arrival a = *t.next_arrival();
    got.push_back(to_us(a.at));
    got.push_back(a.class_index);
    got.push_back(a.prompt_tokens);
  }
  // (µs, class, prompt tokens) of the first four arrivals.
  const std::vector<std::int64_t> golden = {20'004, 1, 827, 141'773, 1, 2'342, 196'098, 0, 1'000, 200'274, 1, 243};
  EXPECT_EQ(got, golden);
}

TEST(Traffic, AZeroRateProducesNoArrivals) {
  Traffic t(spec_of(RateSchedule::steady(0), ArrivalProcess::poisson, minutes(10)), Prng(12));
  EXPECT_FALSE(t.next_arrival().has_value());
  EXPECT_EQ(t.generated(), 0U);
}

TEST(TrafficDeathTest, AClassWithoutWeightAborts) {
  TrafficSpec s = spec_of(RateSchedule::steady(60), ArrivalProcess::poisson, minutes(1));
  s.classes[0].weight = 0;
  EXPECT_DEATH(Traffic(s, Prng(1)), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
