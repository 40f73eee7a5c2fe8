// The engine's policies, one behaviour per test, driven through the harness at
// explicit virtual times: the queue and deadlines: overflow, deadlines passing in the queue and during attempts,
// attempt and first-byte timeouts.
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

TEST(PolicyQueue, QueueOverflowCompletesTheRequestAtOnceAsDroppedQueueFull) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  c.policy.queue.depth_max = 2;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 3; ++id) h.submit(id);
  const auto got = h.at(ms(5)).submit(4);
  ASSERT_EQ(got.size(), 1U);
  const Complete done = std::get<Complete>(got[0]);
  EXPECT_EQ(done.request, 4U);
  EXPECT_EQ(done.status, RequestStatus::dropped);
  EXPECT_EQ(done.reason, EndReason::queue_full);
  EXPECT_EQ(done.attempts, 0);
  EXPECT_EQ(h.engine().totals().queued, 2);
  h.outcome(h.sends_of(1).at(0).attempt, kOk);
  EXPECT_EQ(h.last_send().request, 2U);  // the queue moves in order
}

TEST(PolicyQueue, TooManyHeldRequestsCompletesTheRequestAsDroppedQueueFull) {
  Config c = make_config(1);
  c.policy.queue.depth_max = 3;
  c.policy.queue.requests_max = 3;
  EngineHarness h(c);
  for (RequestId id = 1; id <= 3; ++id) h.submit(id);
  EXPECT_EQ(h.sends().size(), 3U);
  h.submit(4);
  EXPECT_EQ(h.completion_of(4)->reason, EndReason::queue_full);
  h.outcome(h.sends_of(1).at(0).attempt, kOk);
  h.submit(5);
  EXPECT_EQ(h.last_send().request, 5U);
}

TEST(PolicyQueue, ADeadlineThatPassesInTheQueueDropsTheRequestWithDeadline) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  EngineHarness h(c);
  h.submit(1);
  Request r;
  r.id = 2;
  r.route = 0;
  r.deadline = T(sec(5));
  h.at(sec(1)).submit(r);
  h.at(sec(5) - us(1));
  EXPECT_FALSE(h.completion_of(2).has_value());
  h.at(sec(5));
  const auto done = h.completion_of(2);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::dropped);
  EXPECT_EQ(done->reason, EndReason::deadline);
  EXPECT_EQ(done->attempts, 0);
  EXPECT_EQ(done->latency, sec(4));
  EXPECT_EQ(h.engine().totals().queued, 0);
  EXPECT_EQ(h.outstanding().size(), 1U);  // request 1 is untouched
}

TEST(PolicyQueue, ADeadlineThatPassesDuringAnAttemptCancelsItAndFailsDeadlineExceeded) {
  EngineHarness h(make_config(2));
  Request r;
  r.id = 1;
  r.route = 0;
  r.prompt_tokens = 100;
  r.output_tokens_max = 100;
  r.deadline = T(sec(2));
  h.submit(r);
  const SendAttempt s = h.last_send();
  EXPECT_EQ(s.deadline, T(sec(2)));  // the attempt cannot outlive its request
  h.at(sec(2));
  const auto cancels = h.cancels();
  ASSERT_EQ(cancels.size(), 1U);
  EXPECT_EQ(cancels[0].attempt, s.attempt);
  EXPECT_EQ(cancels[0].reason, CancelReason::deadline);
  const auto done = h.completion_of(1);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->status, RequestStatus::failed);
  EXPECT_EQ(done->reason, EndReason::deadline_exceeded);
  EXPECT_EQ(done->attempts, 1);
  const auto charges = h.charges();
  ASSERT_EQ(charges.size(), 1U);
  EXPECT_EQ(charges[0].kind, ChargeKind::possibly_billed);
  EXPECT_EQ(h.sends().size(), 1U);
  EXPECT_TRUE(h.outstanding().empty());
}

