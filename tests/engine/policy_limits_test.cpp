// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: limits: provider concurrency, the global in-flight limit, rpm buckets, attempts that cannot
// finish in time.
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

TEST(PolicyLimits, ProviderConcurrencyAndTheGlobalInflightLimitAreNeverExceeded) {
  Config c = make_config(2);
  c.providers[0].concurrency_max = 3;
  c.providers[1].concurrency_max = 3;
  c.policy.concurrency.inflight_max = 4;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 20; ++id) h.submit(id);
  auto count = [&](Index provider) {
    std::int32_t n = 0;
    for (const SendAttempt& s : h.outstanding()) n += s.provider == provider ? 1 : 0;
    return n;
  };
  EXPECT_EQ(count(0), 3);
  EXPECT_EQ(count(1), 1);
  for (int step = 1; step <= 40 && !h.outstanding().empty(); ++step) {
    h.at(ms(10 * step)).outcome(h.outstanding().front().attempt, kOk);
    ASSERT_LE(count(0), 3);
    ASSERT_LE(count(1), 3);
    ASSERT_LE(h.outstanding().size(), 4U);
  }
  EXPECT_EQ(h.completes().size(), 20U);
  for (const Complete& done : h.completes()) EXPECT_EQ(done.status, RequestStatus::succeeded);
}

TEST(PolicyLimits, AnRpmLimitDelaysDispatchUntilTheBucketRefills) {
  Config c = make_config(1);
  c.providers[0].rpm_max = 2;  // a token every 30 s
  EngineHarness h(c);
  for (RequestId id = 1; id <= 3; ++id) h.submit(id);
  EXPECT_EQ(h.sends().size(), 2U);
  h.at(ms(1)).answer_all(kOk);
  h.at(sec(30) - us(1));
  EXPECT_EQ(h.sends().size(), 2U);
  h.at(sec(30));
  ASSERT_EQ(h.sends().size(), 3U);
  EXPECT_EQ(h.last_send().request, 3U);
}

TEST(PolicyLimits, AnAttemptWhoseUsualLatencyExceedsTheTimeLeftIsNotStarted) {
  EngineHarness h(make_config(1));
  h.submit(1);
  h.at(sec(4)).outcome(h.last_send().attempt, kOk);  // p0 takes 4 s
  Request r;
  r.id = 2;
  r.route = 0;
  r.deadline = T(sec(7));  // 3 s left
  h.submit(r);
  const auto done = h.completion_of(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);  // shed at once, never sent
  EXPECT_EQ(done->reason, EndReason::deadline);
  EXPECT_EQ(done->latency, Duration{0});
  EXPECT_EQ(h.sends().size(), 1U);
}

}  // namespace
}  // namespace failover
