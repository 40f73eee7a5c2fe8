#include "sim/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "core/engine/prng.h"
#include "sim/distribution.h"

namespace failover::sim {
namespace {

constexpr Ratio kP50{50, 100};
constexpr Ratio kP99{99, 100};

TEST(Histogram, EmptyReportsZeroes) {
  const Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.percentile(kP50), Duration{0});
  EXPECT_EQ(h.min(), Duration{0});
  EXPECT_EQ(h.max(), Duration{0});
  EXPECT_EQ(h.mean_us(), 0);
}

TEST(Histogram, ValuesBelowSixtyFourMicrosecondsAreExact) {
  Histogram h;
  for (std::int64_t v = 1; v <= 63; ++v) h.record(us(v));
  EXPECT_EQ(h.count(), 63);
  EXPECT_EQ(h.percentile(kP50), us(32));  // rank ceil(31.5) = 32
  EXPECT_EQ(h.percentile(Ratio{1, 63}), us(1));
  EXPECT_EQ(h.percentile(kRatioOne), us(63));
  EXPECT_EQ(h.mean_us(), 32);
}

TEST(Histogram, PercentileIsTheUpperBoundOfTheRanksBucketCappedAtMax) {
  Histogram h;
  for (const std::int64_t v : {100, 200, 300, 400, 500}) h.record(us(v));
  // 300 lies in [300, 303] (width 4 above 256); 100 < 128 is exact; 500 is the max.
  EXPECT_EQ(h.percentile(kP50), us(303));
  EXPECT_EQ(h.percentile(kRatioZero), us(100));
  EXPECT_EQ(h.percentile(Ratio{1, 5}), us(100));
  EXPECT_EQ(h.percentile(Ratio{21, 100}), us(201));  // rank 2: 200 lies in [200, 201] (width 2 above 128)
  EXPECT_EQ(h.percentile(kRatioOne), us(500));
  EXPECT_EQ(h.min(), us(100));
  EXPECT_EQ(h.max(), us(500));
  EXPECT_EQ(h.mean_us(), 300);
}

TEST(Histogram, EveryValueFallsInABucketWithinOneSixtyFourthOfIt) {
  std::vector<std::int64_t> values;
  for (std::int64_t v = 0; v < (1 << 16); ++v) values.push_back(v);
  Prng prng(11);
  for (int i = 0; i < 100'000; ++i) values.push_back(prng.range(0, Histogram::kValueMaxUs));
  values.push_back(Histogram::kValueMaxUs);
  for (const std::int64_t v : values) {
    const std::size_t b = Histogram::bucket_of(v);
    const std::int64_t upper = Histogram::bucket_upper_us(b);
    ASSERT_GE(upper, v);
    ASSERT_LE((upper - v) * 64, std::max<std::int64_t>(v, 1)) << v;
    if (upper < Histogram::kValueMaxUs) {  // the last bucket reaches past 1 h
      ASSERT_EQ(Histogram::bucket_of(upper), b);
      ASSERT_EQ(Histogram::bucket_of(upper + 1), b + 1);
    }
  }
  EXPECT_LT(Histogram::bucket_of(Histogram::kValueMaxUs), Histogram::kBuckets);
}

TEST(Histogram, LargeLognormalSetKeepsPercentilesWithinTwoPercent) {
  Prng prng(12);
  const LatencyDist dist = LatencyDist::lognormal(ms(300), sec(6));
  auto h = std::make_unique<Histogram>();
  std::vector<std::int64_t> exact;
  for (int i = 0; i < 200'000; ++i) {
    const Duration d = dist.sample(prng);
    h->record(d);
    exact.push_back(to_us(d));
  }
  std::sort(exact.begin(), exact.end());
  for (const Ratio q : {Ratio{50, 100}, Ratio{90, 100}, Ratio{99, 100}, Ratio{999, 1000}}) {
    const auto rank = static_cast<std::size_t>((q.num * 200'000 + q.den - 1) / q.den);
    const std::int64_t truth = exact[rank - 1];
    const std::int64_t got = to_us(h->percentile(q));
    EXPECT_GE(got, truth);
    EXPECT_LE(got - truth, truth / 50) << q.num << "/" << q.den;
  }
  EXPECT_EQ(to_us(h->max()), exact.back());
  EXPECT_EQ(to_us(h->min()), exact.front());
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  Prng prng(13);
  auto a = std::make_unique<Histogram>();
  auto b = std::make_unique<Histogram>();
  auto both = std::make_unique<Histogram>();
  for (int i = 0; i < 10'000; ++i) {
    const Duration d = us(prng.range(0, 10'000'000));
    (i % 3 == 0 ? *a : *b).record(d);
    both->record(d);
  }
  a->merge(*b);
  EXPECT_EQ(a->count(), both->count());
  EXPECT_EQ(a->mean_us(), both->mean_us());
  EXPECT_EQ(a->min(), both->min());
  EXPECT_EQ(a->max(), both->max());
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) ASSERT_EQ(a->bucket_count(i), both->bucket_count(i));
  EXPECT_EQ(a->percentile(kP99), both->percentile(kP99));
}

TEST(Histogram, ValuesAboveOneHourCountAsOneHour) {
  Histogram h;
  h.record(minutes(120));
  h.record(ms(5));
  EXPECT_EQ(h.clamped(), 1);
  EXPECT_EQ(h.max(), minutes(60));
  EXPECT_EQ(h.percentile(kRatioOne), minutes(60));
}

TEST(HistogramDeathTest, NegativeLatencyAborts) {
  Histogram h;
  EXPECT_DEATH(h.record(us(-1)), "FAILOVER_ASSERT");
}

}  // namespace
}  // namespace failover::sim
