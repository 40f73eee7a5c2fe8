// The live world's pure parts: the policy scaled by K, and a live run's observations
// turned into the simulator's RunResult (counts, time series, breakers, latencies).
#include "sim/live_world.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/expect.h"
#include "sim/json_writer.h"
#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

Config two_provider_config() {
  Config c;
  for (const char* name : {"primary", "backup"}) {
    ProviderConfig p;
    p.name = name;
    p.rpm_max = 600;
    p.tpm_max = 90'000;
    p.models.push_back(ModelConfig{std::string("m-") + name, 3'000'000, 15'000'000, 0});
    c.providers.push_back(p);
  }
  RouteConfig r;
  r.name = "main";
  r.targets.push_back({c.intern_target(0, 0), 0, 1});
  r.targets.push_back({c.intern_target(1, 0), 1, 1});
  r.hedge_after = ms(1'500);
  c.routes.push_back(r);
  return c;
}

TEST(ScaledConfig, DividesEveryDurationAndMultipliesEveryRate) {
  const Config base = two_provider_config();
  ASSERT_TRUE(validate(base));
  const Config c = scaled_config(base, 120);
  ASSERT_TRUE(validate(c));
  EXPECT_EQ(c.providers[0].rpm_max, 600 * 120);
  EXPECT_EQ(c.providers[1].tpm_max, 90'000 * 120);
  EXPECT_EQ(c.routes[0].hedge_after, us(12'500));
  const Policy& p = c.policy;
  const Policy& b = base.policy;
  EXPECT_EQ(p.timeouts.request, b.timeouts.request / 120);
  EXPECT_EQ(p.timeouts.attempt, sec(30) / 120);
  EXPECT_EQ(p.timeouts.first_byte, us(125'000));
  EXPECT_EQ(p.breaker.open_base, us(41'667));  // 5 s / 120, rounded up: never 0, never early
  EXPECT_EQ(p.breaker.window, sec(30) / 120);
  EXPECT_EQ(p.retry.backoff_base, us(834));
  EXPECT_EQ(p.retry.retry_after_max, sec(60) / 120);
  EXPECT_EQ(p.retry.budget_min_per_second, b.retry.budget_min_per_second * 120);
  EXPECT_EQ(p.retry.budget_max, b.retry.budget_max);  // a count: the same tokens, refilled K times faster
  EXPECT_EQ(p.breaker.consecutive_failures, b.breaker.consecutive_failures);
  EXPECT_EQ(p.breaker.slow_call_threshold, Duration{0});  // off stays off
  EXPECT_EQ(p.health.ewma_idle_half_life, us(83'334));
}

TEST(ScaledConfig, ScaleOneIsTheSamePolicy) {
  const Config base = two_provider_config();
  const Config c = scaled_config(base, 1);
  EXPECT_EQ(c.policy.timeouts.request, base.policy.timeouts.request);
  EXPECT_EQ(c.policy.breaker.open_max, base.policy.breaker.open_max);
  EXPECT_EQ(c.providers[0].rpm_max, base.providers[0].rpm_max);
}

RunSpec small_spec(const Config& config) {
  RunSpec spec;
  spec.config = config;
  spec.providers.resize(config.providers.size());
  for (std::size_t i = 0; i < config.providers.size(); ++i) spec.providers[i].name = config.providers[i].name;
  spec.end = kTimeZero + minutes(3);
  spec.bucket = minutes(1);
  spec.seed = 4;
  spec.buffer.capacity = 2;
  return spec;
}

SendAttempt send_to(Index target, RequestId request) {
  SendAttempt s;
  s.request = request;
  s.target = target;
  s.provider = target;
  s.model = 0;
  s.number = 1;
  return s;
}

TEST(LiveRecord, KeepsARunAsTheSimulatorDoes) {
  const Config config = two_provider_config();
  const RunSpec spec = small_spec(config);
  LiveRecord record(spec);
  const Time t0 = kTimeZero + sec(5);
  record.arrived(t0, 100);
  record.admitted(t0);
  record.action(t0, send_to(0, 1));
  record.arrived(t0 + sec(1), 100);
  record.admitted(t0 + sec(1));
  record.arrived(t0 + sec(2), 100);
  record.dropped_full(t0 + sec(2));  // the buffer of 2 is full
  record.action(t0 + sec(3), BreakerChanged{0, BreakerState::closed, BreakerState::open, t0 + sec(3)});
  record.action(t0 + sec(3), send_to(1, 1));
  record.action(t0 + sec(4), Charge{1, 2, 1, 250, ChargeKind::usage});
  Complete ok;
  ok.status = RequestStatus::succeeded;
  ok.target = 1;
  record.ended(t0 + sec(4), ok, sec(4), false);
  // A minute later: the first bucket is closed, the breaker closes again.
  record.action(kTimeZero + sec(70), BreakerChanged{0, BreakerState::open, BreakerState::closed, kTimeZero + sec(70)});
  Complete failed;
  failed.status = RequestStatus::failed;
  failed.reason = EndReason::attempts_exhausted;
  record.ended(kTimeZero + sec(80), failed, Duration{0}, false);
  const RunResult r = record.finish(spec.end, 0, 250, 0, 0);

  EXPECT_EQ(r.seed, 4U);
  EXPECT_EQ(r.arrived, 3);
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.dropped, 1);
  EXPECT_EQ(r.dropped_buffer_full, 1);
  EXPECT_TRUE(r.conserved);
  ASSERT_TRUE(r.overflow_at.has_value());
  EXPECT_EQ(*r.overflow_at, t0 + sec(2));
  EXPECT_EQ(r.held_peak, 2);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.attempts_by_target[0], 1);
  EXPECT_EQ(r.attempts_by_target[1], 1);
  EXPECT_EQ(r.trips_by_target[0], 1);
  EXPECT_EQ(r.transitions_total, 2);
  EXPECT_EQ(r.open_time_by_target[0], sec(62));  // from 8 s to 70 s
  EXPECT_EQ(r.successes_by_target[1], 1);
  EXPECT_EQ(r.cost_micro_usd, 250);
  EXPECT_EQ(r.plan_cost_micro_usd, 300);
  EXPECT_EQ(r.latency.count(), 1);
  EXPECT_EQ(r.failed_by[static_cast<std::size_t>(EndReason::attempts_exhausted)], 1);
  // The failure came while no breaker was open: none counted against one.
  EXPECT_EQ(r.ended_while_open[static_cast<std::size_t>(EndReason::attempts_exhausted) * 2 + 0], 0);
  ASSERT_EQ(r.series.size(), 3U);
  EXPECT_EQ(r.series[0].arrived, 3);
  EXPECT_EQ(r.series[0].succeeded, 1);
  EXPECT_EQ(r.series[0].dropped, 1);
  EXPECT_EQ(r.series[0].attempts, 2);
  EXPECT_EQ(r.series[0].cost_micro_usd, 250);
  EXPECT_EQ(r.series[0].held_max, 2);
  EXPECT_EQ(r.series[0].open_targets, 1U);
  EXPECT_EQ(r.series[0].latency_p50_us, r.latency.percentile(Ratio{50, 100}).count());
  EXPECT_EQ(r.series[1].failed, 1);
  EXPECT_EQ(r.series[2].open_targets, 0U);
  EXPECT_EQ(r.breaker_end[0], BreakerState::closed);
  EXPECT_EQ(r.digest, "live");
}

TEST(LiveRecord, UnfinishedRequestsAreInFlightAndConserved) {
  const Config config = two_provider_config();
  const RunSpec spec = small_spec(config);
  LiveRecord record(spec);
  record.arrived(kTimeZero + sec(1), 0);
  record.admitted(kTimeZero + sec(1));
  const RunResult r = record.finish(spec.end, 1, 0, 0, 0);
  EXPECT_EQ(r.in_flight_end, 1);
  EXPECT_TRUE(r.conserved);
  LiveRecord lost(spec);
  lost.arrived(kTimeZero + sec(1), 0);
  lost.admitted(kTimeZero + sec(1));
  EXPECT_FALSE(lost.finish(spec.end, 0, 0, 0, 0).conserved);  // a request neither ended nor in flight
}

TEST(TwoWorlds, TheTableHasEveryMetricBothWorldsAndTheDifference) {
  const Config config = two_provider_config();
  const RunSpec spec = small_spec(config);
  Scenario s;
  s.name = "tiny";
  s.duration = minutes(3);
  RunResult sim_run;
  sim_run.seed = 4;
  sim_run.arrived = 1'000;
  sim_run.succeeded = 990;
  sim_run.attempts = 1'100;
  RunResult live_run = sim_run;
  live_run.succeeded = 985;
  live_run.attempts = 1'120;
  LiveNotes notes;
  notes.time_scale = 120;
  notes.wall_seconds = 90.0;
  notes.connections = 12;
  const std::string table = two_worlds_table(s, "policy", sim_run, live_run, notes);
  EXPECT_NE(table.find("two worlds: policy policy, seed 4, time scale 120"), std::string::npos) << table;
  EXPECT_NE(table.find("99.000%"), std::string::npos) << table;
  EXPECT_NE(table.find("98.500%"), std::string::npos) << table;
  EXPECT_NE(table.find("-0.500 pt"), std::string::npos) << table;
  EXPECT_NE(table.find("+0.020 (+1.8%)"), std::string::npos) << table;
  EXPECT_NE(table.find("12 TLS connections"), std::string::npos) << table;
  for (const Metric m : kTwoWorldsMetrics) {
    EXPECT_NE(table.find(std::string(metric_name(m)) + " "), std::string::npos) << metric_name(m);
  }
  JsonWriter j;
  j.open("", '{');
  write_two_worlds(j, s, sim_run, live_run, notes);
  j.close('}');
  const std::string json = j.finish();
  EXPECT_NE(json.find("\"time_scale\": 120"), std::string::npos) << json;
  EXPECT_NE(json.find("{\"metric\": \"availability\", \"sim\": 99.000000, \"live\": 98.500000, \"difference\": "
                      "-0.500000}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"difference\": null"), std::string::npos) << json;  // failover_time: never in both
  (void)spec;
}

}  // namespace
}  // namespace failover::sim
