#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/engine/prng.h"

namespace failover::sim {
namespace {

TEST(EventQueue, PopsTheEarliestEventFirst) {
  EventQueue<> q(16);
  q.push(at_us(300), SimEvent{3, 0, 0});
  q.push(at_us(100), SimEvent{1, 0, 0});
  q.push(at_us(200), SimEvent{2, 0, 0});
  EXPECT_EQ(q.size(), 3U);
  EXPECT_EQ(q.next_time(), at_us(100));
  EXPECT_EQ(q.pop().event.kind, 1U);
  EXPECT_EQ(q.pop().event.kind, 2U);
  EXPECT_EQ(q.pop().event.kind, 3U);
  EXPECT_TRUE(q.empty());
}

TEST(EventQueue, BreaksTiesByInsertionOrder) {
  EventQueue<> q(64);
  for (std::uint64_t i = 0; i < 50; ++i) q.push(at_us(7), SimEvent{0, i, 0});
  for (std::uint64_t i = 0; i < 50; ++i) {
    const auto e = q.pop();
    EXPECT_EQ(e.event.a, i);
    EXPECT_EQ(e.sequence, i);
  }
}

TEST(EventQueue, NextTimeIsNeverWhenEmpty) {
  EventQueue<> q(4);
  EXPECT_EQ(q.next_time(), kTimeNever);
  q.push(at_us(5), SimEvent{});
  EXPECT_EQ(q.next_time(), at_us(5));
  (void)q.pop();
  EXPECT_EQ(q.next_time(), kTimeNever);
  EXPECT_EQ(q.now(), at_us(5));
  EXPECT_EQ(q.pushed(), 1U);
}

TEST(EventQueue, MatchesAStableSortOfRandomInterleavedPushesAndPops) {
  // Times drawn from a small range so that ties are frequent; events may be pushed at
  // the current time while popping, as the loop does.
  Prng prng(99);
  EventQueue<std::uint64_t> q(100'000, 1'024);
  struct Ref {
    std::int64_t at;
    std::uint64_t seq;
  };
  std::vector<Ref> popped;
  std::vector<Ref> expected;
  std::uint64_t seq = 0;
  for (int round = 0; round < 20'000; ++round) {
    const std::int64_t base = to_us(q.now());
    const std::int64_t t = base + prng.range(0, 20);
    q.push(at_us(t), seq);
    expected.push_back({t, seq});
    ++seq;
    if (prng.chance(Ratio{1, 2})) {
      const auto e = q.pop();
      popped.push_back({to_us(e.at), e.event});
    }
  }
  while (!q.empty()) {
    const auto e = q.pop();
    popped.push_back({to_us(e.at), e.event});
  }
  ASSERT_EQ(popped.size(), expected.size());
  // Popping in between changes nothing about the order among what is left, so the
  // full sequence is non-decreasing in (time, sequence) within each time.
  for (std::size_t i = 1; i < popped.size(); ++i) {
    ASSERT_LE(popped[i - 1].at, popped[i].at);
    if (popped[i - 1].at == popped[i].at) {
      ASSERT_LT(popped[i - 1].seq, popped[i].seq);
    }
  }
}

TEST(EventQueue, PopsAllEventsOfABatchInStableSortedOrder) {
  Prng prng(5);
  EventQueue<std::uint64_t> q(10'000);
  std::vector<std::pair<std::int64_t, std::uint64_t>> expected;
  for (std::uint64_t i = 0; i < 5'000; ++i) {
    const std::int64_t t = prng.range(0, 500);
    q.push(at_us(t), i);
    expected.emplace_back(t, i);
  }
  std::stable_sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [t, id] : expected) {
    const auto e = q.pop();
    ASSERT_EQ(to_us(e.at), t);
    ASSERT_EQ(e.event, id);
  }
}

TEST(EventQueueDeathTest, PushingBeforeTheLastPoppedTimeAborts) {
  EventQueue<> q(4);
  q.push(at_us(100), SimEvent{});
  (void)q.pop();
  EXPECT_DEATH(q.push(at_us(99), SimEvent{}), "FAILOVER_ASSERT");
}

TEST(EventQueueDeathTest, PushingPastSizeMaxAborts) {
  EventQueue<> q(2, 2);
  q.push(at_us(1), SimEvent{});
  q.push(at_us(2), SimEvent{});
  EXPECT_DEATH(q.push(at_us(3), SimEvent{}), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
