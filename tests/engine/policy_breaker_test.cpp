// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: breakers: what trips them, half-open probes, the route floor, when every target is
// unavailable, and errors that are not the target's health (credentials, capability).
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "tests/engine/policy_rig.h"
#include "tests/support/engine_harness.h"

namespace failover {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the rig's helpers

TEST(PolicyBreaker, A400NeverTripsABreakerAndIsNeverRetried) {
  Config c = make_config(2);
  c.policy.breaker.consecutive_failures = 3;
  c.policy.breaker.window_calls_min = 5;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 50; ++id) {
    h.at(ms(10 * static_cast<std::int64_t>(id))).submit(id);
    const SendAttempt s = h.last_send();
    ASSERT_EQ(s.request, id);
    ASSERT_EQ(s.target, 0U);
    h.outcome(s.attempt, Outcome::http(400));
    const auto done = h.completion_of(id);
    ASSERT_TRUE(done.has_value());
    EXPECT_EQ(done->status, RequestStatus::failed);
    EXPECT_EQ(done->reason, EndReason::caller_error);
    EXPECT_EQ(done->attempts, 1);
  }
  EXPECT_EQ(h.sends().size(), 50U);
  EXPECT_TRUE(h.breaker_changes().empty());
  const HealthReport health = h.engine().health(h.now());
  EXPECT_EQ(health.targets[0].breaker, BreakerState::closed);
  EXPECT_EQ(health.targets[0].failures, 0);
  EXPECT_EQ(health.totals.retries, 0);
}

TEST(PolicyBreaker, TheBreakerTripsOnExactlyTheFifth503AndTheNextRequestSkipsTheOpenTarget) {
  EngineHarness h(make_config(2));  // consecutive_failures = 5 by default
  for (RequestId id = 1; id <= 5; ++id) {
    h.at(sec(static_cast<std::int64_t>(id))).submit(id);
    ASSERT_EQ(h.last_send().target, 0U);
    const auto got = h.outcome(h.last_send().attempt, Outcome::http(503));
    const auto changes = h.breaker_changes();
    if (id < 5) {
      ASSERT_TRUE(changes.empty()) << "tripped after " << id << " failures";
    } else {
      ASSERT_EQ(changes.size(), 1U);
      EXPECT_EQ(changes[0].target, 0U);
      EXPECT_EQ(changes[0].from, BreakerState::closed);
      EXPECT_EQ(changes[0].to, BreakerState::open);
      EXPECT_EQ(changes[0].at, T(sec(5)));
    }
    ASSERT_EQ(h.last_send().target, 1U);  // every failure fell back to p1
    h.outcome(h.last_send().attempt, kOk);
  }
  h.at(sec(6)).submit(6);
  const auto sends = h.sends_of(6);
  ASSERT_EQ(sends.size(), 1U);
  EXPECT_EQ(sends[0].target, 1U);
  EXPECT_EQ(sends[0].number, 1);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].attempts, 5);
}

Config probe_config(std::int32_t probes) {
  Config c = make_config(2);
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.half_open_probes = probes;
  c.policy.breaker.open_base = sec(10);
  c.policy.breaker.open_max = sec(60);
  return c;
}

// Trips p0 with one 503 at time 0 (request 100 falls back to p1 and succeeds).
void trip_p0(EngineHarness& h) {
  h.submit(100);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::open);
  h.outcome(h.last_send().attempt, kOk);
}

TEST(PolicyBreaker, HalfOpenAdmitsExactlyTheConfiguredProbesAndSendsTheRestElsewhereAtOnce) {
  EngineHarness h(probe_config(2));
  trip_p0(h);
  h.at(sec(10));
  ASSERT_EQ(h.breaker_changes().back().to, BreakerState::half_open);
  EXPECT_EQ(h.breaker_changes().back().at, T(sec(10)));
  for (RequestId id = 1; id <= 4; ++id) h.submit(id);
  EXPECT_EQ(h.sends_of(1).at(0).target, 0U);
  EXPECT_EQ(h.sends_of(2).at(0).target, 0U);
  EXPECT_EQ(h.sends_of(3).at(0).target, 1U);
  EXPECT_EQ(h.sends_of(4).at(0).target, 1U);
  EXPECT_EQ(h.engine().totals().queued, 0);
}

