// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: hedging: when a hedge goes out, who wins, what a loser counts for.
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

Config hedge_config() {
  Config c = make_config(2);
  c.routes[0].hedge_after = sec(1);
  return c;
}

TEST(PolicyHedge, AHedgeGoesToAnotherTargetAfterHedgeAfterAndTheFirstGoodAnswerWins) {
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

TEST(PolicyHedge, AHedgeLoserThatWaitedPastTheSlowCallThresholdCountsAsASlowCall) {
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

TEST(PolicyHedge, AHedgeLoserAbandonedBeforeTheSlowCallThresholdIsNotCounted) {
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

TEST(PolicyHedge, WhenThePrimaryAnswersFirstTheHedgeIsCancelled) {
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

TEST(PolicyHedge, AFailedHedgeLeavesThePrimaryRunning) {
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

TEST(PolicyHedge, AFirstByteBeforeHedgeAfterPreventsTheHedge) {
  EngineHarness h(hedge_config());
  h.submit(1);
  h.at(ms(500)).first_byte(h.last_send().attempt);
  h.at(sec(5));
  EXPECT_EQ(h.sends().size(), 1U);
  EXPECT_EQ(h.engine().totals().hedges, 0);
}

TEST(PolicyHedge, HedgesSpendTheRetryBudget) {
  Config c = hedge_config();
  c.policy.retry.budget_max = 1;
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

TEST(PolicyHedge, ADeadlineThatPassesDuringAHedgeCancelsBothAttempts) {
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

TEST(PolicyHedge, AStreamCommittingToOneAttemptFreesItsHedgeTwinsSlotForAQueuedRequest) {
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

}  // namespace
}  // namespace failover
