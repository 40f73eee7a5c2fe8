#include "core/engine/breaker.h"

#include <gtest/gtest.h>

#include "tests/support/engine_harness.h"  // gtest printers for BreakerState

namespace failover {
namespace {

using Change = Breaker::Change;

// One rule at a time: the tests below switch on the rule they exercise.
BreakerPolicy quiet_policy() {
  BreakerPolicy p;
  p.consecutive_failures = 0;
  p.failure_rate = Ratio{0, 1};
  p.window_calls_min = 10;
  p.window = sec(10);  // ten 1 s buckets
  p.slow_call_threshold = Duration{0};
  p.open_base = sec(10);
  p.open_max = sec(35);
  p.healthy_period = minutes(1);
  p.half_open_probes = 1;
  p.min_available_targets = 1;
  return p;
}

BreakerPolicy consecutive_policy(std::int32_t n) {
  BreakerPolicy p = quiet_policy();
  p.consecutive_failures = n;
  return p;
}

Time T(Duration d) {
  return kTimeZero + d;
}

Change fail(Breaker& b, Time now) {
  return b.record(now, {.failure = true, .slow = false, .trip_allowed = true});
}
Change succeed(Breaker& b, Time now) {
  return b.record(now, {.failure = false, .slow = false, .trip_allowed = true});
}

// Opens `b` (consecutive rule of 1) at `now` and half-opens it at its open_until.
void trip_and_half_open(Breaker& b, Time now) {
  EXPECT_EQ(fail(b, now), Change::opened);
  EXPECT_EQ(b.advance(b.open_until()), Change::half_opened);
}

TEST(Breaker, StartsClosedAndAdmitting) {
  Breaker b(quiet_policy());
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_TRUE(b.admits());
  EXPECT_EQ(b.on_start(), Breaker::kNoProbe);
  EXPECT_EQ(b.trips(), 0);
}

TEST(Breaker, TripsOnExactlyTheNthConsecutiveFailureAndNotBefore) {
  Breaker b(consecutive_policy(5));
  for (int i = 1; i <= 4; ++i) {
    ASSERT_EQ(fail(b, T(sec(i))), Change::none) << "failure " << i;
    ASSERT_EQ(b.state(), BreakerState::closed);
  }
  EXPECT_EQ(fail(b, T(sec(5))), Change::opened);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_FALSE(b.admits());
  EXPECT_EQ(b.trips(), 1);
}

TEST(Breaker, ASuccessRestartsTheConsecutiveCount) {
  Breaker b(consecutive_policy(3));
  EXPECT_EQ(fail(b, T(sec(1))), Change::none);
  EXPECT_EQ(fail(b, T(sec(2))), Change::none);
  EXPECT_EQ(succeed(b, T(sec(3))), Change::none);
  EXPECT_EQ(fail(b, T(sec(4))), Change::none);
  EXPECT_EQ(fail(b, T(sec(5))), Change::none);
  EXPECT_EQ(fail(b, T(sec(6))), Change::opened);
}

TEST(Breaker, TheFailureRateRuleWaitsForTheMinimumNumberOfCalls) {
  BreakerPolicy p = quiet_policy();
  p.failure_rate = Ratio{50, 100};
  p.window_calls_min = 10;
  Breaker b(p);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(succeed(b, T(ms(100 * i))), Change::none);
  for (int i = 5; i < 9; ++i) ASSERT_EQ(fail(b, T(ms(100 * i))), Change::none);  // 4 of 9: 44%
  EXPECT_EQ(fail(b, T(ms(900))), Change::opened);                                // 5 of 10: 50%, with 10 calls
}

TEST(Breaker, TheFailureRateRuleDoesNotFireBelowItsMinimumCallsEvenAtAHundredPercent) {
  BreakerPolicy p = quiet_policy();
  p.failure_rate = Ratio{50, 100};
  p.window_calls_min = 10;
  Breaker b(p);
  for (int i = 0; i < 9; ++i) ASSERT_EQ(fail(b, T(ms(100 * i))), Change::none);
  EXPECT_EQ(b.state(), BreakerState::closed);
}

TEST(Breaker, TheFailureRateRuleDoesNotFireBelowItsRate) {
  BreakerPolicy p = quiet_policy();
  p.failure_rate = Ratio{50, 100};
  p.window_calls_min = 10;
  Breaker b(p);
  for (int i = 0; i < 40; ++i) {  // one failure in three: 33%
    const Change c = b.record(T(ms(100 * i)), {.failure = i % 3 == 0, .slow = false, .trip_allowed = true});
    ASSERT_EQ(c, Change::none) << "call " << i;
  }
}

TEST(Breaker, CallsOlderThanTheWindowNoLongerCount) {
  BreakerPolicy p = quiet_policy();
  p.failure_rate = Ratio{50, 100};
  p.window_calls_min = 10;
  Breaker stale(p);
  Breaker fresh(p);
  for (int i = 0; i < 9; ++i) {
    ASSERT_EQ(fail(stale, T(Duration{0})), Change::none);
    ASSERT_EQ(fail(fresh, T(Duration{0})), Change::none);
  }
  // Nine seconds later the nine failures are still inside the 10 s window...
  EXPECT_EQ(fail(fresh, T(sec(9) + ms(999))), Change::opened);
  // ...ten seconds later their bucket has left it: one call in the window.
  EXPECT_EQ(fail(stale, T(sec(10))), Change::none);
  EXPECT_EQ(stale.state(), BreakerState::closed);
}

TEST(Breaker, TheSlowCallRuleOpensWhenSlowSuccessesReachTheRate) {
  BreakerPolicy p = quiet_policy();
  p.slow_call_threshold = sec(2);
  p.slow_call_rate = Ratio{80, 100};
  p.window_calls_min = 5;
  Breaker b(p);
  EXPECT_EQ(b.record(T(ms(0)), {.failure = false, .slow = false, .trip_allowed = true}),
            Change::none);  // two fast calls
  EXPECT_EQ(b.record(T(ms(1)), {.failure = false, .slow = false, .trip_allowed = true}), Change::none);
  // k slow calls after two fast ones: k / (k + 2) first reaches 80% at k = 8.
  for (int k = 1; k <= 7; ++k)
    ASSERT_EQ(b.record(T(ms(10 * k)), {.failure = false, .slow = true, .trip_allowed = true}), Change::none) << k;
  EXPECT_EQ(b.record(T(ms(80)), {.failure = false, .slow = true, .trip_allowed = true}), Change::opened);
}

TEST(Breaker, SlowCallsDoNotCountWhenTheRuleIsOff) {
  BreakerPolicy p = quiet_policy();
  p.slow_call_rate = Ratio{10, 100};
  p.window_calls_min = 1;
  Breaker b(p);  // slow_call_threshold = 0: off
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(b.record(T(ms(i)), {.failure = false, .slow = true, .trip_allowed = true}), Change::none);
}

TEST(Breaker, OpenTimeDoublesWithEachTripInARowCappedAtOpenMax) {
  Breaker b(consecutive_policy(1));  // open_base 10 s, open_max 35 s
  Time now = T(sec(1));
  b.on_start();
  ASSERT_EQ(fail(b, now), Change::opened);
  EXPECT_EQ(b.open_until(), now + sec(10));
  const Duration expected[] = {sec(20), sec(35), sec(35), sec(35)};
  for (const Duration open : expected) {
    now = b.open_until();
    ASSERT_EQ(b.advance(now), Change::half_opened);
    const Breaker::Ticket probe = b.on_start();
    ASSERT_EQ(b.record(now, {.failure = true, .slow = false, .trip_allowed = true}, probe), Change::reopened);
    EXPECT_EQ(b.open_until(), now + open) << "trip " << b.trip_streak();
  }
  EXPECT_EQ(b.trips(), 5);
  EXPECT_EQ(b.trip_streak(), 5);
}

TEST(Breaker, StaysOpenUntilItsOpenTimeHasPassed) {
  Breaker b(consecutive_policy(1));
  fail(b, T(Duration{0}));
  EXPECT_EQ(b.advance(T(sec(10) - us(1))), Change::none);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_FALSE(b.admits());
  EXPECT_EQ(b.advance(T(sec(10))), Change::half_opened);
  EXPECT_EQ(b.state(), BreakerState::half_open);
}

// Trips twice (streak 2), then closes at `closed_at` with a successful probe.
Time trip_twice_then_close(Breaker& b) {
  EXPECT_EQ(fail(b, T(Duration{0})), Change::opened);  // open 10 s
  b.advance(b.open_until());
  Breaker::Ticket probe = b.on_start();
  EXPECT_EQ(b.record(T(sec(10)), {.failure = true, .slow = false, .trip_allowed = true}, probe),
            Change::reopened);  // open 20 s
  const Time closed_at = b.open_until();
  b.advance(closed_at);
  probe = b.on_start();
  EXPECT_EQ(b.record(closed_at, {.failure = false, .slow = false, .trip_allowed = true}, probe), Change::closed);
  EXPECT_EQ(b.trip_streak(), 2);
  return closed_at;
}

TEST(Breaker, WithoutAHealthyPeriodTheNextTripOpensLonger) {
  Breaker b(consecutive_policy(1));
  const Time closed_at = trip_twice_then_close(b);
  const Time now = closed_at + minutes(1) - us(1);
  ASSERT_EQ(fail(b, now), Change::opened);
  EXPECT_EQ(b.open_until(), now + sec(35));  // streak 3: 40 s, capped at open_max
}

TEST(Breaker, AHealthyPeriodForgivesOneTrip) {
  Breaker b(consecutive_policy(1));
  const Time closed_at = trip_twice_then_close(b);
  const Time now = closed_at + minutes(1);
  ASSERT_EQ(fail(b, now), Change::opened);
  EXPECT_EQ(b.open_until(), now + sec(20));  // streak 2 - 1 + 1
}

TEST(Breaker, EachHealthyPeriodForgivesOneMoreTrip) {
  Breaker b(consecutive_policy(1));
  const Time closed_at = trip_twice_then_close(b);
  const Time now = closed_at + minutes(2);
  ASSERT_EQ(fail(b, now), Change::opened);
  EXPECT_EQ(b.open_until(), now + sec(10));  // streak 0 + 1
}

TEST(Breaker, HalfOpenAdmitsExactlyTheConfiguredProbes) {
  BreakerPolicy p = consecutive_policy(1);
  p.half_open_probes = 3;
  Breaker b(p);
  trip_and_half_open(b, T(Duration{0}));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.admits()) << "probe " << i;
    EXPECT_NE(b.on_start(), Breaker::kNoProbe);
  }
  EXPECT_FALSE(b.admits());
}

