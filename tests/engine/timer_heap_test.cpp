#include "core/engine/timer_heap.h"

#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/engine/prng.h"

namespace failover {
namespace {

Time t(std::int64_t n) {
  return at_us(n);
}

// Pops every timer in order: (id, time) pairs.
std::vector<std::pair<std::uint32_t, std::int64_t>> drain(TimerHeap& h) {
  std::vector<std::pair<std::uint32_t, std::int64_t>> out;
  for (std::size_t i = 0; i < h.capacity_ids() && !h.empty(); ++i) {
    const std::uint32_t id = h.top();
    out.emplace_back(id, to_us(h.top_time()));
    h.remove(id);
  }
  return out;
}

using Order = std::vector<std::pair<std::uint32_t, std::int64_t>>;

TEST(TimerHeap, StartsEmptyWithNoTime) {
  TimerHeap h(4);
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.top_time(), kTimeNever);
  EXPECT_FALSE(h.armed(0));
  EXPECT_EQ(h.at(3), kTimeNever);
}

TEST(TimerHeap, PopsTimersInTimeOrder) {
  TimerHeap h(5);
  h.set(0, t(50));
  h.set(1, t(10));
  h.set(2, t(40));
  h.set(3, t(20));
  h.set(4, t(30));
  EXPECT_EQ(drain(h), (Order{{1, 10}, {3, 20}, {4, 30}, {2, 40}, {0, 50}}));
}

TEST(TimerHeap, BreaksTiesOnTheLowerId) {
  TimerHeap h(6);
  for (const std::uint32_t id : {5U, 2U, 4U, 0U, 3U, 1U}) h.set(id, t(7));
  EXPECT_EQ(drain(h), (Order{{0, 7}, {1, 7}, {2, 7}, {3, 7}, {4, 7}, {5, 7}}));
}

TEST(TimerHeap, MovesATimerEarlier) {
  TimerHeap h(3);
  h.set(0, t(10));
  h.set(1, t(20));
  h.set(2, t(30));
  h.set(2, t(5));
  EXPECT_EQ(h.top(), 2U);
  EXPECT_EQ(drain(h), (Order{{2, 5}, {0, 10}, {1, 20}}));
}

TEST(TimerHeap, MovesATimerLater) {
  TimerHeap h(3);
  h.set(0, t(10));
  h.set(1, t(20));
  h.set(2, t(30));
  h.set(0, t(25));
  EXPECT_EQ(h.at(0), t(25));
  EXPECT_EQ(drain(h), (Order{{1, 20}, {0, 25}, {2, 30}}));
}

TEST(TimerHeap, RemovesATimerFromTheMiddle) {
  TimerHeap h(4);
  h.set(0, t(10));
  h.set(1, t(20));
  h.set(2, t(30));
  h.set(3, t(40));
  h.remove(2);
  EXPECT_FALSE(h.armed(2));
  EXPECT_EQ(h.at(2), kTimeNever);
  EXPECT_EQ(drain(h), (Order{{0, 10}, {1, 20}, {3, 40}}));
}

TEST(TimerHeap, RemovingAnAbsentTimerChangesNothing) {
  TimerHeap h(3);
  h.set(1, t(10));
  h.remove(0);
  h.remove(2);
  EXPECT_EQ(drain(h), (Order{{1, 10}}));
}

TEST(TimerHeap, SettingNeverDisarms) {
  TimerHeap h(2);
  h.set(0, t(10));
  h.set(1, t(20));
  h.set(0, kTimeNever);
  EXPECT_FALSE(h.armed(0));
  EXPECT_EQ(h.top(), 1U);
  h.set(0, kTimeNever);  // already disarmed: still fine
  EXPECT_EQ(drain(h), (Order{{1, 20}}));
}

TEST(TimerHeap, ATimerCanBeArmedAgainAfterItWasRemoved) {
  TimerHeap h(2);
  h.set(0, t(10));
  h.remove(0);
  h.set(0, t(3));
  h.set(1, t(4));
  EXPECT_EQ(drain(h), (Order{{0, 3}, {1, 4}}));
}

TEST(TimerHeap, StaysOrderedUnderRandomSetsAndRemoves) {
  constexpr std::uint32_t kIds = 64;
  TimerHeap h(kIds);
  std::vector<std::int64_t> model(kIds, -1);  // -1: not armed
  Prng prng(99);
  for (int step = 0; step < 5'000; ++step) {
    const auto id = static_cast<std::uint32_t>(prng.below(kIds));
    if (prng.chance(Ratio{1, 4})) {
      h.remove(id);
      model[id] = -1;
    } else {
      const std::int64_t when = prng.range(0, 50);  // many ties
      h.set(id, t(when));
      model[id] = when;
    }
    // The top is the earliest armed timer, the lower id on a tie.
    std::int64_t best_time = -1;
    std::uint32_t best_id = kIds;
    for (std::uint32_t i = 0; i < kIds; ++i) {
      if (model[i] >= 0 && (best_id == kIds || model[i] < best_time)) {
        best_time = model[i];
        best_id = i;
      }
    }
    if (best_id == kIds) {
      ASSERT_TRUE(h.empty());
    } else {
      ASSERT_EQ(h.top(), best_id) << "step " << step;
      ASSERT_EQ(to_us(h.top_time()), best_time);
    }
  }
  Order expected;
  for (std::int64_t when = 0; when <= 50; ++when) {
    for (std::uint32_t i = 0; i < kIds; ++i) {
      if (model[i] == when) expected.emplace_back(i, when);
    }
  }
  EXPECT_EQ(drain(h), expected);
}

}  // namespace
}  // namespace failover
