#include "core/engine/request_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>

#include "core/engine/prng.h"

namespace failover {
namespace {

TEST(RequestIndex, FindsTheSlotOfAHeldIdAndNothingElse) {
  RequestIndex index(4);
  index.insert(7, 0);
  index.insert(0, 1);  // 0 is an id like any other
  EXPECT_EQ(index.find(7), 0U);
  EXPECT_EQ(index.find(0), 1U);
  EXPECT_EQ(index.find(8), RequestIndex::kAbsent);
  index.erase(7, 0);
  EXPECT_EQ(index.find(7), RequestIndex::kAbsent);
  EXPECT_EQ(index.find(0), 1U);
  EXPECT_EQ(index.size(), 1U);
}

TEST(RequestIndex, AnIdMayBeHeldAgainOnceErased) {
  RequestIndex index(1);
  for (std::uint32_t round = 0; round < 100; ++round) {
    index.insert(42, round);
    EXPECT_EQ(index.find(42), round);
    index.erase(42, round);
  }
  EXPECT_EQ(index.size(), 0U);
}

// Many ids in and out at random against a std::map: erasing from the middle of a probe
// cluster must keep every other id findable (backward-shift deletion).
TEST(RequestIndex, AgreesWithAMapUnderRandomInsertsAndErases) {
  constexpr std::uint32_t kSlots = 64;
  RequestIndex index(kSlots);
  std::map<RequestId, std::uint32_t> held;
  Prng prng(11);
  std::uint32_t next_slot = 0;
  for (int step = 0; step < 20'000; ++step) {
    const RequestId id = prng.below(200);  // few ids: long clusters, many repeats
    const auto it = held.find(id);
    if (it != held.end()) {
      index.erase(id, it->second);
      held.erase(it);
    } else if (held.size() < kSlots) {
      index.insert(id, next_slot);
      held.emplace(id, next_slot++);
    }
    ASSERT_EQ(index.size(), held.size());
    for (RequestId probe = 0; probe < 200; probe += 7) {
      const auto h = held.find(probe);
      ASSERT_EQ(index.find(probe), h == held.end() ? RequestIndex::kAbsent : h->second) << "step " << step;
    }
  }
}

TEST(RequestIndex, InsertingAHeldIdIsABug) {
  RequestIndex index(2);
  index.insert(5, 0);
  EXPECT_DEATH(index.insert(5, 1), "FAILOVER_ASSERT");
}

TEST(RequestIndex, ErasingAnIdNotHeldIsABug) {
  RequestIndex index(2);
  index.insert(5, 0);
  EXPECT_DEATH(index.erase(6, 0), "FAILOVER_ASSERT");
  EXPECT_DEATH(index.erase(5, 1), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover
