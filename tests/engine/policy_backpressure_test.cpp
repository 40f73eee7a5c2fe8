// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: back-pressure: Retry-After blocks a target for every request, its jitter and its cap.
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

TEST(PolicyBackPressure, RetryAfterBlocksTheTargetForEveryRequestAndRequestsRouteAroundIt) {
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

TEST(PolicyBackPressure, RetryAfterJitterSpreadsTargetsThatAskedForTheSameDelay) {
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

TEST(PolicyBackPressure, RetryAfterBeyondTheCapWithNoOtherTargetFailsTheRequestRateLimited) {
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

TEST(PolicyBackPressure, RetryAfterWithinTheCapWithNoOtherTargetWaitsForTheTarget) {
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

}  // namespace
}  // namespace failover
