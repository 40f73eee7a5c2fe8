// Engine::take_over, a config reload's hand-over: a new engine keeps the breaker,
// back-off and budget state of what did not change -- matched by provider name and model
// id, not by index -- starts fresh for what did, and never inherits work: the previous
// engine's attempts in flight (a half-open breaker's probe among them) stay its own.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/engine/engine.h"
#include "tests/engine/policy_rig.h"
#include "tests/support/engine_harness.h"

namespace failover {
namespace {

using namespace test;  // NOLINT(google-build-using-namespace): the rig's helpers

Config reload_config() {
  Config c = make_config(2);  // p0/m0 then p1/m1 on route "main"
  c.policy.breaker.consecutive_failures = 1;
  c.policy.breaker.open_base = sec(10);
  c.policy.breaker.open_max = sec(60);
  return c;
}

// Trips p0's breaker at 1 s (open until 11 s); every request is served by p1.
EngineHarness& trip_p0(EngineHarness& h) {
  h.at(sec(1)).submit(1);
  EXPECT_EQ(h.last_send().target, 0U);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  EXPECT_EQ(h.engine().health(h.now()).targets[0].breaker, BreakerState::open);
  h.outcome(h.last_send().attempt, kOk);
  return h;
}

TEST(TakeOver, AnUnchangedTargetKeepsItsOpenBreakerUntilItsOpenTimeThenProbes) {
  EngineHarness before(reload_config());
  trip_p0(before);
  EngineHarness after(reload_config());
  after.at(sec(2));
  const TakeOver kept = after.engine().take_over(after.now(), before.engine());
  EXPECT_EQ(kept.targets, (std::vector<bool>{true, true}));
  EXPECT_EQ(kept.providers, (std::vector<bool>{true, true}));
  EXPECT_TRUE(kept.retry_budget);
  EXPECT_TRUE(kept.cost_window);
  const HealthReport health = after.engine().health(after.now());
  EXPECT_EQ(health.targets[0].breaker, BreakerState::open);
  EXPECT_EQ(health.targets[0].open_until, T(sec(11)));
  EXPECT_EQ(health.targets[0].trips, 1);
  EXPECT_EQ(health.targets[0].inflight, 0);
  after.submit(1);
  EXPECT_EQ(after.last_send().target, 1U) << "the open breaker keeps the request off p0";
  after.outcome(after.last_send().attempt, kOk);
  after.at(sec(11)).submit(2);  // the taken-over open time ends here: p0 is probed
  EXPECT_EQ(after.last_send().target, 0U);
  EXPECT_TRUE(after.last_send().probe);
}

TEST(TakeOver, TargetsAreMatchedByNameNotByIndex) {
  EngineHarness before(reload_config());
  trip_p0(before);
  // The new config lists p1 first: p0/m0 is now target 1 and provider 1.
  Config swapped = empty_config();
  swapped.policy.breaker = reload_config().policy.breaker;
  const Config old = reload_config();
  const Index t1 = add_target(swapped, "p1", {"m1"}, 0);
  const Index t0 = add_target(swapped, "p0", {"m0"}, 0);
  swapped.providers = {old.providers[1], old.providers[0]};
  add_route(swapped, "main", {t0, t1});
  ASSERT_TRUE(validate(swapped).has_value());
  EngineHarness after(swapped);
  after.at(sec(2));
  const TakeOver kept = after.engine().take_over(after.now(), before.engine());
  EXPECT_EQ(kept.targets, (std::vector<bool>{true, true}));
  const HealthReport health = after.engine().health(after.now());
  EXPECT_EQ(health.targets[t0].breaker, BreakerState::open);
  EXPECT_EQ(health.targets[t1].breaker, BreakerState::closed);
}

TEST(TakeOver, AChangedTargetStartsFreshAndItsNeighbourIsKept) {
  for (const int change : {0, 1, 2, 3}) {
    EngineHarness before(reload_config());
    trip_p0(before);
    Config next = reload_config();
    if (change == 0) next.providers[0].base_url = "https://elsewhere.example";
    if (change == 1) next.providers[0].models[0].input_micro_usd_per_mtok += 1;
    if (change == 2) next.providers[0].concurrency_max += 1;
    if (change == 3) next.providers[0].api_key_env = "ANOTHER_KEY";
    EngineHarness after(next);
    after.at(sec(2));
    const TakeOver kept = after.engine().take_over(after.now(), before.engine());
    EXPECT_EQ(kept.targets, (std::vector<bool>{false, true})) << "change " << change;
    EXPECT_EQ(after.engine().health(after.now()).targets[0].breaker, BreakerState::closed) << "change " << change;
    after.submit(1);
    EXPECT_EQ(after.last_send().target, 0U) << "a fresh target is tried first again, change " << change;
  }
}

TEST(TakeOver, AChangedBreakerPolicyStartsEveryTargetFresh) {
  EngineHarness before(reload_config());
  trip_p0(before);
  Config next = reload_config();
  next.policy.breaker.open_base = sec(20);
  next.policy.breaker.open_max = sec(60);
  EngineHarness after(next);
  after.at(sec(2));
  const TakeOver kept = after.engine().take_over(after.now(), before.engine());
  EXPECT_EQ(kept.targets, (std::vector<bool>{false, false}));
  EXPECT_EQ(kept.providers, (std::vector<bool>{true, true})) << "providers do not depend on the breaker policy";
  EXPECT_EQ(after.engine().health(after.now()).targets[0].breaker, BreakerState::closed);
}

TEST(TakeOver, AHalfOpenProbeInFlightStaysThePreviousEnginesAndTheNewOneProbesAnew) {
  EngineHarness before(reload_config());
  trip_p0(before);
  before.at(sec(11)).submit(2);
  const SendAttempt probe = before.last_send();
  ASSERT_TRUE(probe.probe);
  ASSERT_EQ(before.engine().health(before.now()).targets[0].breaker, BreakerState::half_open);
  before.at(sec(12));
  before.submit(3);
  EXPECT_EQ(before.last_send().target, 1U) << "one probe at a time in the previous engine";
  EngineHarness after(reload_config());
  after.at(sec(12));
  after.engine().take_over(after.now(), before.engine());
  EXPECT_EQ(after.engine().health(after.now()).targets[0].breaker, BreakerState::half_open);
  EXPECT_EQ(after.engine().health(after.now()).targets[0].inflight, 0);
  after.submit(1);
  EXPECT_EQ(after.last_send().target, 0U);
  EXPECT_TRUE(after.last_send().probe) << "the new engine sends its own probe";
  after.outcome(after.last_send().attempt, kOk);
  EXPECT_EQ(after.engine().health(after.now()).targets[0].breaker, BreakerState::closed);
  // The previous engine still hears its own probe, and only it.
  before.outcome(probe.attempt, Outcome::http(503));
  EXPECT_EQ(before.engine().health(before.now()).targets[0].breaker, BreakerState::open);
  EXPECT_EQ(after.engine().health(after.now()).targets[0].breaker, BreakerState::closed);
}

TEST(TakeOver, TheCostSpentInTheWindowIsKeptAcrossAReload) {
  Config c = reload_config();
  c.policy.cost.budget_micro_usd = 500;  // two requests' worth at p0's prices, about
  c.policy.cost.on_exhausted = BudgetExhausted::reject;
  EngineHarness before(c);
  RequestId id = 1;
  for (; id <= 20; ++id) {
    before.at(sec(static_cast<std::int64_t>(id))).submit(id);
    if (before.completion_of(id).has_value()) break;  // rejected: the budget is spent
    before.outcome(before.last_send().attempt, kOk);
  }
  ASSERT_EQ(before.completion_of(id)->reason, EndReason::cost_budget);
  EngineHarness fresh(c);
  fresh.at(sec(30)).submit(1);
  EXPECT_FALSE(fresh.completion_of(1).has_value()) << "a fresh engine has its whole budget";
  EngineHarness after(c);
  after.at(sec(30));
  EXPECT_TRUE(after.engine().take_over(after.now(), before.engine()).cost_window);
  after.submit(1);
  ASSERT_TRUE(after.completion_of(1).has_value()) << "the spend came along: still over budget";
  EXPECT_EQ(after.completion_of(1)->reason, EndReason::cost_budget);
}

}  // namespace
}  // namespace failover
