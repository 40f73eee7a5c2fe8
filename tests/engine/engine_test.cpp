#include "core/engine/engine.h"

#include <gtest/gtest.h>

#include "tests/support/engine_harness.h"

namespace failover {
namespace {

using test::EngineHarness;
using test::make_config;

TEST(Engine, SendsANewRequestToTheFirstTargetAndCompletesOnSuccess) {
  EngineHarness h(make_config(2));
  h.submit(1);
  ASSERT_EQ(h.sends().size(), 1U);
  const SendAttempt s = h.last_send();
  EXPECT_EQ(s.request, 1U);
  EXPECT_EQ(s.provider, 0U);
  EXPECT_EQ(s.number, 1);
  h.at(ms(120)).outcome(s.attempt, Outcome::ok({100, 50, true}));
  const auto c = h.completion_of(1);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status, RequestStatus::succeeded);
  EXPECT_EQ(c->target, s.target);
  EXPECT_EQ(c->latency, ms(120));
  EXPECT_EQ(c->attempts, 1);
  // p0 charges $1/1M in and out: 150 tokens = 150 micro-USD.
  EXPECT_EQ(c->cost_micro_usd, 150);
}

TEST(Engine, FallsBackToTheNextTargetWithItsOwnModelId) {
  EngineHarness h(make_config(3));
  h.submit(7);
  h.at(ms(10)).outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.sends().size(), 2U);
  const SendAttempt second = h.last_send();
  EXPECT_EQ(second.provider, 1U);
  EXPECT_EQ(h.engine().config().model(second.target).id, "m1");
  EXPECT_EQ(second.number, 2);
  h.at(ms(20)).outcome(second.attempt, Outcome::ok({1, 1, true}));
  EXPECT_EQ(h.completion_of(7)->status, RequestStatus::succeeded);
}

TEST(Engine, DropsARequestAtOnceWhenTheQueueIsFull) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  c.policy.queue.depth_max = 2;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 4; ++id) h.submit(id);  // 1 in flight, 2 queued, 1 dropped
  const auto dropped = h.completion_of(4);
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(dropped->status, RequestStatus::dropped);
  EXPECT_EQ(dropped->reason, EndReason::queue_full);
  EXPECT_FALSE(h.completion_of(3).has_value());
  EXPECT_EQ(h.engine().totals().queued, 2);
}

TEST(Engine, SubmittingAnIdItStillHoldsIsABug) {
  EngineHarness h(make_config(2));
  h.submit(1);
  EXPECT_DEATH(h.submit(1), "FAILOVER_ASSERT");
}

TEST(Engine, AnIdMayComeBackOnceItsRequestCompleted) {
  EngineHarness h(make_config(2));
  for (int round = 1; round <= 3; ++round) {
    h.submit(9);
    h.at(ms(10 * round)).outcome(h.last_send().attempt, Outcome::ok({1, 1, true}));
  }
  EXPECT_EQ(h.engine().totals().succeeded, 3);
  EXPECT_EQ(h.engine().totals().active, 0);
}

}  // namespace
}  // namespace failover
