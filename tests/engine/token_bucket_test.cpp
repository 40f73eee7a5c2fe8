#include "core/engine/token_bucket.h"

#include <gtest/gtest.h>

namespace failover {
namespace {

TEST(TokenBucket, StartsFullAndGivesOutExactlyItsCapacity) {
  TokenBucket b(3, 60, minutes(1));
  EXPECT_EQ(b.level_milli(), 3'000);
  EXPECT_TRUE(b.try_take(1));
  EXPECT_TRUE(b.try_take(2));
  EXPECT_FALSE(b.try_take(1));
  EXPECT_FALSE(b.has(1));
  EXPECT_EQ(b.level_milli(), 0);
}

TEST(TokenBucket, ARefusedTakeLeavesTheLevelUntouched) {
  TokenBucket b(5, 1, sec(1));
  EXPECT_FALSE(b.try_take(6));
  EXPECT_EQ(b.level_milli(), 5'000);
}

TEST(TokenBucket, RefillsContinuouslyAtItsRate) {
  TokenBucket b(10, 60, minutes(1));  // one token per second
  ASSERT_TRUE(b.try_take(10));
  b.advance(kTimeZero + ms(500));
  EXPECT_EQ(b.level_milli(), 500);
  EXPECT_FALSE(b.has(1));
  b.advance(kTimeZero + ms(1'000));
  EXPECT_EQ(b.level_milli(), 1'000);
  EXPECT_TRUE(b.try_take(1));
}

TEST(TokenBucket, CarriesTheRemainderSoNoFractionIsLost) {
  TokenBucket b(10, 1, sec(3));  // one token per three seconds: 333.33 milli per second
  ASSERT_TRUE(b.try_take(10));
  b.advance(kTimeZero + sec(1));
  EXPECT_EQ(b.level_milli(), 333);
  b.advance(kTimeZero + sec(2));
  EXPECT_EQ(b.level_milli(), 666);
  b.advance(kTimeZero + sec(3));
  EXPECT_EQ(b.level_milli(), 1'000);
}

TEST(TokenBucket, NeverFillsPastItsCapacity) {
  TokenBucket b(2, 100, sec(1));
  ASSERT_TRUE(b.try_take(1));
  b.advance(kTimeZero + minutes(10));
  EXPECT_EQ(b.level_milli(), 2'000);
  b.deposit_milli(5'000);
  EXPECT_EQ(b.level_milli(), 2'000);
}

TEST(TokenBucket, DepositsAddMilliTokens) {
  TokenBucket b(100, 0, sec(1));
  ASSERT_TRUE(b.try_take(100));
  for (int i = 0; i < 4; ++i) b.deposit_milli(200);  // four requests at a 20% budget ratio
  EXPECT_EQ(b.level_milli(), 800);
  EXPECT_FALSE(b.has(1));
  b.deposit_milli(200);
  EXPECT_TRUE(b.try_take(1));
}

TEST(TokenBucket, IgnoresTimeThatDoesNotMoveForward) {
  TokenBucket b(10, 10, sec(1));
  ASSERT_TRUE(b.try_take(10));
  b.advance(kTimeZero + sec(1));
  ASSERT_EQ(b.level_milli(), 10'000);
  ASSERT_TRUE(b.try_take(10));
  b.advance(kTimeZero + sec(1));
  b.advance(kTimeZero + ms(500));
  EXPECT_EQ(b.level_milli(), 0);
}

TEST(TokenBucket, SaysWhenTokensWillBeAvailable) {
  TokenBucket b(2, 2, minutes(1));  // one token per 30 s
  const Time t0 = kTimeZero;
  EXPECT_EQ(b.available_at(t0, 1), t0);
  ASSERT_TRUE(b.try_take(2));
  EXPECT_EQ(b.available_at(t0, 1), t0 + sec(30));
  EXPECT_EQ(b.available_at(t0, 2), t0 + sec(60));
  EXPECT_EQ(b.available_at(t0, 3), kTimeNever);  // more than it can ever hold
  b.advance(t0 + sec(30));
  EXPECT_TRUE(b.has(1));
  EXPECT_EQ(b.available_at(t0 + sec(30), 1), t0 + sec(30));
}

TEST(TokenBucket, AvailabilityCountsTheRemainderAlreadyCarried) {
  TokenBucket b(2, 2, minutes(1));  // 2,000 milli-tokens a minute: one token per 30 s
  ASSERT_TRUE(b.try_take(2));
  b.advance(kTimeZero + ms(1));  // 2 milli-token-ms carried, not yet a whole milli-token
  ASSERT_EQ(b.level_milli(), 0);
  const Time at = b.available_at(kTimeZero + ms(1), 1);
  EXPECT_EQ(at, kTimeZero + sec(30));
  b.advance(at - us(1));
  EXPECT_FALSE(b.has(1));
  b.advance(at);
  EXPECT_TRUE(b.has(1));
}

TEST(TokenBucket, AvailabilityIsCountedFromTheLastRefillNotFromTheQuestion) {
  TokenBucket b(2, 2, minutes(1));
  ASSERT_TRUE(b.try_take(2));
  // Not advanced since 0: asked at 10 s, the token still comes at 30 s.
  EXPECT_EQ(b.available_at(kTimeZero + sec(10), 1), kTimeZero + sec(30));
  // Asked after it came (still not advanced): now.
  EXPECT_EQ(b.available_at(kTimeZero + sec(40), 1), kTimeZero + sec(40));
}

TEST(TokenBucket, WithoutRefillTokensNeverComeBackByThemselves) {
  TokenBucket b(1, 0, sec(1));
  ASSERT_TRUE(b.try_take(1));
  EXPECT_EQ(b.available_at(kTimeZero, 1), kTimeNever);
  b.advance(kTimeZero + minutes(60));
  EXPECT_FALSE(b.has(1));
}

TEST(TokenBucket, ADisabledBucketAlwaysHasTokens) {
  TokenBucket b;
  EXPECT_FALSE(b.enabled());
  EXPECT_TRUE(b.has(1'000'000));
  EXPECT_TRUE(b.try_take(1'000'000));
  EXPECT_EQ(b.available_at(kTimeZero + sec(5), 1'000'000), kTimeZero + sec(5));
}

}  // namespace
}  // namespace failover
