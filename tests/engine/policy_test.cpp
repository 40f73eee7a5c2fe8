// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: breakers, back-pressure, retries and their budget, fallback,
// queueing, deadlines, cost, classification, streaming, hedging, limits and routing.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "tests/support/engine_harness.h"

namespace failover {
namespace {

using test::EngineHarness;
using test::make_config;

// Adds a provider with the given models and returns the target of its model `use`.
Index add_target(Config& c, const std::string& name, const std::vector<std::string>& models,
                 std::int64_t micro_usd_per_mtok, Index use = 0) {
  ProviderConfig p;
  p.name = name;
  p.base_url = "https://" + name + ".example";
  for (const std::string& id : models) {
    ModelConfig m;
    m.id = id;
    m.input_micro_usd_per_mtok = micro_usd_per_mtok;
    m.output_micro_usd_per_mtok = micro_usd_per_mtok;
    p.models.push_back(m);
  }
  c.providers.push_back(p);
  return c.intern_target(static_cast<Index>(c.providers.size() - 1), use);
}

// Adds a route over `targets` in priority order and returns its index.
Index add_route(Config& c, const std::string& name, const std::vector<Index>& targets) {
  RouteConfig r;
  r.name = name;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    r.targets.push_back(RouteTarget{targets[i], static_cast<std::int32_t>(i), 1});
  }
  c.routes.push_back(r);
  return static_cast<Index>(c.routes.size() - 1);
}

Config empty_config() {
  Config c;
  c.policy.queue.depth_max = 1'000;
  c.policy.queue.requests_max = 2'000;
  c.policy.concurrency.inflight_max = 1'000;
  return c;
}

Request tier_request(RequestId id, Index tier) {
  Request r;
  r.id = id;
  r.tier = tier;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  return r;
}

Request stream_request(RequestId id) {
  Request r;
  r.id = id;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  r.stream = true;
  return r;
}

Time T(Duration d) { return kTimeZero + d; }

const Outcome kOk = Outcome::ok({100, 100, true});

void disable_breaker(Config& c) {
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
}

// ---- classification and the breaker ----------------------------------------------

TEST(Policy, A400NeverTripsABreakerAndIsNeverRetried) {
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

TEST(Policy, TheBreakerTripsOnExactlyTheFifth503AndTheNextRequestSkipsTheOpenTarget) {
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

TEST(Policy, HalfOpenAdmitsExactlyTheConfiguredProbesAndSendsTheRestElsewhereAtOnce) {
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

TEST(Policy, HalfOpenClosesOnlyAfterEveryProbeSucceeded) {
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

TEST(Policy, AProbeFailureReopensTheBreakerForTwiceTheOpenTime) {
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

TEST(Policy, AnAttemptStartedBeforeTheTripIsNotTakenForAProbe) {
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
  ASSERT_EQ(h.last_send().target, 0U);  // the probe
  h.at(ms(1'500)).outcome(h.sends_of(2).at(0).attempt, kOk);  // the straggler
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.at(ms(1'600)).outcome(h.sends_of(3).at(0).attempt, kOk);  // the probe
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::closed);
}

TEST(Policy, AStragglerEndingInHalfOpenWithNoProbeOutChangesNothing) {
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
  h.outcome(h.sends_of(3).at(0).attempt, kOk);                // a health verdict
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::half_open);
  h.submit(4);
  EXPECT_EQ(h.last_send().target, 0U);  // exactly one probe is still on offer
  h.submit(5);
  EXPECT_EQ(h.last_send().target, 1U);
}

TEST(Policy, AProbeFromAnEarlierHalfOpenPeriodDoesNotCountInTheNextOne) {
  Config c = probe_config(2);
  c.policy.breaker.open_base = sec(1);
  EngineHarness h(c);
  trip_p0(h);            // open until 1 s
  h.at(sec(1)).submit(1);
  h.submit(2);           // two probes on p0
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

TEST(Policy, TheRouteFloorKeepsTheLastTargetOfARouteFromOpening) {
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

TEST(Policy, WhenUnavailableFailFailsARequestAtOnceWithNoTarget) {
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

TEST(Policy, WhenUnavailableWaitKeepsTheRequestUntilTheBreakerHalfOpens) {
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

TEST(Policy, ACredentialErrorFailsOverAndMarksTheTargetMisconfigured) {
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

TEST(Policy, ACapabilityRefusalMovesToTheCapabilityRouteWithoutAHealthFailure) {
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

// ---- back-pressure -----------------------------------------------------------------

TEST(Policy, RetryAfterBlocksTheTargetForEveryRequestAndRequestsRouteAroundIt) {
  Config c = make_config(2);
  c.policy.retry.retry_after_max = sec(300);
  EngineHarness h(c);
  h.submit(1);
  h.at(sec(1)).outcome(h.last_send().attempt, Outcome::http(429, sec(120)));
  ASSERT_EQ(h.last_send().target, 1U);  // request 1 itself went round at once
  h.outcome(h.last_send().attempt, kOk);
  const Time blocked = h.engine().health(h.now()).targets[0].blocked_until;
  EXPECT_GE(blocked, T(sec(1) + sec(120)));
  EXPECT_LE(blocked, T(sec(1) + sec(120) + sec(12)));  // 10% jitter
  RequestId id = 2;
  for (const Duration when : {sec(2), sec(60), sec(121), blocked - kTimeZero - us(1)}) {
    h.at(when).submit(id);
    ASSERT_EQ(h.sends_of(id).size(), 1U);
    EXPECT_EQ(h.sends_of(id)[0].target, 1U) << "at " << to_us(when) << " us";
    h.outcome(h.last_send().attempt, kOk);
    ++id;
  }
  h.at(blocked - kTimeZero).submit(id);
  EXPECT_EQ(h.last_send().target, 0U);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].failures, 0);  // back-pressure, not ill health
}

TEST(Policy, RetryAfterJitterSpreadsTargetsThatAskedForTheSameDelay) {
  Config c = make_config(4);
  c.policy.retry.retry_after_max = sec(300);
  c.policy.retry.attempts_max = 4;
  EngineHarness h(c);
  h.submit(1);
  for (int i = 0; i < 4; ++i) h.outcome(h.last_send().attempt, Outcome::http(429, sec(120)));
  const HealthReport health = h.engine().health(h.now());
  std::vector<Time> until;
  for (const TargetHealth& t : health.targets) until.push_back(t.blocked_until);
  std::sort(until.begin(), until.end());
  EXPECT_EQ(std::unique(until.begin(), until.end()), until.end());  // four different instants
}

TEST(Policy, RetryAfterBeyondTheCapWithNoOtherTargetFailsTheRequestRateLimited) {
  Config c = make_config(1);
  c.policy.retry.retry_after_max = sec(60);
  EngineHarness h(c);
  h.submit(1);
  h.at(ms(200)).outcome(h.last_send().attempt, Outcome::http(429, sec(120)));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::rate_limited);
  EXPECT_EQ(done->attempts, 1);
  EXPECT_EQ(done->latency, ms(200));
}

TEST(Policy, RetryAfterWithinTheCapWithNoOtherTargetWaitsForTheTarget) {
  Config c = make_config(1);
  c.policy.retry.retry_after_jitter = Ratio{0, 1};
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(429, sec(5)));
  h.at(sec(5) - us(1));
  EXPECT_EQ(h.sends().size(), 1U);
  EXPECT_FALSE(h.completion_of(1).has_value());
  h.at(sec(5));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().request, 1U);
  EXPECT_EQ(h.last_send().number, 2);
}

// ---- retries, fallback and the retry budget ----------------------------------------

TEST(Policy, TheRetryBudgetCapsAttemptsUnderATotalOutage) {
  Config c = make_config(2);
  disable_breaker(c);  // nothing but the budget stands between an outage and 3x load
  const RetryPolicy& rp = c.policy.retry;
  ASSERT_EQ(rp.attempts_max, 3);
  EngineHarness h(c);
  constexpr std::int64_t kRequests = 1'000;
  for (std::int64_t tick = 0; tick < 10'000; ++tick) {  // 10 ms ticks, 100 s at most
    h.at(ms(10 * tick));
    if (tick < kRequests) h.submit(static_cast<RequestId>(tick + 1));
    h.answer_all(Outcome::http(503));
    if (tick >= kRequests && h.engine().totals().active == 0) break;
  }
  ASSERT_EQ(h.completes().size(), static_cast<std::size_t>(kRequests));
  const auto attempts = static_cast<std::int64_t>(h.sends().size());
  const std::int64_t seconds = (to_us(h.now()) + 999'999) / 1'000'000;
  const std::int64_t bound = kRequests + rp.budget_ratio.scale(kRequests) +
                             rp.budget_min_per_second * seconds + rp.budget_cap;
  EXPECT_LE(attempts, bound);
  EXPECT_LT(attempts, kRequests * 3 / 2);  // far from the 3,000 that attempts_max allows
  EXPECT_GT(h.engine().totals().retry_budget_denied, 0);
  EXPECT_EQ(h.engine().totals().attempts, attempts);
  for (const Complete& done : h.completes()) EXPECT_EQ(done.status, RequestStatus::failed);
}

TEST(Policy, FallbackSendsEachTargetItsOwnModelId) {
  Config c = empty_config();
  const Index a = add_target(c, "openai", {"gpt-4o"}, 1'000'000);
  const Index b = add_target(c, "azure", {"gpt-35", "gpt-4o-2024-08-06"}, 1'000'000, 1);
  const Index d = add_target(c, "proxy", {"llama", "mixtral", "openai/gpt-4o"}, 1'000'000, 2);
  add_route(c, "main", {a, b, d});
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  h.outcome(h.last_send().attempt, Outcome::http(503));
  h.outcome(h.last_send().attempt, kOk);
  const auto sends = h.sends_of(1);
  ASSERT_EQ(sends.size(), 3U);
  const std::vector<std::string> expected = {"gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sends[i].provider, i);
    EXPECT_EQ(c.providers[sends[i].provider].models[sends[i].model].id, expected[i]);
    EXPECT_EQ(h.engine().config().model(sends[i].target).id, expected[i]);
  }
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
}

TEST(Policy, AttemptsMaxEndsARequestWithAttemptsExhausted) {
  Config c = make_config(2);
  c.policy.retry.attempts_max = 2;
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  h.outcome(h.last_send().attempt, Outcome::http(502));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->reason, EndReason::attempts_exhausted);
  EXPECT_EQ(done->attempts, 2);
  EXPECT_EQ(h.sends().size(), 2U);
}

// ---- the queue and deadlines --------------------------------------------------------

TEST(Policy, QueueOverflowCompletesTheRequestAtOnceAsDroppedQueueFull) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  c.policy.queue.depth_max = 2;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 3; ++id) h.submit(id);
  const auto got = h.at(ms(5)).submit(4);
  ASSERT_EQ(got.size(), 1U);
  const Complete done = std::get<Complete>(got[0]);
  EXPECT_EQ(done.request, 4U);
  EXPECT_EQ(done.status, RequestStatus::dropped);
  EXPECT_EQ(done.reason, EndReason::queue_full);
  EXPECT_EQ(done.attempts, 0);
  EXPECT_EQ(h.engine().totals().queued, 2);
  h.outcome(h.sends_of(1).at(0).attempt, kOk);
  EXPECT_EQ(h.last_send().request, 2U);  // the queue moves in order
}

TEST(Policy, TooManyHeldRequestsCompletesTheRequestAsDroppedQueueFull) {
  Config c = make_config(1);
  c.policy.queue.depth_max = 3;
  c.policy.queue.requests_max = 3;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 3; ++id) h.submit(id);
  EXPECT_EQ(h.sends().size(), 3U);
  h.submit(4);
  EXPECT_EQ(h.completion_of(4)->reason, EndReason::queue_full);
  h.outcome(h.sends_of(1).at(0).attempt, kOk);
  h.submit(5);
  EXPECT_EQ(h.last_send().request, 5U);
}

TEST(Policy, ADeadlineThatPassesInTheQueueDropsTheRequestWithDeadline) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  EngineHarness h(c);
  h.submit(1);
  Request r;
  r.id = 2;
  r.route = 0;
  r.deadline = T(sec(5));
  h.at(sec(1)).submit(r);
  h.at(sec(5) - us(1));
  EXPECT_FALSE(h.completion_of(2).has_value());
  h.at(sec(5));
  const auto done = h.completion_of(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);
  EXPECT_EQ(done->reason, EndReason::deadline);
  EXPECT_EQ(done->attempts, 0);
  EXPECT_EQ(done->latency, sec(4));
  EXPECT_EQ(h.engine().totals().queued, 0);
  EXPECT_EQ(h.outstanding().size(), 1U);  // request 1 is untouched
}

TEST(Policy, ADeadlineThatPassesDuringAnAttemptCancelsItAndFailsDeadlineExceeded) {
  EngineHarness h(make_config(2));
  Request r;
  r.id = 1;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  r.deadline = T(sec(2));
  h.submit(r);
  const SendAttempt s = h.last_send();
  EXPECT_EQ(s.deadline, T(sec(2)));  // the attempt cannot outlive its request
  h.at(sec(2));
  const auto cancels = h.cancels();
  ASSERT_EQ(cancels.size(), 1U);
  EXPECT_EQ(cancels[0].attempt, s.attempt);
  EXPECT_EQ(cancels[0].reason, CancelReason::deadline);
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::deadline_exceeded);
  EXPECT_EQ(done->attempts, 1);
  const auto charges = h.charges();
  ASSERT_EQ(charges.size(), 1U);
  EXPECT_EQ(charges[0].kind, ChargeKind::possibly_billed);
  EXPECT_EQ(h.sends().size(), 1U);
  EXPECT_TRUE(h.outstanding().empty());
}

TEST(Policy, ARequestPastItsDeadlineIsNotStartedEvenWhenTheDriversTimerIsLate) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  Engine engine(c, Prng(1));
  ActionBuffer out;
  Request first;
  first.id = 1;
  first.route = 0;
  engine.submit(T(Duration{0}), first, out);
  ASSERT_EQ(out.size(), 1U);
  const AttemptId attempt = std::get<SendAttempt>(out[0]).attempt;
  Request second;
  second.id = 2;
  second.route = 0;
  second.deadline = T(sec(5));
  out.clear();
  engine.submit(T(sec(1)), second, out);
  ASSERT_TRUE(out.empty());  // queued behind request 1
  // Request 1's answer arrives at 6 s, before the driver's timer for 5 s has run.
  engine.on_response(T(sec(6)), attempt, kOk, out);
  std::vector<Complete> done;
  for (const Action& a : out) {
    EXPECT_FALSE(std::holds_alternative<SendAttempt>(a));
    if (const auto* c2 = std::get_if<Complete>(&a)) done.push_back(*c2);
  }
  ASSERT_EQ(done.size(), 2U);
  EXPECT_EQ(done[1].request, 2U);
  EXPECT_EQ(done[1].status, RequestStatus::dropped);
  EXPECT_EQ(done[1].reason, EndReason::deadline);
  EXPECT_EQ(engine.totals().active, 0);
}

TEST(Policy, AnAttemptThatTimesOutIsCancelledRetriedElsewhereAndChargedAsPossiblyBilled) {
  Config c = make_config(2);
  c.policy.timeouts.attempt = sec(5);
  c.policy.timeouts.first_byte = Duration{0};
  EngineHarness h(c);
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(5) - us(1));
  EXPECT_TRUE(h.cancels().empty());
  h.at(sec(5));
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].attempt, first.attempt);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::timeout);
  ASSERT_EQ(h.charges().size(), 1U);
  const Charge charge = h.charges()[0];
  EXPECT_EQ(charge.attempt, first.attempt);
  EXPECT_EQ(charge.kind, ChargeKind::possibly_billed);
  EXPECT_EQ(charge.cost_micro_usd, 200);  // 100 + 100 tokens at $1/1M, worst case
  EXPECT_EQ(h.last_send().target, 1U);
  EXPECT_EQ(h.last_send().number, 2);
  EXPECT_EQ(h.engine().totals().possibly_billed_micro_usd, 200);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].failures, 1);
}

