// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: cost and the budget: downgrade, reject, reservations of attempts in flight.
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

TEST(PolicyCost, AnExhaustedCostBudgetDowngradesToTheTiersDowngrade) {
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

TEST(PolicyCost, AnExhaustedCostBudgetWithRejectDropsTheRequestWithCostBudget) {
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

TEST(PolicyCost, TheBudgetCountsReservationsOfAttemptsStillInFlight) {
  const TierRig rig = tier_rig(BudgetExhausted::reject);
  EngineHarness h(rig.config);
  h.submit(tier_request(1, rig.complex_tier));
  h.submit(tier_request(2, rig.complex_tier));
  h.submit(tier_request(3, rig.complex_tier));  // 3 x 2,000 reserved would pass 5,000
  EXPECT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.completion_of(3)->reason, EndReason::cost_budget);
}

TEST(PolicyCost, SpendingNeverExceedsAnEnforcedBudget) {
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

}  // namespace
}  // namespace failover
