#include "sim/simulation.h"

#include <gtest/gtest.h>

namespace failover::sim {
namespace {

// Four providers as in the case study (prices per 1M tokens), one route over them.
RunSpec storm_spec(bool failover, Duration storm, Duration end) {
  RunSpec s;
  const struct {
    const char* name;
    const char* model;
    std::int64_t in, out;
  } rows[] = {{"anthropic", "claude-sonnet-4-5", 3'000'000, 15'000'000},
              {"openai", "gpt-4.1", 2'000'000, 8'000'000},
              {"google", "gemini-2.5-flash", 350'000, 2'500'000},
              {"deepseek", "deepseek-chat", 70'000, 420'000}};
  RouteConfig route;
  route.name = "main";
  const int n = failover ? 4 : 1;
  for (int i = 0; i < n; ++i) {
    ProviderConfig p;
    p.name = rows[i].name;
    p.base_url = "https://example.invalid";
    p.api_key_env = "KEY";
    p.concurrency_max = 200;
    p.models.push_back(ModelConfig{rows[i].model, rows[i].in, rows[i].out, 200'000});
    s.config.providers.push_back(p);
    route.targets.push_back(RouteTarget{s.config.intern_target(static_cast<Index>(i), 0), i, 1});
    ProviderSpec ps;
    ps.name = rows[i].name;
    ps.latency.first_token = LatencyDist::lognormal(ms(400), ms(2'000));
    ps.concurrency_max = 200;
    ps.models = p.models;
    s.providers.push_back(ps);
  }
  s.config.routes.push_back(route);
  s.config.policy.queue.depth_max = 50'000;  // the application's buffer bounds the backlog
  s.config.policy.queue.requests_max = 50'000;
  if (!failover) {
    s.config.policy.retry.attempts_max = 1;
    s.config.policy.breaker.consecutive_failures = 0;
    s.config.policy.breaker.failure_rate = Ratio{0, 1};
    s.config.policy.timeouts.request = minutes(60);  // the consumer waits as long as it takes
  }
  // The storm's 503s come back after 10 s: the gateway waits for its upstream first.
  Fault f = Fault::http_error(at_us(0) + minutes(1), storm, 503, Ratio{94, 100});
  f.delay = sec(10);
  s.providers[0].faults.push_back(f);
  TrafficClass cls;
  cls.name = "all";
  cls.route = 0;
  cls.prompt_tokens = TokenDist::constant(500);
  cls.output_tokens = TokenDist::constant(200);
  s.traffic.rate = RateSchedule::steady(2'400);
  s.traffic.process = ArrivalProcess::poisson;
  s.traffic.end = at_us(0) + end;
  s.traffic.classes.push_back(cls);
  s.buffer.capacity = 18 * 2'400;
  s.buffer.mode = BufferMode::requeue;
  s.end = at_us(0) + end;
  s.seed = 42;
  return s;
}

TEST(Simulation, ConservesEveryRequestAndRepeatsItsDigestForTheSameSeed) {
  const RunSpec spec = storm_spec(true, minutes(5), minutes(8));
  ASSERT_TRUE(validate(spec.config).has_value());
  const RunResult a = run_simulation(spec);
  const RunResult b = run_simulation(spec);
  EXPECT_TRUE(a.conserved);
  EXPECT_GT(a.arrived, 15'000);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(a.events, b.events);
}

TEST(Simulation, FailoverKeepsTheBufferFromOverflowingDuringA503Storm) {
  const RunResult r = run_simulation(storm_spec(true, minutes(20), minutes(25)));
  EXPECT_TRUE(r.conserved);
  EXPECT_FALSE(r.overflow_at.has_value());
  EXPECT_EQ(r.dropped, 0);
  EXPECT_GE(r.availability(), 0.99);
  EXPECT_GE(r.trips_by_target[0], 1);
}

TEST(Simulation, WithoutFailoverTheBufferOverflowsDuringA503Storm) {
  const RunResult r = run_simulation(storm_spec(false, minutes(40), minutes(45)));
  EXPECT_TRUE(r.conserved);
  ASSERT_TRUE(r.overflow_at.has_value());
  const double minutes_after = static_cast<double>(to_us(*r.overflow_at) - to_us(minutes(1))) / 60e6;
  // The case study's deadline: 18 minutes from the storm to the first dropped message.
  EXPECT_GT(minutes_after, 17.0);
  EXPECT_LT(minutes_after, 20.0);
}

// A bucket reads what the buffer held in it, admissions or not (issue 17: a full buffer
// read 0 for the 30 minutes after arrivals stopped, because held_max was only raised
// when an arrival was admitted).
TEST(Simulation, ABucketWithNoAdmissionStillShowsWhatTheBufferHeld) {
  RunSpec spec = storm_spec(false, minutes(44), minutes(45));  // the storm lasts to the end
  spec.traffic.end = at_us(0) + minutes(20);                   // arrivals stop; the storm goes on
  const RunResult r = run_simulation(spec);
  ASSERT_TRUE(r.conserved);
  ASSERT_GT(r.in_flight_end, 0);
  const auto minute = [&](int m) { return r.series.at(static_cast<std::size_t>(to_us(minutes(m)) / to_us(r.bucket))); };
  EXPECT_EQ(minute(30).arrived, 0);
  EXPECT_GT(minute(30).held_max, 40'000);  // the storm drains 6% of 2,400 a minute: still nearly full
  EXPECT_GE(r.series.back().held_max, r.in_flight_end);
  // Held never rises without an admission: from one bucket to the next after arrivals
  // stopped, the peak can only fall or stay.
  for (int m = 22; m < 44; ++m) EXPECT_LE(minute(m + 1).held_max, minute(m).held_max) << "minute " << m;
}

// The charts' series keep the run's books: every attempt sent is counted once against
// its target, every attempt that ended once by its class, and no provider is seen with
// more attempts in flight than the policy lets it have.
TEST(Simulation, ChartSeriesAccountForEveryAttemptWithinTheLimits) {
  const RunSpec spec = storm_spec(true, minutes(5), minutes(8));
  const RunResult r = run_simulation(spec);
  const ChartSeries& c = r.chart;
  ASSERT_TRUE(r.conserved);
  ASSERT_EQ(c.targets, spec.config.targets.size());
  ASSERT_EQ(c.providers, spec.providers.size());
  ASSERT_LE(c.bins, kChartBinsMax);
  EXPECT_GE(to_us(c.bin) * static_cast<std::int64_t>(c.bins), to_us(spec.end - kTimeZero));
  EXPECT_EQ(to_us(c.bin) % to_us(r.bucket), 0);
  std::vector<std::int64_t> sent(c.targets, 0);
  std::int64_t successes = 0;
  std::int64_t ended = 0;
  for (std::size_t b = 0; b < c.bins; ++b) {
    for (std::size_t t = 0; t < c.targets; ++t) {
      sent[t] += c.target(b, t).attempts;
      successes += c.target(b, t).successes;
      EXPECT_GE(c.target(b, t).success_latency_us, c.target(b, t).successes * 1'000);  // no answer in under 1 ms
    }
    for (const std::int64_t n : c.by_class[b]) ended += n;
    for (std::size_t p = 0; p < c.providers; ++p) {
      EXPECT_LE(c.in_flight(b, p), spec.config.providers[p].concurrency_max) << "bin " << b;
    }
  }
  EXPECT_EQ(sent, r.attempts_by_target);
  std::int64_t class_successes = 0;
  for (std::size_t b = 0; b < c.bins; ++b) class_successes += c.by_class[b][0];
  EXPECT_EQ(successes, class_successes);
  EXPECT_LE(ended, r.attempts);
  EXPECT_GE(ended, r.attempts - spec.config.policy.concurrency.inflight_max);  // the rest were in flight at the end
  // The storm's 503s show as transient attempts in its minutes, and only there.
  const auto bin_at = [&](Duration d) { return static_cast<std::size_t>(to_us(d) / to_us(c.bin)); };
  const auto transient = static_cast<std::size_t>(OutcomeClass::transient);
  std::int64_t before = 0;
  std::int64_t during = 0;
  for (std::size_t b = 0; b < bin_at(minutes(1)); ++b) before += c.by_class[b][transient];
  for (std::size_t b = bin_at(minutes(1)); b < bin_at(minutes(6)); ++b) during += c.by_class[b][transient];
  EXPECT_EQ(before, 0);
  EXPECT_GT(during, 0);
  // Attempts held open across a bin with no send still show as in flight in it.
  EXPECT_GT(c.in_flight(bin_at(minutes(3)), 1), 0);
}

// The engine issue: in requeue mode a message that keeps failing must not come back
// forever. Without failover 94% of deliveries fail; with max_deliveries = 2 a message
// ends in the dead-letter queue after its second failure, counted as failed.
TEST(Simulation, AMessageDeliveredMaxDeliveriesTimesGoesToTheDeadLetterQueue) {
  RunSpec spec = storm_spec(false, minutes(5), minutes(7));
  spec.buffer.max_deliveries = 2;
  const RunResult r = run_simulation(spec);
  EXPECT_TRUE(r.conserved);
  EXPECT_TRUE(r.violation.empty()) << r.violation;
  EXPECT_GT(r.dead_lettered, 1'000);
  EXPECT_LE(r.dead_lettered, r.failed);
  EXPECT_LE(r.requeued, r.arrived);  // at most one redelivery each
  spec.buffer.max_deliveries = 1'000;
  const RunResult unbounded = run_simulation(spec);
  EXPECT_EQ(unbounded.dead_lettered, 0);
  EXPECT_GT(unbounded.requeued, r.requeued);
}

// Liveness invariants hold on a storm with breakers tripping and probing.
TEST(Simulation, AStormBreaksNoLivenessInvariant) {
  const RunResult r = run_simulation(storm_spec(true, minutes(10), minutes(15)));
  EXPECT_GE(r.trips_by_target[0], 1);
  EXPECT_TRUE(r.violation.empty()) << r.violation;
}

// The names a determinism failure prints; codes no kind has read as "?".
TEST(Simulation, TraceKindsHaveNamesAndAnEventReadsAsText) {
  EXPECT_STREQ(to_string(TraceKind::arrival), "arrival");
  EXPECT_STREQ(to_string(TraceKind::dropped_full), "dropped_full");
  EXPECT_STREQ(to_string(TraceKind::first_byte), "first_byte");
  EXPECT_STREQ(to_string(TraceKind::breaker), "breaker");
  EXPECT_STREQ(to_string(static_cast<TraceKind>(0)), "?");
  EXPECT_STREQ(to_string(static_cast<TraceKind>(static_cast<std::uint32_t>(TraceKind::breaker) + 1)), "?");
  const TraceEvent e{4, at_us(1'500'000), static_cast<std::uint32_t>(TraceKind::send), 3, 1};
  EXPECT_EQ(trace_event_text(e), "send at 1500000 us (a=3, b=1)");
}

}  // namespace
}  // namespace failover::sim