TEST(Policy, AFirstByteTimeoutCancelsTheAttemptAndFailsOver) {
  Config c = make_config(2);
  c.policy.timeouts.first_byte = sec(2);
  EngineHarness h(c);
  h.submit(stream_request(1));
  h.at(sec(2));
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::timeout);
  EXPECT_EQ(h.last_send().target, 1U);
  h.first_byte(h.last_send().attempt);  // a byte in time: no first-byte timeout
  h.at(sec(10));
  EXPECT_EQ(h.cancels().size(), 1U);
}

// scenarios/liveness-429-burst.toml: a non-streamed answer's first byte is its last, so
// a long answer from a healthy target passed the first-byte timeout, and the timeouts
// tripped healthy fallbacks before any fault.
TEST(Policy, TheFirstByteTimeoutDoesNotApplyToANonStreamedAnswer) {
  Config c = make_config(2);
  c.policy.timeouts.first_byte = sec(2);
  c.policy.timeouts.attempt = sec(30);
  EngineHarness h(c);
  h.submit(1);  // not streamed
  const SendAttempt first = h.last_send();
  h.at(sec(20));
  EXPECT_TRUE(h.cancels().empty());
  h.outcome(first.attempt, kOk);
  ASSERT_TRUE(h.completion_of(1).has_value());
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].failures, 0);
  h.submit(2);  // the attempt timeout still bounds it
  h.at(sec(50));
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::timeout);
}

