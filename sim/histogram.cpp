#include "sim/histogram.h"

#include <algorithm>
#include <bit>

#include "core/engine/assert.h"

namespace failover::sim {

static_assert(Histogram::kValueMaxUs < (std::int64_t{1} << 32), "1 h fits in 32 bits of µs");
static_assert(Histogram::kBuckets == 27 * 64, "64 exact buckets + 26 powers of two x 64");

std::size_t Histogram::bucket_of(std::int64_t value_us) noexcept {
  FAILOVER_ASSERT(value_us >= 0);
  FAILOVER_ASSERT(value_us <= kValueMaxUs);
  if (value_us < kSubBuckets) return static_cast<std::size_t>(value_us);
  const auto v = static_cast<std::uint64_t>(value_us);
  const int magnitude = static_cast<int>(std::bit_width(v)) - 1;  // >= kSubBucketBits
  const int shift = magnitude - kSubBucketBits;
  const auto sub = static_cast<std::size_t>((v >> shift) - static_cast<std::uint64_t>(kSubBuckets));
  const std::size_t bucket = static_cast<std::size_t>(shift + 1) * static_cast<std::size_t>(kSubBuckets) + sub;
  FAILOVER_ASSERT(bucket < kBuckets);
  return bucket;
}

std::int64_t Histogram::bucket_upper_us(std::size_t bucket) noexcept {
  FAILOVER_ASSERT(bucket < kBuckets);
  const auto subs = static_cast<std::size_t>(kSubBuckets);
  if (bucket < subs) return static_cast<std::int64_t>(bucket);
  const auto shift = static_cast<int>(bucket / subs) - 1;
  const auto sub = static_cast<std::int64_t>(bucket % subs);
  const std::int64_t lower = (kSubBuckets + sub) << shift;
  const std::int64_t upper = lower + (std::int64_t{1} << shift) - 1;
  FAILOVER_ASSERT(upper >= lower);
  return upper;
}

void Histogram::record(Duration latency) noexcept {
  std::int64_t v = to_us(latency);
  FAILOVER_ASSERT(v >= 0);
  if (v > kValueMaxUs) {
    v = kValueMaxUs;
    ++clamped_;
  }
  ++counts_[bucket_of(v)];
  ++count_;
  sum_us_ += v;
  min_us_ = std::min(min_us_, v);
  max_us_ = std::max(max_us_, v);
  FAILOVER_ASSERT(sum_us_ >= 0);  // 2.5e9 records of 1 h before overflow
}

void Histogram::merge(const Histogram& other) noexcept {
  FAILOVER_ASSERT(&other != this);
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  clamped_ += other.clamped_;
  sum_us_ += other.sum_us_;
  min_us_ = std::min(min_us_, other.min_us_);
  max_us_ = std::max(max_us_, other.max_us_);
  FAILOVER_ASSERT(sum_us_ >= 0);
}

Duration Histogram::min() const noexcept {
  return us(count_ == 0 ? 0 : min_us_);
}

Duration Histogram::max() const noexcept {
  return us(max_us_);
}

std::int64_t Histogram::mean_us() const noexcept {
  FAILOVER_ASSERT(count_ >= 0);
  return count_ == 0 ? 0 : sum_us_ / count_;
}

Duration Histogram::percentile(Ratio q) const noexcept {
  FAILOVER_ASSERT(q.valid());
  FAILOVER_ASSERT(q.den <= 1'000'000'000);  // q.num x count_ stays below 2^63
  if (count_ == 0) return Duration{0};
  const std::int64_t rank = std::max<std::int64_t>(1, (q.num * count_ + q.den - 1) / q.den);
  std::int64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return us(std::min(bucket_upper_us(i), max_us_));
  }
  FAILOVER_ASSERT(false);  // rank <= count_ == sum of the buckets
  return Duration{0};
}

std::int64_t Histogram::bucket_count(std::size_t i) const noexcept {
  FAILOVER_ASSERT(i < kBuckets);
  return counts_[i];
}

}  // namespace failover::sim
