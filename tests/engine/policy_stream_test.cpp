// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: streaming: what may be retried before and after the first byte.
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

TEST(PolicyStream, AStreamThatFailsAfterItsFirstByteEndsStreamInterruptedWithoutReplay) {
  EngineHarness h(make_config(2));
  h.submit(stream_request(1));
  h.at(ms(300)).first_byte(h.last_send().attempt);
  h.at(ms(900)).outcome(h.last_send().attempt, Outcome::of(OutcomeKind::truncated));
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::stream_interrupted);
  EXPECT_EQ(done->attempts, 1);
  EXPECT_EQ(h.sends().size(), 1U);
}

TEST(PolicyStream, AStreamMayResumeElsewhereAfterItsFirstByteWhenTheRouteAllowsIt) {
  Config c = make_config(2);
  c.routes[0].stream_resume = true;
  EngineHarness h(c);
  h.submit(stream_request(1));
  h.first_byte(h.last_send().attempt);
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);
  EXPECT_FALSE(h.completion_of(1).has_value());
}

TEST(PolicyStream, AStreamThatFailsBeforeItsFirstByteFailsOverFreely) {
  EngineHarness h(make_config(2));
  h.submit(stream_request(1));
  h.outcome(h.last_send().attempt, Outcome::http(503));
  ASSERT_EQ(h.sends().size(), 2U);
  EXPECT_EQ(h.last_send().target, 1U);
  h.first_byte(h.last_send().attempt);
  h.outcome(h.last_send().attempt, kOk);
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
}

}  // namespace
}  // namespace failover
