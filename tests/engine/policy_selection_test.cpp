// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: selection: least latency, cheapest, weights within a priority level, priority levels.
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

TEST(PolicySelection, LeastLatencyPicksTheLowestEwmaInitialisedFromTheFirstSample) {
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

TEST(PolicySelection, CheapestPicksTheCheapestTargetWhateverItsPriority) {
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

TEST(PolicySelection, WeightsSplitTrafficWithinAPriorityLevelDeterministicallyForTheSeed) {
  const std::vector<Index> run = weighted_run(21);
  const auto to_p0 = std::count(run.begin(), run.end(), 0U);
  // 3:1 of 4,000 is 3,000; the standard deviation is 27, so 150 is over five of them.
  EXPECT_GE(to_p0, 2'850);
  EXPECT_LE(to_p0, 3'150);
  EXPECT_EQ(weighted_run(21), run);
  EXPECT_NE(weighted_run(22), run);
}

TEST(PolicySelection, ALowerPriorityLevelIsUsedOnlyWhenTheHigherOneIsUnavailable) {
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
