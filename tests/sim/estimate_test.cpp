// The run estimate: the rate schedule's integral per kind, the bound on events against a
// real run, and the figures a command refuses with.
#include "sim/estimate.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/expect.h"
#include "sim/scenario_load.h"
#include "sim/simulation.h"

namespace failover::sim {
namespace {

TrafficSpec window(RateSchedule rate, Duration from, Duration until) {
  TrafficSpec t;
  t.rate = rate;
  t.start = kTimeZero + from;
  t.end = kTimeZero + until;
  return t;
}

TEST(Estimate, ASteadyRateBringsRateTimesTheWindow) {
  EXPECT_DOUBLE_EQ(expected_arrivals(window(RateSchedule::steady(600), minutes(5), minutes(65))), 36'000.0);
}

TEST(Estimate, ARampIsIntegratedPiecewise) {
  // 100 rpm until 10m, linear to 300 rpm by 20m, then 300: over [0, 30m) 1000 + 2000 + 3000.
  const RateSchedule r = RateSchedule::ramp(100, 300, kTimeZero + minutes(10), minutes(10));
  EXPECT_DOUBLE_EQ(expected_arrivals(window(r, Duration{0}, minutes(30))), 6'000.0);
  // Half-way into the ramp: 100 x 10 + (100 + 200) / 2 x 5.
  EXPECT_DOUBLE_EQ(expected_arrivals(window(r, Duration{0}, minutes(15))), 1'750.0);
}

TEST(Estimate, ASpikeAddsItsPeakOnlyWhileItLasts) {
  const RateSchedule r = RateSchedule::spike(60, 600, kTimeZero + minutes(10), minutes(2));
  EXPECT_DOUBLE_EQ(expected_arrivals(window(r, Duration{0}, minutes(60))), 60.0 * 60 + 540.0 * 2);
  EXPECT_DOUBLE_EQ(expected_arrivals(window(r, minutes(11), minutes(60))), 60.0 * 49 + 540.0);
}

TEST(Estimate, ADiurnalDayIsItsMeanPlusAtMostTheSinesLargestArea) {
  const RateSchedule r = RateSchedule::diurnal(100, 70, minutes(24 * 60), Duration{0});
  const double day = expected_arrivals(window(r, Duration{0}, minutes(24 * 60)));
  EXPECT_GE(day, 144'000.0);
  EXPECT_LE(day, 144'000.0 + 70.0 * 24 * 60 / 3.14159);
}

// The headline replay: the arrivals estimate is within 1% of what a run brings, and the
// event bound is above the events it processes.
TEST(Estimate, TheHeadlineReplayIsEstimatedFromAbove) {
  const Result<Scenario> s =
      load_scenario_file(std::string(FAILOVER_SOURCE_DIR) + "/scenarios/claude-503-storm-2026-05-08.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  const NamedPolicy& policy = s->policies.front();
  const RunEstimate e = estimate_run(*s, policy);
  const RunResult run = run_simulation(s->run_spec(policy, s->seeds.front()));
  EXPECT_NEAR(e.arrivals, static_cast<double>(run.arrived), 0.01 * e.arrivals);
  EXPECT_GE(e.events, static_cast<double>(run.events));
  EXPECT_LT(e.events, 10.0 * static_cast<double>(run.events));  // a bound, not a wild guess
}

TEST(Estimate, AMillionRequestsPerSecondFor720HoursIsFarAboveTheLimit) {
  const std::string text = R"([scenario]
title = "too long"
duration = "720h"
seeds = [1]
[traffic]
rate_rpm = 60000000
process = "constant"
[[traffic.classes]]
name = "c"
share = "100%"
route = "r"
prompt_tokens = 100
output_tokens = 10
[[providers]]
name = "a"
[[providers.models]]
id = "m"
[providers.sim]
latency = { constant = "100ms" }
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)";
  const Result<Scenario> s = load_scenario_string(text, "huge.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  const RunEstimate e = estimate_run(*s, s->policies.front());
  EXPECT_DOUBLE_EQ(e.arrivals, 60e6 * 720 * 60);  // 2.592e12 requests
  EXPECT_DOUBLE_EQ(e.events, e.arrivals * (kEventsPerRequest + kEventsPerAttempt * 3));
  EXPECT_GT(e.events, kEventsMax);
  const std::string m = too_long_message(e, 1);
  EXPECT_NE(m.find("about 2.59e+12 requests"), std::string::npos) << m;
  EXPECT_NE(m.find("--allow-long"), std::string::npos) << m;
}

}  // namespace
}  // namespace failover::sim
