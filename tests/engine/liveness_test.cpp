// Liveness: the engine keeps making progress after a fault has gone. One test per root
// cause of the collapse in scenarios/liveness-429-burst.toml (a 2-minute burst of 5%
// 429s that left the default policy at 16.7% where no failover kept 99.7%), each
// driven through the harness at explicit virtual times.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "tests/support/engine_harness.h"

namespace failover {
namespace {

using test::EngineHarness;
using test::make_config;

const Outcome kOk = Outcome::ok({100, 100, true});

Request with_deadline(RequestId id, Time deadline) {
  Request r;
  r.id = id;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  r.deadline = deadline;
  return r;
}

Time T(Duration d) {
  return kTimeZero + d;
}

BreakerState state_of(EngineHarness& h, Index target) {
  return h.engine().health(h.now()).targets[target].breaker;
}

// One 503 opens p0's breaker; its open time is 5 s.
Config one_strike_config(int targets) {
  Config c = make_config(targets);
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.open_base = sec(5);
  c.policy.breaker.min_available_targets = 0;
  c.policy.retry.attempts_max = 1;
  return c;
}

// Root cause: a probe cancelled at its request's deadline decided nothing and was handed
// back, so a half-open breaker whose probes went to requests near their deadline stayed
// half-open for good, taking attempt after attempt.
TEST(Liveness, AProbeOutlivesItsRequestAndItsAnswerClosesTheBreaker) {
  EngineHarness h(one_strike_config(1));
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(state_of(h, 0), BreakerState::open);
  h.at(sec(5));
  ASSERT_EQ(state_of(h, 0), BreakerState::half_open);
  h.submit(with_deadline(2, T(sec(6))));  // one second left
  const SendAttempt probe = h.last_send();
  ASSERT_EQ(probe.request, 2U);
  EXPECT_TRUE(probe.probe);
  EXPECT_GT(probe.deadline, T(sec(6)));  // its own timeout, not its request's deadline
  h.submit(3);                           // waits: the one probe is taken
  h.at(sec(6));
  ASSERT_TRUE(h.completion_of(2).has_value());
  EXPECT_EQ(h.completion_of(2)->reason, EndReason::deadline_exceeded);
  EXPECT_TRUE(h.cancels().empty());  // the probe was let run
  EXPECT_EQ(h.sends().size(), 2U);   // and nobody else took a probe meanwhile
  h.at(sec(8)).outcome(probe.attempt, kOk);
  EXPECT_EQ(state_of(h, 0), BreakerState::closed);
  ASSERT_EQ(h.sends().size(), 3U);  // the waiting request goes at once
  EXPECT_EQ(h.last_send().request, 3U);
  EXPECT_FALSE(h.last_send().probe);
}

TEST(Liveness, AProbeThatLosesToItsHedgeStillDecides) {
  Config c = one_strike_config(2);
  c.routes[0].hedge_after = sec(1);
  c.policy.retry.attempts_max = 2;
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));  // p0 opens; request 1 goes to p1
  h.answer_all(kOk);
  h.at(sec(5));
  h.submit(2);
  const SendAttempt probe = h.last_send();
  ASSERT_TRUE(probe.probe);
  ASSERT_EQ(probe.target, 0U);
  h.at(sec(6));  // the hedge goes to p1 and wins
  ASSERT_EQ(h.last_send().target, 1U);
  h.outcome(h.last_send().attempt, kOk);
  ASSERT_TRUE(h.completion_of(2).has_value());
  EXPECT_TRUE(h.cancels().empty());
  EXPECT_EQ(state_of(h, 0), BreakerState::half_open);
  h.at(sec(7)).outcome(probe.attempt, Outcome::http(503));
  EXPECT_EQ(state_of(h, 0), BreakerState::open);  // the probe's own verdict
}

// Root cause: a request that waited for a target which could not answer before its
// deadline held the head of the queue until the deadline while other targets idled.
TEST(Liveness, ARequestNoTargetCanServeBeforeItsDeadlineEndsAtOnce) {
  EngineHarness h(one_strike_config(1));
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));  // open until 5 s
  h.at(sec(1));
  h.submit(with_deadline(2, T(sec(3))));
  const auto done = h.completion_of(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);
  EXPECT_EQ(done->reason, EndReason::deadline);
  EXPECT_EQ(done->latency, Duration{0});
  h.submit(with_deadline(3, T(sec(30))));  // this one can wait for the probe
  EXPECT_FALSE(h.completion_of(3).has_value());
  h.at(sec(5));
  EXPECT_EQ(h.last_send().request, 3U);
}

// Root cause: a FIFO queue behind a standing backlog served only requests already too
// late for any target.
TEST(Liveness, AStandingQueueServesTheNewestRequestFirst) {
  for (const Discipline d : {Discipline::adaptive_lifo, Discipline::fifo}) {
    Config c = make_config(1);
    c.providers[0].concurrency_max = 1;
    c.policy.concurrency.adaptive = false;
    c.policy.queue.discipline = d;
    c.policy.queue.lifo_share = kRatioZero;
    c.policy.queue.lifo_after = sec(5);
    EngineHarness h(c);
    for (RequestId id = 1; id <= 4; ++id) h.submit(id);
    ASSERT_EQ(h.sends().size(), 1U);
    h.at(sec(1)).outcome(h.last_send().attempt, kOk);
    EXPECT_EQ(h.last_send().request, 2U) << "a short queue is served in order";
    h.at(sec(7)).outcome(h.last_send().attempt, kOk);  // request 3 has waited 7 s
    EXPECT_EQ(h.last_send().request, d == Discipline::fifo ? 3U : 4U);
  }
}