TEST(Breaker, HalfOpenClosesAfterAllProbesSucceed) {
  BreakerPolicy p = consecutive_policy(1);
  p.half_open_probes = 3;
  Breaker b(p);
  trip_and_half_open(b, T(Duration{0}));
  const Time now = b.open_until();
  const Breaker::Ticket t1 = b.on_start();
  const Breaker::Ticket t2 = b.on_start();
  const Breaker::Ticket t3 = b.on_start();
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, t1), Change::none);
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, t2), Change::none);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, t3), Change::closed);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_TRUE(b.admits());
}

TEST(Breaker, HalfOpenReopensOnAProbeFailure) {
  BreakerPolicy p = consecutive_policy(1);
  p.half_open_probes = 3;
  Breaker b(p);
  trip_and_half_open(b, T(Duration{0}));
  const Time now = b.open_until();
  const Breaker::Ticket t1 = b.on_start();
  const Breaker::Ticket t2 = b.on_start();
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, t1), Change::none);
  EXPECT_EQ(b.record(now, {.failure = true, .slow = false, .trip_allowed = true}, t2), Change::reopened);
  EXPECT_EQ(b.state(), BreakerState::open);
  EXPECT_EQ(b.open_until(), now + sec(20));
  EXPECT_FALSE(b.admits());
}