TEST(PolicyBreaker, HalfOpenClosesOnlyAfterEveryProbeSucceeded) {
  EngineHarness h(probe_config(2));
  trip_p0(h);
  h.at(sec(10));
  h.submit(1);
  h.submit(2);
  const std::size_t changes = h.breaker_changes().size();
  h.at(sec(11)).outcome(h.sends_of(1).at(0).attempt, kOk);
  EXPECT_EQ(h.breaker_changes().size(), changes);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.outcome(h.sends_of(2).at(0).attempt, kOk);
  ASSERT_EQ(h.breaker_changes().size(), changes + 1);
  EXPECT_EQ(h.breaker_changes().back().from, BreakerState::half_open);
  EXPECT_EQ(h.breaker_changes().back().to, BreakerState::closed);
}

TEST(PolicyBreaker, AProbeFailureReopensTheBreakerForTwiceTheOpenTime) {
  EngineHarness h(probe_config(1));
  trip_p0(h);
  h.at(sec(10)).submit(1);
  ASSERT_EQ(h.last_send().target, 0U);
  h.at(sec(11)).outcome(h.last_send().attempt, Outcome::http(503));
  const BreakerChanged reopened = h.breaker_changes().back();
  EXPECT_EQ(reopened.from, BreakerState::half_open);
  EXPECT_EQ(reopened.to, BreakerState::open);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].open_until, T(sec(11) + sec(20)));
  EXPECT_EQ(h.last_send().target, 1U);  // the probe's request went on to p1
}

