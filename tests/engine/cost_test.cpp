#include "core/engine/cost.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace failover {
namespace {

ModelConfig priced(std::int64_t input_per_mtok, std::int64_t output_per_mtok) {
  ModelConfig m;
  m.id = "m";
  m.input_micro_usd_per_mtok = input_per_mtok;
  m.output_micro_usd_per_mtok = output_per_mtok;
  return m;
}

TEST(Cost, APriceIsRoundedUpToAWholeMicroDollar) {
  EXPECT_EQ(price_micro_usd(1'000, 3'000'000), 3'000);  // 1k tokens at $3/M
  EXPECT_EQ(price_micro_usd(1, 1), 1);                  // a millionth of a micro-dollar is one
  EXPECT_EQ(price_micro_usd(1'000'000, 1), 1);
  EXPECT_EQ(price_micro_usd(1'000'001, 1), 2);
  EXPECT_EQ(price_micro_usd(0, 15'000'000), 0);
}

TEST(Cost, InputAndOutputAreEachRoundedUp) {
  // Rounding the sum instead would give 1.
  EXPECT_EQ(call_cost_micro_usd(priced(1, 1), 1, 1), 2);
  EXPECT_EQ(call_cost_micro_usd(priced(3'000'000, 15'000'000), 1'000, 100), 4'500);
}

TEST(Cost, AProductPast64BitsIsStillExact) {
  // 2^40 tokens at 2^40 micro-USD per 1M tokens: the product needs 81 bits.
  constexpr std::int64_t kLarge = std::int64_t{1} << 40;
  EXPECT_EQ(price_micro_usd(kLarge, kLarge), 1'208'925'819'614'629'175);
  // Just past the 64-bit fast path's bound on the price.
  EXPECT_EQ(price_micro_usd(2'147'483'647, 2'147'483'648), 4'611'686'016'280);
}

}  // namespace
}  // namespace failover