TEST(PolicyQueue, ARequestPastItsDeadlineIsNotStartedEvenWhenTheDriversTimerIsLate) {
  Config c = make_config(1);
  c.providers[0].concurrency_max = 1;
  Engine engine(c, Prng(1));
  ActionBuffer out;
  Request first;
  first.id = 1;
  first.route = 0;
  engine.submit(T(Duration{0}), first, out);
  ASSERT_EQ(out.size(), 1U);
  const AttemptId attempt = std::get<SendAttempt>(out[0]).attempt;
  Request second;
  second.id = 2;
  second.route = 0;
  second.deadline = T(sec(5));
  out.clear();
  engine.submit(T(sec(1)), second, out);
  ASSERT_TRUE(out.empty());  // queued behind request 1
  // Request 1's answer arrives at 6 s, before the driver's timer for 5 s has run.
  engine.on_response(T(sec(6)), attempt, kOk, out);
  std::vector<Complete> done;
  for (const Action& a : out) {
    EXPECT_FALSE(std::holds_alternative<SendAttempt>(a));
    if (const auto* c2 = std::get_if<Complete>(&a)) done.push_back(*c2);
  }
  ASSERT_EQ(done.size(), 2U);
  EXPECT_EQ(done[1].request, 2U);
  EXPECT_EQ(done[1].status, RequestStatus::dropped);
  EXPECT_EQ(done[1].reason, EndReason::deadline);
  EXPECT_EQ(engine.totals().active, 0);
}

TEST(PolicyQueue, AnAttemptThatTimesOutIsCancelledRetriedElsewhereAndChargedAsPossiblyBilled) {
  Config c = make_config(2);
  c.policy.timeouts.attempt = sec(5);
  c.policy.timeouts.first_byte = Duration{0};
  EngineHarness h(c);
  h.submit(1);
  const SendAttempt first = h.last_send();
  h.at(sec(5) - us(1));
  EXPECT_TRUE(h.cancels().empty());
  h.at(sec(5));
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].attempt, first.attempt);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::timeout);
  ASSERT_EQ(h.charges().size(), 1U);
  const Charge charge = h.charges()[0];
  EXPECT_EQ(charge.attempt, first.attempt);
  EXPECT_EQ(charge.kind, ChargeKind::possibly_billed);
  EXPECT_EQ(charge.cost_micro_usd, 200);  // 100 + 100 tokens at $1/1M, worst case
  EXPECT_EQ(h.last_send().target, 1U);
  EXPECT_EQ(h.last_send().number, 2);
  EXPECT_EQ(h.engine().totals().possibly_billed_micro_usd, 200);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].failures, 1);
}

TEST(PolicyQueue, AFirstByteTimeoutCancelsTheAttemptAndFailsOver) {
  Config c = make_config(2);
  c.policy.timeouts.first_byte = sec(2);
  EngineHarness h(c);
  h.submit(stream_request(1));
  h.at(sec(2));
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::timeout);
  EXPECT_EQ(h.last_send().target, 1U);
  h.first_byte(h.last_send().attempt);  // a byte in time: no first-byte timeout
  h.at(sec(10));
  EXPECT_EQ(h.cancels().size(), 1U);
}

// scenarios/liveness-429-burst.toml: a non-streamed answer's first byte is its last, so
// a long answer from a healthy target passed the first-byte timeout, and the timeouts
// tripped healthy fallbacks before any fault.
TEST(PolicyQueue, TheFirstByteTimeoutDoesNotApplyToANonStreamedAnswer) {
  Config c = make_config(2);
  c.policy.timeouts.first_byte = sec(2);
  c.policy.timeouts.attempt = sec(30);
  EngineHarness h(c);
  h.submit(1);  // not streamed
  const SendAttempt first = h.last_send();
  h.at(sec(20));
  EXPECT_TRUE(h.cancels().empty());
  h.outcome(first.attempt, kOk);
  ASSERT_TRUE(h.completion_of(1).has_value());
  EXPECT_EQ(h.completion_of(1)->status, RequestStatus::succeeded);
  EXPECT_EQ(h.engine().health(h.now()).targets[0].failures, 0);
  h.submit(2);  // the attempt timeout still bounds it
  h.at(sec(50));
  ASSERT_EQ(h.cancels().size(), 1U);
  EXPECT_EQ(h.cancels()[0].reason, CancelReason::timeout);
}

}  // namespace
}  // namespace failover