TEST(Breaker, HalfOpenReopensOnASlowProbe) {
  BreakerPolicy p = consecutive_policy(1);
  p.slow_call_threshold = sec(1);
  Breaker b(p);
  trip_and_half_open(b, T(Duration{0}));
  const Breaker::Ticket probe = b.on_start();
  EXPECT_EQ(b.record(b.open_until(), {.failure = false, .slow = true, .trip_allowed = true}, probe), Change::reopened);
}

TEST(Breaker, AbandoningAProbeHandsItBack) {
  Breaker b(consecutive_policy(1));  // one probe
  trip_and_half_open(b, T(Duration{0}));
  const Breaker::Ticket probe = b.on_start();
  EXPECT_FALSE(b.admits());
  b.on_abandon(probe);
  EXPECT_TRUE(b.admits());
  EXPECT_EQ(b.state(), BreakerState::half_open);
}

TEST(Breaker, AbandoningANonProbeInHalfOpenHandsNothingBack) {
  Breaker b(consecutive_policy(1));
  b.on_start();  // a second attempt, started while closed
  const Breaker::Ticket straggler = b.on_start();
  ASSERT_EQ(fail(b, T(Duration{0})), Change::opened);
  b.advance(b.open_until());
  const Breaker::Ticket probe = b.on_start();
  b.on_abandon(straggler);
  EXPECT_FALSE(b.admits());  // the probe is still out
  b.on_abandon(probe);
  EXPECT_TRUE(b.admits());
}

