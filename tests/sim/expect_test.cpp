#include "sim/expect.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace failover::sim {
namespace {

// A storm on one provider from 60 s to 180 s of a 10-minute scenario, 10 s buckets.
Scenario storm_scenario() {
  Scenario s;
  s.name = "crafted";
  s.duration = minutes(10);
  s.seeds = {1, 2, 3};
  s.bucket = sec(10);
  ProviderSpec p;
  p.name = "primary";
  p.faults.push_back(Fault::http_error(kTimeZero + sec(60), sec(120), 503, Ratio{94, 100}));
  s.providers.push_back(p);
  s.overflow_from = kTimeZero + sec(60);
  return s;
}

// A run whose 60 buckets each saw 400 arrivals, all served, with 100 held at most.
RunResult healthy_run(std::uint64_t seed) {
  RunResult r;
  r.seed = seed;
  r.digest = "0123456789abcdef";
  r.bucket = sec(10);
  r.end = kTimeZero + minutes(10);
  Bucket b;
  b.arrived = 400;
  b.succeeded = 400;
  b.held_max = 100;
  r.series.assign(60, b);
  r.arrived = 24'000;
  r.succeeded = 24'000;
  r.conserved = true;
  return r;
}

Expectation expect(Metric m, Bound bound, double lo, double hi) {
  Expectation e;
  e.policy = "policy";
  e.metric = m;
  e.bound = bound;
  e.lo = lo;
  e.hi = hi;
  return e;
}

PolicyResult policy_of(std::vector<RunResult> runs) {
  PolicyResult p;
  p.name = "policy";
  p.runs = std::move(runs);
  return p;
}

TEST(MetricValue, ReadsAvailabilityInPercent) {
  RunResult r = healthy_run(1);
  r.arrived = 1'000;
  r.succeeded = 999;
  EXPECT_DOUBLE_EQ(metric_value(Metric::availability, storm_scenario(), r, nullptr), 99.9);
}

TEST(MetricValue, MeasuresOverflowInMinutesFromOverflowFromAndNeverAsInfinity) {
  RunResult r = healthy_run(1);
  EXPECT_TRUE(std::isinf(metric_value(Metric::overflow_at, storm_scenario(), r, nullptr)));
  r.overflow_at = kTimeZero + sec(60) + sec(18 * 60 + 30);
  EXPECT_DOUBLE_EQ(metric_value(Metric::overflow_at, storm_scenario(), r, nullptr), 18.5);
  EXPECT_EQ(format_metric(Metric::overflow_at, 18.5), "18.5 min");
  EXPECT_EQ(
      format_metric(Metric::overflow_at, metric_value(Metric::overflow_at, storm_scenario(), healthy_run(1), nullptr)),
      "never");
}

// A latency prints in the unit that reads best (issue 17: a p99 of "1761608 ms").
TEST(MetricValue, PrintsALatencyInTheUnitThatReadsBest) {
  EXPECT_EQ(format_metric(Metric::latency_p99, 850.0), "850 ms");
  EXPECT_EQ(format_metric(Metric::latency_p99, 2'500.0), "2.50 s");
  EXPECT_EQ(format_metric(Metric::latency_p99, 1'761'608.0), "29.4 min");
}

TEST(MetricValue, HasNoLatencyWhenNothingSucceeded) {
  RunResult r = healthy_run(1);
  EXPECT_TRUE(std::isinf(metric_value(Metric::latency_p99, storm_scenario(), r, nullptr)));
  for (int i = 0; i < 100; ++i) r.latency.record(ms(i < 50 ? 10 : 900));
  EXPECT_NEAR(metric_value(Metric::latency_p50, storm_scenario(), r, nullptr), 10.0, 0.2);
  EXPECT_NEAR(metric_value(Metric::latency_p99, storm_scenario(), r, nullptr), 900.0, 15.0);
}

TEST(MetricValue, CountsCostAtItsUpperBoundAgainstThePlan) {
  RunResult r = healthy_run(1);
  r.cost_micro_usd = 600;
  r.possibly_billed_micro_usd = 100;
  r.plan_cost_micro_usd = 1'000;
  EXPECT_DOUBLE_EQ(metric_value(Metric::cost_usd, storm_scenario(), r, nullptr), 0.0007);
  EXPECT_DOUBLE_EQ(metric_value(Metric::cost_ratio, storm_scenario(), r, nullptr), 70.0);
  RunResult plan = healthy_run(1);
  plan.plan_cost_micro_usd = 2'000;
  EXPECT_DOUBLE_EQ(metric_value(Metric::cost_ratio, storm_scenario(), r, &plan), 35.0);
}

TEST(MetricValue, DividesAttemptsByArrivalsAndSumsTripsOverTargets) {
  RunResult r = healthy_run(1);
  r.attempts = 30'000;
  r.trips_by_target = {2, 0, 3};
  EXPECT_DOUBLE_EQ(metric_value(Metric::attempts_per_request, storm_scenario(), r, nullptr), 1.25);
  EXPECT_DOUBLE_EQ(metric_value(Metric::breaker_trips, storm_scenario(), r, nullptr), 5.0);
}

TEST(CheckExpectation, AtLeastFailsOnTheLowestSeedAndNamesIt) {
  std::vector<RunResult> runs = {healthy_run(1), healthy_run(2), healthy_run(3)};
  runs[1].succeeded = 23'000;  // 95.83%
  runs[2].succeeded = 23'990;  // 99.96%
  const CheckResult c =
      check_expectation(expect(Metric::availability, Bound::at_least, 99.0, 0.0), storm_scenario(), policy_of(runs));
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.worst_seed, 2U);
  EXPECT_EQ(c.measured, "95.833% (seed 2)");
  EXPECT_EQ(c.expected, ">= 99.000%");
  EXPECT_EQ(c.metric, "availability");
}

TEST(CheckExpectation, AtMostPassesWhenEverySeedIsWithinAndNamesTheHighest) {
  std::vector<RunResult> runs = {healthy_run(4), healthy_run(5)};
  runs[0].dropped = 3;
  runs[1].dropped = 7;
  const CheckResult c =
      check_expectation(expect(Metric::dropped, Bound::at_most, 0.0, 10.0), storm_scenario(), policy_of(runs));
  EXPECT_TRUE(c.passed);
  EXPECT_EQ(c.worst_seed, 5U);
  EXPECT_EQ(c.measured, "7 (seed 5)");
}

TEST(CheckExpectation, BetweenFailsOnTheSeedFarthestOutside) {
  std::vector<RunResult> runs = {healthy_run(1), healthy_run(2), healthy_run(3)};
  runs[0].overflow_at = kTimeZero + sec(60) + minutes(18);  // inside
  runs[1].overflow_at = kTimeZero + sec(60) + minutes(16);  // 1 minute early
  runs[2].overflow_at = kTimeZero + sec(60) + minutes(23);  // 3 minutes late
  const CheckResult c =
      check_expectation(expect(Metric::overflow_at, Bound::between, 17.0, 20.0), storm_scenario(), policy_of(runs));
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.worst_seed, 3U);
  EXPECT_EQ(c.expected, "between 17.0 min and 20.0 min");
  runs[1].overflow_at = kTimeZero + sec(60) + minutes(19);
  runs[2].overflow_at = kTimeZero + sec(60) + minutes(17) + sec(6);  // nearest an edge
  const CheckResult inside =
      check_expectation(expect(Metric::overflow_at, Bound::between, 17.0, 20.0), storm_scenario(), policy_of(runs));
  EXPECT_TRUE(inside.passed);
  EXPECT_EQ(inside.worst_seed, 3U);
}

TEST(CheckExpectation, NeverFailsOnTheEarliestOverflow) {
  std::vector<RunResult> runs = {healthy_run(1), healthy_run(2), healthy_run(3)};
  EXPECT_TRUE(
      check_expectation(expect(Metric::overflow_at, Bound::none_, 0, 0), storm_scenario(), policy_of(runs)).passed);
  runs[1].overflow_at = kTimeZero + minutes(9);
  runs[2].overflow_at = kTimeZero + minutes(5);
  const CheckResult c =
      check_expectation(expect(Metric::overflow_at, Bound::none_, 0, 0), storm_scenario(), policy_of(runs));
  EXPECT_FALSE(c.passed);
  EXPECT_EQ(c.worst_seed, 3U);
  EXPECT_EQ(c.measured, "4.0 min (seed 3)");
  EXPECT_EQ(c.expected, "never");
}

TEST(FailoverSeconds, IsTheStartOfTheFirstMinuteBackAbove99Percent) {
  RunResult r = healthy_run(1);
  for (std::size_t i = 6; i < 10; ++i) r.series[i].succeeded = 100;  // 60 s .. 100 s: mostly failing
  // The minute from bucket 9 holds one bad bucket (87.5%); the one from bucket 10 is clean.
  EXPECT_EQ(failover_seconds(storm_scenario(), r), 40.0);
  EXPECT_DOUBLE_EQ(metric_value(Metric::failover_time, storm_scenario(), r, nullptr), 40.0);
}

TEST(FailoverSeconds, CountsADrainingBacklogAndIsZeroWhenNothingWasFelt) {
  RunResult r = healthy_run(1);
  EXPECT_EQ(failover_seconds(storm_scenario(), r), 0.0);
  r.series[6].succeeded = 0;    // the storm's first 10 s fail...
  r.series[7].succeeded = 800;  // ...and are served again in the next 10 s
  EXPECT_EQ(failover_seconds(storm_scenario(), r), 0.0);
}

TEST(FailoverSeconds, IsEmptyWhenNoMinuteRecoversOrWithoutFaults) {
  RunResult r = healthy_run(1);
  for (std::size_t i = 6; i < r.series.size(); ++i) r.series[i].succeeded = 390;  // 97.5%
  EXPECT_FALSE(failover_seconds(storm_scenario(), r).has_value());
  EXPECT_TRUE(std::isinf(metric_value(Metric::failover_time, storm_scenario(), r, nullptr)));
  Scenario quiet = storm_scenario();
  quiet.providers[0].faults.clear();
  EXPECT_FALSE(failover_seconds(quiet, healthy_run(1)).has_value());
}

TEST(RecoverySeconds, WaitsForClosedBreakersAndTheBacklogBackNearItsPreFaultPeak) {
  RunResult r = healthy_run(1);
  // The storm ends at 180 s (bucket 18). Pre-fault peak 100: the limit is 126.
  for (std::size_t i = 18; i < 22; ++i) r.series[i].open_targets = 1U;
  r.series[22].held_max = 200;
  r.series[23].held_max = 127;
  EXPECT_EQ(recovery_seconds(storm_scenario(), r), 60.0);  // bucket 24 starts at 240 s
  r.series[23].held_max = 126;
  EXPECT_EQ(recovery_seconds(storm_scenario(), r), 50.0);
}

TEST(RecoverySeconds, NeedsTheTailToSucceedAndIsEmptyWhileABreakerStaysOpen) {
  RunResult r = healthy_run(1);
  for (std::size_t i = 18; i < 30; ++i) r.series[i].succeeded = 300;  // 75% until 300 s
  // Pooled to the end, the tail from bucket 29 succeeds 99.2%; from bucket 28, 98.4%.
  EXPECT_EQ(recovery_seconds(storm_scenario(), r), 110.0);
  r.series.back().open_targets = 2U;
  EXPECT_FALSE(recovery_seconds(storm_scenario(), r).has_value());
  EXPECT_EQ(format_metric(Metric::recovery_time, metric_value(Metric::recovery_time, storm_scenario(), r, nullptr)),
            "never");
}

TEST(ScenarioResult, FailsWhenARunLostRequestsEvenIfEveryCheckPasses) {
  ScenarioResult result;
  result.checks.push_back(CheckResult{"policy", "dropped", "<= 0", "0 (seed 1)", 1, true});
  EXPECT_TRUE(result.passed());
  result.conserved = false;
  EXPECT_FALSE(result.passed());
  result.conserved = true;
  result.checks.push_back(CheckResult{"policy", "dropped", "<= 0", "3 (seed 2)", 2, false});
  EXPECT_FALSE(result.passed());
}

TEST(ExpectedText, WritesEachBoundInTheMetricsUnit) {
  EXPECT_EQ(expected_text(expect(Metric::availability, Bound::at_least, 99.97, 0)), ">= 99.970%");
  EXPECT_EQ(expected_text(expect(Metric::failover_time, Bound::at_most, 0, 60)), "<= 60 s");
  EXPECT_EQ(expected_text(expect(Metric::latency_p99, Bound::at_most, 0, 8000)), "<= 8.00 s");
  EXPECT_EQ(expected_text(expect(Metric::cost_usd, Bound::at_most, 0, 120.5)), "<= $120.50");
  EXPECT_EQ(expected_text(expect(Metric::overflow_at, Bound::none_, 0, 0)), "never");
}

}  // namespace
}  // namespace failover::sim
