// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: retries, fallback to each target's own model and the retry budget.
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

TEST(PolicyRetry, TheRetryBudgetCapsAttemptsUnderATotalOutage) {
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
  const std::int64_t bound =
      kRequests + rp.budget_ratio.scale(kRequests) + rp.budget_min_per_second * seconds + rp.budget_max;
  EXPECT_LE(attempts, bound);
  EXPECT_LT(attempts, kRequests * 3 / 2);  // far from the 3,000 that attempts_max allows
  EXPECT_GT(h.engine().totals().retry_budget_denied, 0);
  EXPECT_EQ(h.engine().totals().attempts, attempts);
  for (const Complete& done : h.completes()) EXPECT_EQ(done.status, RequestStatus::failed);
}

TEST(PolicyRetry, FallbackSendsEachTargetItsOwnModelId) {
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

TEST(PolicyRetry, AttemptsMaxEndsARequestWithAttemptsExhausted) {
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

}  // namespace
}  // namespace failover