TEST(Breaker, AResultFromBeforeTheTripDoesNotCountAsAProbe) {
  Breaker b(consecutive_policy(1));
  const Breaker::Ticket straggler = b.on_start();
  ASSERT_EQ(fail(b, T(Duration{0})), Change::opened);
  const Time now = b.open_until();
  b.advance(now);
  const Breaker::Ticket probe = b.on_start();
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, straggler), Change::none);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_EQ(b.record(now, {.failure = true, .slow = false, .trip_allowed = true}, straggler), Change::none);
  EXPECT_EQ(b.state(), BreakerState::half_open);
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, probe), Change::closed);
}

TEST(Breaker, AProbeOfAnEarlierHalfOpenPeriodDoesNotCountInALaterOne) {
  BreakerPolicy p = consecutive_policy(1);
  p.half_open_probes = 2;
  Breaker b(p);
  trip_and_half_open(b, T(Duration{0}));
  Time now = b.open_until();
  const Breaker::Ticket failing = b.on_start();
  const Breaker::Ticket late = b.on_start();
  ASSERT_EQ(b.record(now, {.failure = true, .slow = false, .trip_allowed = true}, failing), Change::reopened);
  now = b.open_until();
  ASSERT_EQ(b.advance(now), Change::half_opened);
  EXPECT_EQ(b.record(now, {.failure = false, .slow = false, .trip_allowed = true}, late), Change::none);
  b.on_abandon(late);
  EXPECT_TRUE(b.admits());
  EXPECT_NE(b.on_start(), late);
  EXPECT_TRUE(b.admits());  // the second probe of this period is still on offer
}

TEST(Breaker, AResultWhileOpenChangesNothing) {
  Breaker b(consecutive_policy(1));
  ASSERT_EQ(fail(b, T(Duration{0})), Change::opened);
  EXPECT_EQ(succeed(b, T(sec(1))), Change::none);
  EXPECT_EQ(fail(b, T(sec(2))), Change::none);
  EXPECT_EQ(b.open_until(), T(sec(10)));
  EXPECT_EQ(b.trips(), 1);
}

TEST(Breaker, ATripThatIsNotAllowedIsSuppressedAndLeavesItClosed) {
  Breaker b(consecutive_policy(2));
  EXPECT_EQ(b.record(T(sec(1)), {.failure = true, .slow = false, .trip_allowed = false}), Change::none);
  EXPECT_EQ(b.record(T(sec(2)), {.failure = true, .slow = false, .trip_allowed = false}), Change::suppressed);
  EXPECT_EQ(b.state(), BreakerState::closed);
  EXPECT_TRUE(b.admits());
  EXPECT_EQ(b.trips(), 0);
  // The failures still count: once a trip is allowed again, the next failure opens it.
  EXPECT_EQ(b.record(T(sec(3)), {.failure = true, .slow = false, .trip_allowed = true}), Change::opened);
}

}  // namespace
}  // namespace failover