// ---- cost and budget ------------------------------------------------------------------

struct TierRig {
  Config config;
  Index premium_target = kNoIndex;
  Index cheap_target = kNoIndex;
  Index complex_tier = kNoIndex;
};

// Premium costs $10/1M tokens (2,000 micro-USD for 200), cheap $1/1M (200); a budget of
// 5,000 micro-USD pays for two premium requests.
TierRig tier_rig(BudgetExhausted on_exhausted) {
  TierRig rig;
  Config& c = rig.config;
  c = empty_config();
  rig.premium_target = add_target(c, "premium", {"big"}, 10'000'000);
  rig.cheap_target = add_target(c, "cheap", {"small"}, 1'000'000);
  const Index premium = add_route(c, "premium", {rig.premium_target});
  const Index cheap = add_route(c, "cheap", {rig.cheap_target});
  c.tiers.push_back(TierConfig{"complex", premium, 1});
  c.tiers.push_back(TierConfig{"simple", cheap, kNoIndex});
  rig.complex_tier = 0;
  c.policy.cost.budget_micro_usd = 5'000;
  c.policy.cost.on_exhausted = on_exhausted;
  return rig;
}

TEST(Policy, AnExhaustedCostBudgetDowngradesToTheTiersDowngrade) {
  const TierRig rig = tier_rig(BudgetExhausted::downgrade);
  EngineHarness h(rig.config);
  for (RequestId id = 1; id <= 3; ++id) {
    h.submit(tier_request(id, rig.complex_tier));
    h.outcome(h.last_send().attempt, kOk);
  }
  EXPECT_EQ(h.sends_of(1).at(0).target, rig.premium_target);
  EXPECT_EQ(h.sends_of(2).at(0).target, rig.premium_target);
  EXPECT_EQ(h.sends_of(3).at(0).target, rig.cheap_target);
  EXPECT_FALSE(h.completion_of(2)->downgraded);
  const auto done = h.completion_of(3);
  EXPECT_EQ(done->status, RequestStatus::succeeded);
  EXPECT_TRUE(done->downgraded);
  EXPECT_EQ(done->target, rig.cheap_target);
  EXPECT_EQ(done->cost_micro_usd, 200);
  EXPECT_EQ(h.engine().totals().downgrades, 1);
  EXPECT_EQ(h.engine().totals().cost_micro_usd, 4'200);
}

TEST(Policy, AnExhaustedCostBudgetWithRejectDropsTheRequestWithCostBudget) {
  const TierRig rig = tier_rig(BudgetExhausted::reject);
  EngineHarness h(rig.config);
  for (RequestId id = 1; id <= 2; ++id) {
    h.submit(tier_request(id, rig.complex_tier));
    h.outcome(h.last_send().attempt, kOk);
  }
  h.submit(tier_request(3, rig.complex_tier));
  const auto done = h.completion_of(3);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);
  EXPECT_EQ(done->reason, EndReason::cost_budget);
  EXPECT_EQ(done->attempts, 0);
  EXPECT_EQ(h.sends().size(), 2U);
}

