// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: adaptive throttling (Google SRE client-side throttling).
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

Config throttle_config() {
  Config c = test::make_config(1);
  c.policy.retry.adaptive_throttle = true;
  c.policy.retry.attempts_max = 1;
  c.policy.breaker.consecutive_failures = 0;
  c.policy.breaker.failure_rate = Ratio{0, 1};
  c.policy.breaker.min_available_targets = 0;
  return c;
}

TEST(PolicyThrottle, AdaptiveThrottlingRejectsLocallyWhenTheTargetAcceptsNothing) {
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

TEST(PolicyThrottle, AdaptiveThrottlingNeverRejectsWhileTheTargetAccepts) {
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