// Root cause (explore, liveness-429-burst seed 8 draw 38): a fixed 5-second trigger made
// a spike that FIFO drains well inside the deadline serve its newest requests first, so
// its oldest waited the whole spike and ended at their deadline.
TEST(Liveness, AQueueIsServedInOrderUntilItsOldestRequestHasSpentNineTenthsOfItsTime) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  c.policy.concurrency.adaptive = false;
  ASSERT_EQ(c.policy.queue.discipline, Discipline::adaptive_lifo);
  EngineHarness h(c);
  for (RequestId id = 1; id <= 95; ++id) h.submit(with_deadline(id, T(sec(100))));
  ASSERT_EQ(h.last_send().request, 1U);
  for (int i = 1; i <= 90; ++i) {  // one-second answers: the head waits i of its 100 s
    h.at(sec(i)).outcome(h.last_send().attempt, kOk);
    ASSERT_EQ(h.last_send().request, static_cast<RequestId>(i + 1)) << "in order at " << i << " s";
  }
  h.at(sec(91)).outcome(h.last_send().attempt, kOk);  // request 92 has waited 91 of its 100 s
  EXPECT_EQ(h.last_send().request, 95U) << "a standing queue serves the newest first";
  h.at(sec(92)).outcome(h.last_send().attempt, kOk);
  EXPECT_EQ(h.last_send().request, 94U);
}

// Root cause: when a Retry-After block lapsed, every waiting request went to the
// recovering provider at once.
TEST(Liveness, A429LowersTheProvidersLimitAndSuccessesRampItBack) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 10;
  c.policy.retry.backoff = Backoff::none;
  c.policy.retry.backoff_base = Duration{0};
  c.policy.retry.backoff_max = Duration{0};
  EngineHarness h(c);
  for (RequestId id = 1; id <= 30; ++id) h.submit(id);
  ASSERT_EQ(h.outstanding().size(), 10U);
  h.at(ms(100)).outcome(h.outstanding().front().attempt, Outcome::http(429));
  EXPECT_EQ(h.outstanding().size(), 9U);  // 90% of the 10 it held
  h.at(ms(200)).outcome(h.outstanding().front().attempt, Outcome::http(429));
  EXPECT_EQ(h.outstanding().size(), 9U);  // one decrease per round trip
  // Above the new mark the limit grows one per round trip: nine successes for one more.
  for (int i = 0; i < 9; ++i) h.at(ms(300 + i)).outcome(h.outstanding().front().attempt, kOk);
  EXPECT_EQ(h.outstanding().size(), 10U);
}

TEST(Liveness, AClosingBreakerRampsItsProviderUpFromWhatTheProbesProved) {
  Config c = one_strike_config(1);
  c.providers[0].concurrency_max = 100;
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  h.at(sec(5));
  for (RequestId id = 2; id <= 60; ++id) h.submit(id);
  ASSERT_EQ(h.outstanding().size(), 1U);  // the probe
  h.at(sec(6)).outcome(h.outstanding().front().attempt, kOk);
  ASSERT_EQ(state_of(h, 0), BreakerState::closed);
  EXPECT_EQ(h.outstanding().size(), 2U);  // not the 58 waiting: twice the probes
  h.at(sec(7));
  for (const SendAttempt& s : h.outstanding()) h.outcome(s.attempt, kOk);  // each adds one (slow start)
  EXPECT_EQ(h.outstanding().size(), 4U);
}

// Root cause: a target skipped as too slow got no sample, so its latency estimate never
// came down after it recovered.
TEST(Liveness, ALatencyEstimateFadesWhileTheTargetIsUnused) {
  Config c = make_config(2);
  c.policy.health.ewma_idle_half_life = sec(10);
  EngineHarness h(c);
  h.submit(1);
  h.at(sec(20)).outcome(h.last_send().attempt, kOk);  // p0 takes 20 s
  h.submit(with_deadline(2, T(sec(30))));             // 10 s left: too slow for p0
  EXPECT_EQ(h.last_send().target, 1U);
  h.at(sec(21)).answer_all(kOk);
  h.at(sec(40));  // 2 half-lives: p0's estimate is 5 s
  h.submit(with_deadline(3, T(sec(50))));
  EXPECT_EQ(h.last_send().request, 3U);
  EXPECT_EQ(h.last_send().target, 0U);
}