TEST(Policy, TheBudgetCountsReservationsOfAttemptsStillInFlight) {
  const TierRig rig = tier_rig(BudgetExhausted::reject);
  EngineHarness h(rig.config);
  h.submit(tier_request(1, rig.complex_tier));
  h.submit(tier_request(2, rig.complex_tier));
  h.submit(tier_request(3, rig.complex_tier));  // 3 x 2,000 reserved would pass 5,000
  EXPECT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.completion_of(3)->reason, EndReason::cost_budget);
}

TEST(Policy, SpendingNeverExceedsAnEnforcedBudget) {
  Config c = make_config(2);  // 200 and 400 micro-USD per request at worst
  c.policy.cost.budget_micro_usd = 10'000;
  c.policy.cost.on_exhausted = BudgetExhausted::reject;
  c.policy.timeouts.attempt = sec(2);
  EngineHarness h(c, 5);
  Prng prng(17);
  std::int64_t spent = 0;
  std::size_t seen = 0;
  for (RequestId id = 1; id <= 300; ++id) {
    h.at(ms(100 * static_cast<std::int64_t>(id))).submit(id);
    for (const SendAttempt& s : h.outstanding()) {
      if (!prng.chance(Ratio{1, 2})) continue;  // some stay out and may time out
      const std::uint64_t roll = prng.below(4);
      const Outcome o = roll == 0   ? Outcome::http(503)
                        : roll == 1 ? Outcome::ok({prng.range(0, 100), prng.range(0, 100), true})
                        : roll == 2 ? Outcome::ok({0, 0, false})
                                    : Outcome::of(OutcomeKind::reset);
      h.outcome(s.attempt, o);
    }
    const auto charges = h.charges();
    for (; seen < charges.size(); ++seen) spent += charges[seen].cost_micro_usd;
    ASSERT_LE(spent, c.policy.cost.budget_micro_usd) << "after request " << id;
  }
  const EngineTotals totals = h.engine().totals();
  EXPECT_EQ(totals.cost_micro_usd + totals.possibly_billed_micro_usd, spent);
  std::int64_t over_budget = 0;
  for (const Complete& done : h.completes()) over_budget += done.reason == EndReason::cost_budget;
  EXPECT_GT(over_budget, 0);  // the budget was the binding limit
}

