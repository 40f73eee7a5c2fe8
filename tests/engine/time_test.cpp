#include "core/engine/time.h"

#include <gtest/gtest.h>

#include <limits>

namespace failover {
namespace {

TEST(DurationText, SpellsADurationAsConfigFilesDo) {
  EXPECT_EQ(duration_text(minutes(90)), "1h30m");
  EXPECT_EQ(duration_text(sec(90)), "1m30s");
  EXPECT_EQ(duration_text(ms(250)), "250ms");
  EXPECT_EQ(duration_text(minutes(60)), "1h");
  EXPECT_EQ(duration_text(us(1'001)), "1ms1us");
  EXPECT_EQ(duration_text(Duration{0}), "0");
}

TEST(DurationText, ANegativeDurationKeepsItsSign) {
  EXPECT_EQ(duration_text(sec(-1)), "-1s");
  EXPECT_EQ(duration_text(ms(-1'500)), "-1s500ms");
  EXPECT_EQ(duration_text(Duration{std::numeric_limits<std::int64_t>::min()}), "-2562047788h54s775ms808us");
}

}  // namespace
}  // namespace failover
