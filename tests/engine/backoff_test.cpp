#include "core/engine/backoff.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace failover {
namespace {

RetryPolicy policy(Backoff kind) {
  RetryPolicy p;
  p.backoff = kind;
  p.backoff_base = ms(100);
  p.backoff_max = sec(2);
  return p;
}

constexpr int kSamples = 2'000;

TEST(Backoff, FullJitterStaysWithinZeroAndTheCappedExponential) {
  const RetryPolicy p = policy(Backoff::full_jitter);
  Prng prng(7);
  for (std::int32_t retry = 1; retry <= 12; ++retry) {
    // min(cap, base * 2^(retry-1)): 100, 200, 400, 800, 1600 ms, then the 2 s cap.
    std::int64_t ceiling = to_us(p.backoff_base);
    for (std::int32_t i = 1; i < retry; ++i) ceiling = std::min(ceiling * 2, to_us(p.backoff_max));
    std::int64_t lo = ceiling;
    std::int64_t hi = 0;
    for (int i = 0; i < kSamples; ++i) {
      const std::int64_t d = to_us(backoff_delay(p, retry, Duration{0}, prng));
      ASSERT_GE(d, 0) << "retry " << retry;
      ASSERT_LE(d, ceiling) << "retry " << retry;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter spreads over the whole interval, not a fixed fraction of it.
    EXPECT_LT(lo, ceiling / 20) << "retry " << retry;
    EXPECT_GT(hi, ceiling - ceiling / 20) << "retry " << retry;
  }
}

TEST(Backoff, FullJitterOfTheFirstRetryIsBoundedByTheBase) {
  const RetryPolicy p = policy(Backoff::full_jitter);
  Prng prng(3);
  for (int i = 0; i < kSamples; ++i) {
    EXPECT_LE(backoff_delay(p, 1, Duration{0}, prng), p.backoff_base);
  }
}

TEST(Backoff, FullJitterOfAVeryLateRetryStaysAtTheCap) {
  const RetryPolicy p = policy(Backoff::full_jitter);
  Prng prng(5);
  for (int i = 0; i < kSamples; ++i) {
    EXPECT_LE(backoff_delay(p, 1'000, Duration{0}, prng), p.backoff_max);
  }
}

TEST(Backoff, DecorrelatedJitterStaysWithinBaseAndThreeTimesThePreviousSleep) {
  const RetryPolicy p = policy(Backoff::decorrelated_jitter);
  Prng prng(11);
  Duration previous{0};
  for (int i = 0; i < kSamples; ++i) {
    const std::int64_t prev = std::max(to_us(p.backoff_base), to_us(previous));
    const std::int64_t hi = std::min(to_us(p.backoff_max), 3 * prev);
    const Duration d = backoff_delay(p, 1 + i % 8, previous, prng);
    ASSERT_GE(to_us(d), to_us(p.backoff_base));
    ASSERT_LE(to_us(d), hi);
    previous = i % 50 == 49 ? Duration{0} : d;  // restart the chain now and then
  }
}

TEST(Backoff, DecorrelatedJitterNearTheCapSpreadsUpToItButNeverPassesIt) {
  const RetryPolicy p = policy(Backoff::decorrelated_jitter);
  Prng prng(13);
  std::int64_t hi = 0;
  for (int i = 0; i < kSamples; ++i) {
    const Duration d = backoff_delay(p, 5, sec(10), prng);  // 3 x 10 s is far past the cap
    ASSERT_LE(d, p.backoff_max);
    ASSERT_GE(d, p.backoff_base);
    hi = std::max(hi, to_us(d));
  }
  EXPECT_GT(hi, to_us(p.backoff_max) * 95 / 100);
}

TEST(Backoff, NoneNeverSleeps) {
  RetryPolicy p = policy(Backoff::none);
  Prng prng(1);
  for (std::int32_t retry = 1; retry < 10; ++retry) EXPECT_EQ(backoff_delay(p, retry, sec(1), prng), Duration{0});
}

TEST(Backoff, TheSameSeedGivesTheSameSleeps) {
  for (const Backoff kind : {Backoff::full_jitter, Backoff::decorrelated_jitter}) {
    const RetryPolicy p = policy(kind);
    Prng a(42);
    Prng b(42);
    Prng c(43);
    std::vector<std::int64_t> first;
    std::vector<std::int64_t> second;
    std::vector<std::int64_t> other;
    Duration pa{0};
    Duration pb{0};
    Duration pc{0};
    for (int i = 0; i < 200; ++i) {
      pa = backoff_delay(p, 1 + i % 6, pa, a);
      pb = backoff_delay(p, 1 + i % 6, pb, b);
      pc = backoff_delay(p, 1 + i % 6, pc, c);
      first.push_back(to_us(pa));
      second.push_back(to_us(pb));
      other.push_back(to_us(pc));
    }
    EXPECT_EQ(first, second);
    EXPECT_NE(first, other);
  }
}

}  // namespace
}  // namespace failover