// ---- streaming ----------------------------------------------------------------------

TEST(Policy, AStreamThatFailsAfterItsFirstByteEndsStreamInterruptedWithoutReplay) {
  EngineHarness h(make_config(2));
  h.submit(stream_request(1));
  h.at(ms(300)).first_byte(h.last_send().attempt);
  h.at(ms(900)).outcome(h.last_send().attempt, Outcome::of(OutcomeKind::truncated));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::stream_interrupted);
  EXPECT_EQ(done->attempts, 1);
  EXPECT_EQ(h.sends().size(), 1U);
}

TEST(Policy, AStreamMayResumeElsewhereAfterItsFirstByteWhenTheRouteAllowsIt) {
  Config c = make_config(2);
  c.routes[0].stream_resume = true;
  EngineHarness h(c);
  h.submit(stream_request(1));
  h.first_byte(h.last_send().attempt);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);
  EXPECT_FALSE(h.completion_of(1).has_value());
}

TEST(Policy, AStreamThatFailsBeforeItsFirstByteFailsOverFreely) {
  EngineHarness h(make_config(2));
  h.submit(stream_request(1));
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);
  h.first_byte(h.last_send().attempt);
  h.outcome(h.last_send().attempt, kOk);
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
}

// ---- hedging --------------------------------------------------------------------------

Config hedge_config() {
  Config c = make_config(2);
  c.routes[0].hedge_after = sec(1);
  return c;
}