// Root cause (scenarios/hung-connections.toml): a hung first attempt that its hedge
// beat told the breaker nothing, so hedges hid the hang.
TEST(Liveness, AFirstAttemptThatLosesToItsHedgeWithoutAByteIsAFailure) {
  Config c = make_config(2);
  c.routes[0].hedge_after = sec(1);
  c.policy.breaker.consecutive_failures = 1;
  EngineHarness h(c);
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(1));
  ASSERT_EQ(h.last_send().target, 1U);
  h.outcome(h.last_send().attempt, kOk);
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].attempt, first.attempt);
  EXPECT_EQ(state_of(h, 0), BreakerState::open);
  EXPECT_EQ(state_of(h, 1), BreakerState::closed);
}

TEST(Liveness, AFirstAttemptThatSentABytePassesNoVerdictWhenItsHedgeWins) {
  Config c = make_config(2);
  c.routes[0].hedge_after = sec(1);
  c.policy.breaker.consecutive_failures = 1;
  EngineHarness h(c);
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(1));
  const SendAttempt hedge = h.last_send();
  h.first_byte(first.attempt);
  h.outcome(hedge.attempt, kOk);
  EXPECT_EQ(state_of(h, 0), BreakerState::closed);
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// Outcomes that waiting cannot help fail fast: a 401/403/404 or a redirect marks the
// target misconfigured; with no other target left the request fails at once, naming it.
TEST(Liveness, A401OnTheOnlyTargetFailsTheRequestAtOnce) {
  EngineHarness h(make_config(1));
  h.submit(1);
  h.at(ms(20)).outcome(h.last_send().attempt, Outcome::http(401));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::misconfigured);
  EXPECT_EQ(done->target, 0U);
  EXPECT_EQ(done->latency, ms(20));  // not the 60 s deadline
  h.submit(2);                       // the target rests: the next one fails at once too
  ASSERT_TRUE(h.completion_of(2).has_value());
  EXPECT_EQ(h.completion_of(2)->reason, EndReason::misconfigured);
  EXPECT_EQ(h.sends().size(), 1U);
}

TEST(Liveness, ARedirectIsAConfigurationErrorThatFailsOverAndIsNotRetriedThere) {
  EngineHarness h(make_config(2));
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(307));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);  // failed over at once
  h.outcome(h.last_send().attempt, Outcome::http(302));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->reason, EndReason::misconfigured);
  EXPECT_EQ(h.sends().size(), 2U);  // neither URL was asked again
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// One authority for outcome classes: every effect a config may set is honoured.
TEST(ClassEffects, ACallerErrorIsRetriedWhenTheTableSaysSo) {
  Config c = make_config(2);
  c.policy.classify.effects[static_cast<std::size_t>(OutcomeClass::caller_error)] = {true, false, true};
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(400));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);  // fallback: another target first
  h.outcome(h.last_send().attempt, kOk);
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
}

TEST(ClassEffects, ACallerErrorEndsTheRequestByDefault) {
  EngineHarness h(make_config(2));
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(400));
  ASSERT_TRUE(h.completion_of(1).has_value());
  EXPECT_EQ(h.completion_of(1)->reason, EndReason::caller_error);
  EXPECT_EQ(h.sends().size(), 1U);
}

TEST(ClassEffects, ACapabilityRefusalStaysOnItsRouteWithoutFallback) {
  Config c = make_config(2);
  RouteConfig big;
  big.name = "big";
  big.targets.push_back(RouteTarget{1, 0, 1});
  c.routes.push_back(big);
  c.routes[0].capability_fallback = 1;
  c.policy.classify.effects[static_cast<std::size_t>(OutcomeClass::capability)] = {true, false, false};
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::refused(400, Refusal::context_length));
  h.at(sec(11));  // past the longest backoff
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);  // the next target of its own route, after a backoff
  h.outcome(h.last_send().attempt, kOk);
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

// A backlog for a route whose targets are all down cannot turn away requests for a
// healthy one: when the queue is full, the route holding the most waiting requests
// gives up its oldest.
TEST(Liveness, AFullQueueMakesRoomForAnotherRouteAtTheExpenseOfTheLargestBacklog) {
  Config c = make_config(2);
  RouteConfig healthy;
  healthy.name = "healthy";
  healthy.targets.push_back(RouteTarget{1, 0, 1});
  c.routes.push_back(healthy);
  c.routes[0].targets.pop_back();  // route 0: p0 only
  c.policy.queue.depth_max = 3;
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.min_available_targets = 0;
  c.policy.retry.attempts_max = 1;
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));  // p0 opens for 5 s
  for (RequestId id = 2; id <= 4; ++id) h.submit(id);    // route 0's backlog fills the queue
  h.submit(5);                                           // route 0 again: turned away
  ASSERT_TRUE(h.completion_of(5).has_value());
  EXPECT_EQ(h.completion_of(5)->reason, EndReason::queue_full);
  h.submit(6, 1);                               // the healthy route: admitted
  ASSERT_TRUE(h.completion_of(2).has_value());  // in place of route 0's oldest
  EXPECT_EQ(h.completion_of(2)->reason, EndReason::queue_full);
  EXPECT_FALSE(h.completion_of(6).has_value());
  EXPECT_EQ(h.last_send().request, 6U);
  EXPECT_EQ(h.last_send().target, 1U);
}

}  // namespace
}  // namespace failover