TEST(PolicyBreaker, AnAttemptStartedBeforeTheTripIsNotTakenForAProbe) {
  Config c = probe_config(1);
  c.policy.breaker.open_base = sec(1);
  EngineHarness h(c);
  h.submit(1);
  h.submit(2);  // both on p0
  h.at(ms(100)).outcome(h.sends_of(1).at(0).attempt, Outcome::http(503));
  h.outcome(h.last_send().attempt, kOk);  // request 1 on p1
  h.at(ms(1'100));
  ASSERT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.at(ms(1'200)).submit(3);
  ASSERT_EQ(h.last_send().target, 0U);                        // the probe
  h.at(ms(1'500)).outcome(h.sends_of(2).at(0).attempt, kOk);  // the straggler
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.at(ms(1'600)).outcome(h.sends_of(3).at(0).attempt, kOk);  // the probe
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::closed);
}

TEST(PolicyBreaker, AStragglerEndingInHalfOpenWithNoProbeOutChangesNothing) {
  Config c = probe_config(1);
  c.policy.breaker.open_base = sec(1);
  EngineHarness h(c);
  h.submit(1);
  h.submit(2);
  h.submit(3);  // all three on p0
  h.at(ms(100)).outcome(h.sends_of(1).at(0).attempt, Outcome::http(503));
  h.outcome(h.last_send().attempt, kOk);
  h.at(ms(1'100));
  ASSERT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.outcome(h.sends_of(2).at(0).attempt, Outcome::http(400));  // no health verdict
  h.outcome(h.sends_of(3).at(0).attempt, kOk);                 // a health verdict
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.submit(4);
  EXPECT_EQ(h.last_send().target, 0U);  // exactly one probe is still on offer
  h.submit(5);
  EXPECT_EQ(h.last_send().target, 1U);
}

TEST(PolicyBreaker, AProbeFromAnEarlierHalfOpenPeriodDoesNotCountInTheNextOne) {
  Config c = probe_config(2);
  c.policy.breaker.open_base = sec(1);
  EngineHarness h(c);
  trip_p0(h);  // open until 1 s
  h.at(sec(1)).submit(1);
  h.submit(2);                                                               // two probes on p0
  h.at(ms(1'100)).outcome(h.sends_of(1).at(0).attempt, Outcome::http(503));  // reopens until 3.1 s
  h.outcome(h.last_send().attempt, kOk);
  h.at(ms(3'100));
  ASSERT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.outcome(h.sends_of(2).at(0).attempt, kOk);  // the old probe answers late
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.submit(3);
  h.submit(4);
  h.submit(5);
  EXPECT_EQ(h.sends_of(3).at(0).target, 0U);
  EXPECT_EQ(h.sends_of(4).at(0).target, 0U);
  EXPECT_EQ(h.sends_of(5).at(0).target, 1U);
}

TEST(PolicyBreaker, TheRouteFloorKeepsTheLastTargetOfARouteFromOpening) {
  Config c = make_config(2);
  c.policy.breaker.consecutive_failures = 1;  // min_available_targets = 1 by default
  EngineHarness h(c);
  trip_p0(h);
  h.at(sec(1)).submit(1);
  ASSERT_EQ(h.last_send().target, 1U);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  const HealthReport health = h.engine().health(h.now());
  EXPECT_EQ(health.targets[1].breaker, BreakerState::closed);
  EXPECT_EQ(health.totals.trips_suppressed, 1);
  EXPECT_EQ(health.totals.breaker_trips, 1);
  EXPECT_EQ(h.breaker_changes().size(), 1U);  // only p0's trip
  h.at(sec(2));
  ASSERT_EQ(h.sends_of(1).size(), 2U);  // after its backoff, back on p1, the floor
  EXPECT_EQ(h.sends_of(1)[1].target, 1U);
}

Config unavailable_config(WhenUnavailable when) {
  Config c = make_config(1);
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.min_available_targets = 0;
  c.policy.breaker.open_base = sec(10);
  c.policy.retry.attempts_max = 1;
  c.policy.queue.when_unavailable = when;
  return c;
}

TEST(PolicyBreaker, WhenUnavailableFailFailsARequestAtOnceWithNoTarget) {
  EngineHarness h(unavailable_config(WhenUnavailable::fail));
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.completion_of(1)->reason, EndReason::attempts_exhausted);
  ASSERT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::open);
  h.at(sec(1)).submit(2);
  const auto done = h.completion_of(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::no_target);
  EXPECT_EQ(done->attempts, 0);
  EXPECT_EQ(done->latency, Duration{0});
  EXPECT_EQ(h.sends().size(), 1U);
}

TEST(PolicyBreaker, WhenUnavailableWaitKeepsTheRequestUntilTheBreakerHalfOpens) {
  EngineHarness h(unavailable_config(WhenUnavailable::wait));
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  h.at(sec(1)).submit(2);
  EXPECT_FALSE(h.completion_of(2).has_value());
  EXPECT_EQ(h.engine().totals().queued, 1);
  h.at(sec(10) - us(1));
  EXPECT_EQ(h.sends().size(), 1U);
  h.at(sec(10));
  EXPECT_EQ(h.breaker_changes().back().to, BreakerState::half_open);
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().request, 2U);
  EXPECT_EQ(h.last_send().target, 0U);
  h.outcome(h.last_send().attempt, kOk);
  EXPECT_EQ(h.completion_of(2)->latency, sec(9));
}

TEST(PolicyBreaker, ACredentialErrorFailsOverAndMarksTheTargetMisconfigured) {
  Config c = make_config(2);
  c.policy.breaker.consecutive_failures = 1;
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(401));
  EXPECT_EQ(h.last_send().target, 1U);
  const HealthReport health = h.engine().health(h.now());
  EXPECT_TRUE(health.targets[0].misconfigured);
  EXPECT_EQ(health.targets[0].failures, 0);
  EXPECT_EQ(health.targets[0].breaker, BreakerState::closed);
  h.outcome(h.last_send().attempt, kOk);
  h.at(minutes(1)).submit(2);
  EXPECT_EQ(h.last_send().target, 1U);
  h.outcome(h.last_send().attempt, kOk);
  h.at(minutes(5));  // the misconfiguration cool-down
  EXPECT_FALSE(h.engine().health(h.now()).targets[0].misconfigured);
  h.submit(3);
  EXPECT_EQ(h.last_send().target, 0U);
}

TEST(PolicyBreaker, ACapabilityRefusalMovesToTheCapabilityRouteWithoutAHealthFailure) {
  Config c = empty_config();
  const Index small = add_target(c, "small", {"small-8k"}, 1'000'000);
  const Index large = add_target(c, "large", {"large-200k"}, 3'000'000);
  const Index short_route = add_route(c, "short", {small});
  const Index long_route = add_route(c, "long", {large});
  c.routes[short_route].capability_fallback = long_route;
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.min_available_targets = 0;
  EngineHarness h(c);
  h.submit(1, short_route);
  ASSERT_EQ(h.last_send().target, small);
  h.outcome(h.last_send().attempt, Outcome::refused(400, Refusal::context_length));
  EXPECT_EQ(h.last_send().target, large);
  EXPECT_EQ(h.last_send().number, 2);
  EXPECT_TRUE(h.breaker_changes().empty());
  EXPECT_EQ(h.engine().health(h.now()).targets[small].failures, 0);
  h.outcome(h.last_send().attempt, kOk);
  const auto done = h.completion_of(1);
  EXPECT_EQ(done->status, RequestStatus::succeeded);
  EXPECT_EQ(done->target, large);
}

}  // namespace
}  // namespace failover