TEST(Policy, AHedgeGoesToAnotherTargetAfterHedgeAfterAndTheFirstGoodAnswerWins) {
  EngineHarness h(hedge_config());
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(1) - us(1));
  EXPECT_EQ(h.sends().size(), 1U);
  h.at(sec(1));
  ASSERT_EQ(h.sends().size(), 2U);
  const SendAttempt hedge = h.last_send();
  EXPECT_TRUE(hedge.hedge);
  EXPECT_EQ(hedge.target, 1U);
  EXPECT_EQ(hedge.number, 2);
  h.at(ms(1'500)).outcome(hedge.attempt, Outcome::ok({50, 50, true}));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::succeeded);
  EXPECT_EQ(done->target, 1U);
  EXPECT_EQ(done->attempts, 2);
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].attempt, first.attempt);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::hedge_lost);
  std::map<AttemptId, Charge> charges;
  for (const Charge& ch : h.charges()) charges[ch.attempt] = ch;
  ASSERT_EQ(charges.size(), 2U);
  EXPECT_EQ(charges[first.attempt].kind, ChargeKind::possibly_billed);
  EXPECT_EQ(charges[first.attempt].cost_micro_usd, 200);
  EXPECT_EQ(charges[hedge.attempt].kind, ChargeKind::usage);
  EXPECT_EQ(charges[hedge.attempt].cost_micro_usd, 200);  // 100 tokens at $2/1M
  EXPECT_EQ(h.engine().totals().hedges, 1);
  EXPECT_TRUE(h.outstanding().empty());
}

