#include "sim/trace.h"

#include <gtest/gtest.h>

#include "core/engine/prng.h"

namespace failover::sim {
namespace {

TraceDigest digest_of(const std::vector<TraceEvent>& events, TraceRecorder* recorder = nullptr) {
  TraceDigest d(recorder);
  for (const TraceEvent& e : events) d.add(e.at, e.kind, e.a, e.b);
  return d;
}

const std::vector<TraceEvent> kTrace = {
    {0, at_us(0), 1, 10, 0},
    {1, at_us(25'000), 2, 10, 3},
    {2, at_us(25'000), 3, 11, 503},
    {3, at_us(90'000), 1, 12, 0},
};

TEST(TraceDigest, SameEventsGiveTheSameDigest) {
  EXPECT_EQ(digest_of(kTrace).value(), digest_of(kTrace).value());
  EXPECT_EQ(digest_of(kTrace).events(), 4U);
}

TEST(TraceDigest, EveryFieldAndTheOrderMatter) {
  const std::uint64_t base = digest_of(kTrace).value();
  auto changed = kTrace;
  changed[2].b = 502;
  EXPECT_NE(digest_of(changed).value(), base);
  changed = kTrace;
  changed[1].kind = 4;
  EXPECT_NE(digest_of(changed).value(), base);
  changed = kTrace;
  changed[3].at = at_us(90'001);
  EXPECT_NE(digest_of(changed).value(), base);
  changed = kTrace;
  std::swap(changed[1], changed[2]);  // same time: only the order differs
  EXPECT_NE(digest_of(changed).value(), base);
  changed = kTrace;
  changed.pop_back();
  EXPECT_NE(digest_of(changed).value(), base);
}

TEST(TraceDigest, GoldenValuesCatchAnyChangeOfTheHash) {
  // mix64 is splitmix64's output function: seeded with 0, splitmix64's first output is
  // the published 0xe220a8397b1dcdaf.
  EXPECT_EQ(mix64(0x9e3779b97f4a7c15ULL), 0xe220a8397b1dcdafULL);
  std::uint64_t state = 0;
  EXPECT_EQ(mix64(0x9e3779b97f4a7c15ULL), splitmix64(state));
  EXPECT_EQ(mix64(0), 0U);
  EXPECT_EQ(mix64(1), 6'238'072'747'940'578'789ULL);
  EXPECT_EQ(event_hash(kTrace[0]), 11'771'688'332'209'470'816ULL);
  EXPECT_EQ(digest_of(kTrace).value(), 12'327'576'063'120'926'341ULL);
  EXPECT_EQ(digest_of(kTrace).hex(), "ab14591d77ee6685");
  EXPECT_EQ(TraceDigest{}.value(), 0U);
}

TEST(TraceDigest, HexIsSixteenLowerCaseDigits) {
  EXPECT_EQ(to_hex16(0x0123456789abcdefULL), "0123456789abcdef");
  EXPECT_EQ(to_hex16(0), "0000000000000000");
  EXPECT_EQ(to_hex16(~0ULL), "ffffffffffffffff");
}

TEST(TraceRecorder, IdenticalRunsHaveNoDivergence) {
  TraceRecorder left(100);
  TraceRecorder right(100);
  (void)digest_of(kTrace, &left);
  (void)digest_of(kTrace, &right);
  EXPECT_FALSE(first_divergence(left, right).has_value());
  EXPECT_EQ(left.events(), kTrace);
}

TEST(TraceRecorder, NamesTheFirstDivergingEvent) {
  auto changed = kTrace;
  changed[2].b = 200;
  changed[3].kind = 9;
  TraceRecorder left(100);
  TraceRecorder right(100);
  (void)digest_of(kTrace, &left);
  (void)digest_of(changed, &right);
  const auto d = first_divergence(left, right);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->index, 2U);
  ASSERT_TRUE(d->left && d->right);
  EXPECT_EQ(d->left->at, at_us(25'000));
  EXPECT_EQ(d->left->b, 503U);
  EXPECT_EQ(d->right->b, 200U);
}

TEST(TraceRecorder, AShorterTraceDivergesWhereItEnds) {
  auto shorter = kTrace;
  shorter.pop_back();
  TraceRecorder left(100);
  TraceRecorder right(100);
  (void)digest_of(kTrace, &left);
  (void)digest_of(shorter, &right);
  const auto d = first_divergence(left, right);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->index, 3U);
  ASSERT_TRUE(d->left.has_value());
  EXPECT_EQ(d->left->at, at_us(90'000));
  EXPECT_FALSE(d->right.has_value());
}

TEST(TraceRecorder, KeepsAtMostItsLimitAndCountsTheRest) {
  TraceRecorder left(2);
  TraceRecorder right(2);
  (void)digest_of(kTrace, &left);
  auto shorter = kTrace;
  shorter.pop_back();
  (void)digest_of(shorter, &right);
  EXPECT_EQ(left.events().size(), 2U);
  EXPECT_EQ(left.seen(), 4U);
  EXPECT_TRUE(left.truncated());
  // Equal within the kept window, different lengths: reported at the window's end.
  const auto d = first_divergence(left, right);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->index, 2U);
  EXPECT_FALSE(d->left.has_value());
}

TEST(TraceDigestDeathTest, TimeGoingBackwardsAborts) {
  TraceDigest d;
  d.add(at_us(10), 1, 0, 0);
  EXPECT_DEATH(d.add(at_us(9), 1, 0, 0), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
