// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: a caller that goes away (Engine::cancel) -- wherever its
// request is, it ends once, gives back what it holds, and says nothing about targets.
#include <cstdint>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/engine.h"
#include "tests/engine/policy_rig.h"
#include "tests/support/engine_harness.h"

namespace failover {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the rig's helpers

// Two targets; every abandoned silent call past 500 ms would be a slow call, and one
// slow call in a window of one trips: a cancel that the breaker heard would show.
Config touchy_hedge_config() {
  Config c = make_config(2);
  c.routes[0].hedge_after = sec(1);
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
  c.policy.breaker.slow_call_threshold = ms(500);
  c.policy.breaker.slow_call_rate = Ratio{50, 100};
  c.policy.breaker.window_calls_min = 1;
  c.policy.breaker.min_available_targets = 0;
  return c;
}

TEST(PolicyCancel, ACancelledQueuedRequestEndsAtOnceAndNeverStarts) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  EngineHarness h(c);
  h.submit(1);
  h.at(ms(10)).submit(2);
  ASSERT_EQ(h.engine().totals().queued, 1);
  const auto got = h.at(ms(20)).cancel(2);
  ASSERT_EQ(got.size(), 1U);
  const Complete done = std::get<Complete>(got[0]);
  EXPECT_EQ(done.request, 2U);
  EXPECT_EQ(done.status, RequestStatus::dropped);
  EXPECT_EQ(done.reason, EndReason::cancelled);
  EXPECT_EQ(done.attempts, 0);
  EXPECT_EQ(done.latency, ms(10));
  EXPECT_EQ(h.engine().totals().queued, 0);
  EXPECT_EQ(h.engine().totals().cancelled, 1);
  EXPECT_EQ(h.engine().totals().dropped, 1);
  h.outcome(h.sends_of(1).at(0).attempt, kOk);
  EXPECT_TRUE(h.sends_of(2).empty()) << "the slot request 1 freed went to nobody";
  EXPECT_EQ(h.engine().totals().active, 0);
}

TEST(PolicyCancel, ACancelledRequestInFlightWithAHedgeTwinCancelsBothAndNoBreakerHearsOfIt) {
  EngineHarness h(touchy_hedge_config());
  h.submit(1);
  h.at(sec(1));
  ASSERT_EQ(h.sends_of(1).size(), 2U);
  ASSERT_TRUE(h.sends_of(1)[1].hedge);
  h.at(sec(2)).cancel(1);  // both silent for longer than the slow-call threshold
  ASSERT_EQ(h.cancels().size(), 2U);
  for (const CancelAttempt& cancel : h.cancels()) {
    EXPECT_EQ(cancel.request, 1U);
    EXPECT_EQ(cancel.reason, CancelReason::caller_gone);
  }
  EXPECT_NE(h.cancels()[0].attempt, h.cancels()[1].attempt);
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);
  EXPECT_EQ(done->reason, EndReason::cancelled);
  EXPECT_EQ(done->attempts, 2);
  EXPECT_TRUE(h.outstanding().empty());
  EXPECT_TRUE(h.breaker_changes().empty()) << "a caller leaving is no verdict on a target";
  const HealthReport health = h.engine().health(h.now());
  for (const TargetHealth& t : health.targets) {
    EXPECT_EQ(t.breaker, BreakerState::closed);
    EXPECT_EQ(t.failures, 0);
    EXPECT_EQ(t.inflight, 0);
  }
  // What was sent may have been billed: each attempt is charged as possibly billed.
  ASSERT_EQ(h.charges().size(), 2U);
  for (const Charge& ch : h.charges()) EXPECT_EQ(ch.kind, ChargeKind::possibly_billed);
  EXPECT_FALSE(h.engine().next_deadline().has_value()) << "no timer left for a request that ended";
}

TEST(PolicyCancel, ACancelledRequestBackingOffNeverRetries) {
  Config c = make_config(1);
  c.policy.retry.backoff_base = ms(200);
  c.policy.retry.backoff_max = ms(200);
  disable_breaker(c);
  EngineHarness h(c);
  h.submit(1);
  h.at(ms(10)).outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_FALSE(h.completion_of(1).has_value()) << "it backs off before its retry";
  ASSERT_EQ(h.sends().size(), 1U);
  const auto got = h.at(ms(20)).cancel(1);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(std::get<Complete>(got[0]).reason, EndReason::cancelled);
  EXPECT_EQ(std::get<Complete>(got[0]).attempts, 1);
  h.at(sec(5));
  EXPECT_EQ(h.sends().size(), 1U) << "no retry after the caller left";
  EXPECT_EQ(h.completes().size(), 1U);
  EXPECT_FALSE(h.engine().next_deadline().has_value());
}

TEST(PolicyCancel, CancellingACompletedOrUnknownRequestIsANoOp) {
  EngineHarness h(make_config(1));
  h.submit(1);
  h.at(ms(10)).outcome(h.last_send().attempt, kOk);
  ASSERT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
  EXPECT_TRUE(h.at(ms(20)).cancel(1).empty());
  EXPECT_TRUE(h.cancel(99).empty());
  EXPECT_EQ(h.completes().size(), 1U);
  const EngineTotals t = h.engine().totals();
  EXPECT_EQ(t.cancelled, 0);
  EXPECT_EQ(t.succeeded, 1);
  EXPECT_EQ(t.dropped, 0);
  // The id is free again, and a cancel of the new request reaches it.
  h.submit(1);
  h.cancel(1);
  EXPECT_EQ(h.completes().size(), 2U);
  EXPECT_EQ(h.completes()[1].reason, EndReason::cancelled);
}

TEST(PolicyCancel, TheSlotACancelledRequestFreesGoesToTheNextQueuedRequestInTheSameInput) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  EngineHarness h(c);
  h.submit(1);
  const AttemptId first = h.last_send().attempt;
  h.at(ms(10)).submit(2);
  h.submit(3);
  ASSERT_EQ(h.engine().totals().queued, 2);
  const auto got = h.at(ms(30)).cancel(1);
  std::vector<std::size_t> order;  // 0: cancel, 1: complete, 2: send
  for (const Action& a : got) {
    if (const auto* x = std::get_if<CancelAttempt>(&a)) {
      EXPECT_EQ(x->attempt, first);
      order.push_back(0);
    } else if (const auto* d = std::get_if<Complete>(&a)) {
      EXPECT_EQ(d->request, 1U);
      order.push_back(1);
    } else if (const auto* s = std::get_if<SendAttempt>(&a)) {
      EXPECT_EQ(s->request, 2U) << "the oldest waiting request goes first";
      order.push_back(2);
    }
  }
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(h.engine().totals().queued, 1);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].inflight, 1);
}

TEST(PolicyCancel, AHalfOpenProbeOfACancelledRequestRunsOnToItsVerdict) {
  Config c = make_config(1);
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.failure_rate = Ratio{0, 1};
  c.policy.breaker.open_base = sec(1);
  c.policy.breaker.open_max = sec(1);
  c.policy.breaker.half_open_probes = 1;
  c.policy.breaker.min_available_targets = 0;
  c.policy.retry.attempts_max = 1;
  EngineHarness h(c);
  h.submit(1);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::open);
  h.at(sec(2)).submit(2);
  const SendAttempt probe = h.last_send();
  ASSERT_TRUE(probe.probe);
  h.at(ms(2'100)).cancel(2);
  EXPECT_EQ(h.completion_of(2)->reason, EndReason::cancelled);
  EXPECT_TRUE(h.cancels().empty()) << "the probe is let run: its verdict decides the breaker";
  h.at(ms(2'200)).outcome(probe.attempt, kOk);  // the driver still reports it
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::closed);
}

}  // namespace
}  // namespace failover
