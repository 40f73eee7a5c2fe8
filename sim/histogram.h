// Histogram: a latency histogram whose memory does not grow with the run (a fixed
// array of log-linear buckets, as in HdrHistogram), so a 24-hour replay keeps
// percentiles without keeping every latency. It decides bucketing and the percentile
// rule; which latencies are recorded, and per which series, is left to the metrics.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/engine/ratio.h"
#include "core/engine/time.h"

namespace failover::sim {

// Values 0..63 µs have a bucket each; above, each power of two [2^k, 2^(k+1)) is split
// into 64 equal sub-buckets, so a bucket's width is at most 1/64 (1.6%) of its lower
// bound. Values are clamped to [0, 1 h]; 1 h < 2^32 µs needs 26 major buckets.
class Histogram {
 public:
  static constexpr int kSubBucketBits = 6;
  static constexpr std::int64_t kSubBuckets = std::int64_t{1} << kSubBucketBits;
  static constexpr std::int64_t kValueMaxUs = 3'600'000'000;
  static constexpr std::size_t kBuckets = 27 * kSubBuckets;  // 64 exact + 26 x 64

  // Counts one latency; negative values are a bug, values above 1 h count as 1 h
  // (and in clamped()).
  void record(Duration latency) noexcept;
  // Adds every count of `other`, as if its values had been recorded here.
  void merge(const Histogram& other) noexcept;

  [[nodiscard]] std::int64_t count() const noexcept { return count_; }
  [[nodiscard]] std::int64_t clamped() const noexcept { return clamped_; }
  // Exact minimum and maximum recorded (after clamping); 0 when empty.
  [[nodiscard]] Duration min() const noexcept;
  [[nodiscard]] Duration max() const noexcept;
  // Exact mean of the recorded (clamped) values, rounded down; 0 when empty.
  [[nodiscard]] std::int64_t mean_us() const noexcept;
  // The nearest-rank percentile q (rank = ceil(q x count), at least 1): the upper bound
  // of the bucket holding that rank, but never above max(). An over-estimate by less
  // than 1/64 of the value, and exact below 64 µs. 0 when empty.
  [[nodiscard]] Duration percentile(Ratio q) const noexcept;
  // The count in bucket i; for tests and report writers.
  [[nodiscard]] std::int64_t bucket_count(std::size_t i) const noexcept;

  // The bucket of a value in [0, kValueMaxUs], and the largest value of a bucket (for
  // the last bucket, beyond kValueMaxUs).
  static std::size_t bucket_of(std::int64_t value_us) noexcept;
  static std::int64_t bucket_upper_us(std::size_t bucket) noexcept;

 private:
  std::array<std::int64_t, kBuckets> counts_{};
  std::int64_t count_ = 0;
  std::int64_t clamped_ = 0;
  std::int64_t sum_us_ = 0;
  std::int64_t min_us_ = kValueMaxUs;
  std::int64_t max_us_ = 0;
};

}  // namespace failover::sim