TEST(Policy, AHedgeLoserThatWaitedPastTheSlowCallThresholdCountsAsASlowCall) {
  Config c = hedge_config();
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
  c.policy.breaker.slow_call_threshold = ms(500);
  c.policy.breaker.slow_call_rate = Ratio{50, 100};
  c.policy.breaker.window_calls_min = 2;
  c.policy.breaker.min_available_targets = 0;
  EngineHarness h(c);
  // The primary hangs; each hedge answers at 1.2 s and the primary's attempt is
  // abandoned 1.2 s after it started, with no byte: a slow call, twice.
  for (RequestId id = 1; id <= 2; ++id) {
    const Duration t0 = h.now() - kTimeZero;
    h.submit(id);
    h.at(t0 + sec(1));
    const SendAttempt hedge = h.last_send();
    ASSERT_TRUE(hedge.hedge);
    h.at(t0 + ms(1'200)).outcome(hedge.attempt, Outcome::ok({50, 50, true}));
    ASSERT_EQ(h.completion_of(id)->status, RequestStatus::succeeded);
  }
  ASSERT_EQ(h.breaker_changes().size(), 1U);
  EXPECT_EQ(h.breaker_changes()[0].target, 0U);
  EXPECT_EQ(h.breaker_changes()[0].to, BreakerState::open);
  h.submit(3);
  EXPECT_EQ(h.last_send().target, 1U);  // the hung primary is no longer tried first
}

TEST(Policy, AHedgeLoserAbandonedBeforeTheSlowCallThresholdIsNotCounted) {
  Config c = hedge_config();
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
  c.policy.breaker.slow_call_threshold = sec(5);
  c.policy.breaker.slow_call_rate = Ratio{50, 100};
  c.policy.breaker.window_calls_min = 1;
  c.policy.breaker.min_available_targets = 0;
  EngineHarness h(c);
  h.submit(1);
  h.at(sec(1));
  h.at(ms(1'200)).outcome(h.last_send().attempt, Outcome::ok({50, 50, true}));
  EXPECT_TRUE(h.breaker_changes().empty());
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::closed);
}

TEST(Policy, WhenThePrimaryAnswersFirstTheHedgeIsCancelled) {
  EngineHarness h(hedge_config());
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(1));
  const SendAttempt hedge = h.last_send();
  h.at(ms(1'200)).outcome(first.attempt, kOk);
  EXPECT_EQ(h.completion_of(1)->target, 0U);
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].attempt, hedge.attempt);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::hedge_lost);
}

TEST(Policy, AFailedHedgeLeavesThePrimaryRunning) {
  EngineHarness h(hedge_config());
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(1));
  h.at(ms(1'100)).outcome(h.last_send().attempt, Outcome::http(503));
  EXPECT_EQ(h.sends().size(), 2U);
  EXPECT_FALSE(h.completion_of(1).has_value());
  h.at(ms(1'300)).outcome(first.attempt, kOk);
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
}

TEST(Policy, AFirstByteBeforeHedgeAfterPreventsTheHedge) {
  EngineHarness h(hedge_config());
  h.submit(1);
  h.at(ms(500)).first_byte(h.last_send().attempt);
  h.at(sec(5));
  EXPECT_EQ(h.sends().size(), 1U);
  EXPECT_EQ(h.engine().totals().hedges, 0);
}

TEST(Policy, HedgesSpendTheRetryBudget) {
  Config c = hedge_config();
  c.policy.retry.budget_cap = 1;
  c.policy.retry.budget_ratio = Ratio{0, 1};
  c.policy.retry.budget_min_per_second = 0;
  EngineHarness h(c);
  h.submit(1);
  h.at(sec(1));
  EXPECT_EQ(h.sends().size(), 2U);  // the one token
  h.at(sec(2)).submit(2);
  h.at(sec(3));
  EXPECT_EQ(h.sends_of(2).size(), 1U);
  EXPECT_EQ(h.engine().totals().hedges, 1);
  EXPECT_EQ(h.engine().totals().retry_budget_denied, 1);
}

TEST(Policy, ADeadlineThatPassesDuringAHedgeCancelsBothAttempts) {
  EngineHarness h(hedge_config());
  Request r;
  r.id = 1;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  r.deadline = T(sec(3));
  h.submit(r);
  h.at(sec(1));
  ASSERT_EQ(h.sends().size(), 2U);
  h.at(sec(3));
  const auto cancels = h.cancels();
  ASSERT_EQ(cancels.size(), 2U);
  EXPECT_EQ(cancels[0].reason, CancelReason::deadline);
  EXPECT_EQ(cancels[1].reason, CancelReason::deadline);
  EXPECT_NE(cancels[0].attempt, cancels[1].attempt);
  EXPECT_TRUE(h.outstanding().empty());
  EXPECT_EQ(h.completion_of(1)->reason, EndReason::deadline_exceeded);
  EXPECT_EQ(h.completion_of(1)->attempts, 2);
  const HealthReport health = h.engine().health(h.now());
  EXPECT_EQ(health.targets[0].inflight + health.targets[1].inflight, 0);
}

TEST(Policy, AStreamCommittingToOneAttemptFreesItsHedgeTwinsSlotForAQueuedRequest) {
  Config c = hedge_config();
  c.providers[0].concurrency_max = 1;
  c.providers[1].concurrency_max = 1;
  EngineHarness h(c);
  h.submit(stream_request(1));
  h.at(sec(1));
  ASSERT_EQ(h.sends().size(), 2U);  // p0 and its hedge on p1: both providers full
  h.at(ms(1'500)).submit(2);
  EXPECT_EQ(h.engine().totals().queued, 1);
  h.at(sec(2)).first_byte(h.sends_of(1).at(0).attempt);  // the stream commits to p0
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::hedge_lost);
  ASSERT_EQ(h.sends_of(2).size(), 1U);  // p1's slot went to request 2 at once
  EXPECT_EQ(h.sends_of(2)[0].target, 1U);
  EXPECT_EQ(h.engine().totals().queued, 0);
}

// ---- limits ---------------------------------------------------------------------------

TEST(Policy, ProviderConcurrencyAndTheGlobalInflightLimitAreNeverExceeded) {
  Config c = make_config(2);
  c.providers[0].concurrency_max = 3;
  c.providers[1].concurrency_max = 3;
  c.policy.concurrency.inflight_max = 4;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 20; ++id) h.submit(id);
  auto count = [&](Index provider) {
    std::int32_t n = 0;
    for (const SendAttempt& s : h.outstanding()) n += s.provider == provider ? 1 : 0;
    return n;
  };
  EXPECT_EQ(count(0), 3);
  EXPECT_EQ(count(1), 1);
  for (int step = 1; step <= 40 && !h.outstanding().empty(); ++step) {
    h.at(ms(10 * step)).outcome(h.outstanding().front().attempt, kOk);
    ASSERT_LE(count(0), 3);
    ASSERT_LE(count(1), 3);
    ASSERT_LE(h.outstanding().size(), 4U);
  }
  EXPECT_EQ(h.completes().size(), 20U);
  for (const Complete& done : h.completes()) EXPECT_EQ(done.status, RequestStatus::succeeded);
}

TEST(Policy, AnRpmLimitDelaysDispatchUntilTheBucketRefills) {
  Config c = make_config(1);
  c.providers[0].rpm_limit = 2;  // a token every 30 s
  EngineHarness h(c);
  for (RequestId id = 1; id <= 3; ++id) h.submit(id);
  EXPECT_EQ(h.sends().size(), 2U);
  h.at(ms(1)).answer_all(kOk);
  h.at(sec(30) - us(1));
  EXPECT_EQ(h.sends().size(), 2U);
  h.at(sec(30));
  ASSERT_EQ(h.sends().size(), 3U);
  EXPECT_EQ(h.last_send().request, 3U);
}

TEST(Policy, AnAttemptWhoseUsualLatencyExceedsTheTimeLeftIsNotStarted) {
  EngineHarness h(make_config(1));
  h.submit(1);
  h.at(sec(4)).outcome(h.last_send().attempt, kOk);  // p0 takes 4 s
  Request r;
  r.id = 2;
  r.route = 0;
  r.deadline = T(sec(7));  // 3 s left
  h.submit(r);
  const auto done = h.completion_of(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);  // shed at once, never sent
  EXPECT_EQ(done->reason, EndReason::deadline);
  EXPECT_EQ(done->latency, Duration{0});
  EXPECT_EQ(h.sends().size(), 1U);
}

// ---- selection --------------------------------------------------------------------------

TEST(Policy, LeastLatencyPicksTheLowestEwmaInitialisedFromTheFirstSample) {
  Config c = make_config(3);
  c.routes[0].selection = Selection::least_latency;
  for (RouteTarget& t : c.routes[0].targets) t.priority = 0;
  EngineHarness h(c);
  const std::int64_t latency_ms[] = {300, 100, 200};
  for (RequestId id = 1; id <= 3; ++id) {  // unmeasured targets are explored first
    h.submit(id);
    ASSERT_EQ(h.last_send().target, id - 1);
    h.at(h.now() - kTimeZero + ms(latency_ms[id - 1])).outcome(h.last_send().attempt, kOk);
  }
  const HealthReport health = h.engine().health(h.now());
  EXPECT_EQ(health.targets[0].ewma_latency_us, 300'000);  // not 0.2 x 300 ms from zero
  EXPECT_EQ(health.targets[1].ewma_latency_us, 100'000);
  EXPECT_EQ(health.targets[2].ewma_latency_us, 200'000);
  h.submit(4);
  EXPECT_EQ(h.last_send().target, 1U);
  h.at(h.now() - kTimeZero + ms(700)).outcome(h.last_send().attempt, kOk);
  // 100 + 0.2 x (700 - 100) = 220 ms: p2, at 200 ms, is now the fastest.
  EXPECT_EQ(h.engine().health(h.now()).targets[1].ewma_latency_us, 220'000);
  h.submit(5);
  EXPECT_EQ(h.last_send().target, 2U);
}

TEST(Policy, CheapestPicksTheCheapestTargetWhateverItsPriority) {
  Config c = empty_config();
  const Index dear = add_target(c, "dear", {"d"}, 3'000'000);
  const Index mid = add_target(c, "mid", {"m"}, 2'000'000);
  const Index cheap = add_target(c, "cheap", {"c"}, 1'000'000);
  add_route(c, "main", {dear, mid, cheap});
  c.routes[0].selection = Selection::cheapest;
  EngineHarness h(c);
  h.submit(1);
  EXPECT_EQ(h.last_send().target, cheap);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  EXPECT_EQ(h.last_send().target, mid);  // then the cheapest not yet tried
  h.outcome(h.last_send().attempt, kOk);
  h.submit(2);
  EXPECT_EQ(h.last_send().target, cheap);
}

std::vector<Index> weighted_run(std::uint64_t seed) {
  Config c = make_config(2);
  c.routes[0].targets[0] = RouteTarget{0, 0, 3};
  c.routes[0].targets[1] = RouteTarget{1, 0, 1};
  EngineHarness h(c, seed);
  std::vector<Index> targets;
  for (RequestId id = 1; id <= 4'000; ++id) {
    h.submit(id);
    targets.push_back(h.last_send().target);
    h.outcome(h.last_send().attempt, kOk);
  }
  return targets;
}

TEST(Policy, WeightsSplitTrafficWithinAPriorityLevelDeterministicallyForTheSeed) {
  const std::vector<Index> run = weighted_run(21);
  const auto to_p0 = std::count(run.begin(), run.end(), 0U);
  // 3:1 of 4,000 is 3,000; the standard deviation is 27, so 150 is over five of them.
  EXPECT_GE(to_p0, 2'850);
  EXPECT_LE(to_p0, 3'150);
  EXPECT_EQ(weighted_run(21), run);
  EXPECT_NE(weighted_run(22), run);
}

TEST(Policy, ALowerPriorityLevelIsUsedOnlyWhenTheHigherOneIsUnavailable) {
  Config c = make_config(3);
  c.routes[0].targets[0].priority = 0;
  c.routes[0].targets[1].priority = 0;
  c.routes[0].targets[2].priority = 1;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 200; ++id) {
    h.submit(id);
    ASSERT_NE(h.last_send().target, 2U);
    h.outcome(h.last_send().attempt, kOk);
  }
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

Config throttle_config() {
  Config c = test::make_config(1);
  c.policy.retry.adaptive_throttle = true;
  c.policy.retry.attempts_max = 1;
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
  c.policy.breaker.min_available_targets = 0;
  return c;
}

TEST(Policy, AdaptiveThrottlingRejectsLocallyWhenTheTargetAcceptsNothing) {
  test::EngineHarness h(throttle_config());
  for (RequestId id = 1; id <= 200; ++id) {
    const std::size_t sent = h.sends().size();
    h.at(ms(static_cast<std::int64_t>(id) * 10)).submit(id);
    if (h.sends().size() > sent) h.outcome(h.last_send().attempt, Outcome::http(503));
  }
  // With no accepts the rejection probability is requests / (requests + 1): after the
  // first few, almost every request is refused before it is sent.
  std::size_t local = 0;
  for (const Complete& c : h.completes()) local += c.reason == EndReason::no_target ? 1U : 0U;
  EXPECT_LT(h.sends().size(), 20U);
  EXPECT_EQ(local + h.sends().size(), 200U);
}

TEST(Policy, AdaptiveThrottlingNeverRejectsWhileTheTargetAccepts) {
  test::EngineHarness h(throttle_config());
  for (RequestId id = 1; id <= 200; ++id) {
    h.at(ms(static_cast<std::int64_t>(id) * 10)).submit(id);
    h.outcome(h.last_send().attempt, Outcome::ok({10, 10, true}));
  }
  EXPECT_EQ(h.sends().size(), 200U);
  for (const Complete& c : h.completes()) EXPECT_EQ(c.status, RequestStatus::succeeded);
}

}  // namespace
}  // namespace failover
