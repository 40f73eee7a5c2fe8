#include "sim/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "tests/sim/report_test_support.h"

namespace failover::sim {
namespace {

using testing::well_formed_json;

TEST(JsonWriter, BlockContainersPutOneMemberOnALineIndentedByDepth) {
  JsonWriter j;
  j.open("", '{');
  j.text("format", "x/1");
  j.open("list", '[');
  j.integer("", 1);
  j.open("", '{');
  j.boolean("ok", true);
  j.close('}');
  j.close(']');
  j.close('}');
  EXPECT_EQ(j.finish(), "{\n  \"format\": \"x/1\",\n  \"list\": [\n    1,\n    {\n      \"ok\": true\n    }\n  ]\n}\n");
}

TEST(JsonWriter, InlineContainersPutEveryMemberOnOneLine) {
  JsonWriter j;
  j.open("", '{');
  j.open_inline("run", '{');
  j.integer("seed", std::uint64_t{18'446'744'073'709'551'615U});
  j.open_inline("latency", '{');
  j.real("p50", 1.5, 3);
  j.close('}');
  j.integers("trips", std::vector<std::int64_t>{3, -1});
  j.close('}');
  j.close('}');
  const std::string doc = j.finish();
  EXPECT_EQ(doc,
            "{\n  \"run\": {\"seed\": 18446744073709551615, \"latency\": {\"p50\": 1.500}, \"trips\": [3, -1]}\n}\n");
  EXPECT_TRUE(well_formed_json(doc));
}

TEST(JsonWriter, ABlockListInsideAnInlineObjectHangsAndClosesOnItsLastLine) {
  JsonWriter j;
  j.open("", '[');
  j.open_inline("", '{');
  j.integer("point", 0);
  j.open("runs", '[');
  j.open_inline("", '{');
  j.integer("seed", 1);
  j.close('}');
  j.open_inline("", '{');
  j.integer("seed", 2);
  j.close('}');
  j.close(']');
  j.close('}');
  j.close(']');
  const std::string doc = j.finish();
  EXPECT_EQ(doc, "[\n  {\"point\": 0, \"runs\": [\n    {\"seed\": 1},\n    {\"seed\": 2}]}\n]\n");
  EXPECT_TRUE(well_formed_json(doc));
}

TEST(JsonWriter, EmptyContainersCloseAtOnceInEitherLayout) {
  JsonWriter j;
  j.open("", '{');
  j.open("block", '[');
  j.close(']');
  j.open_inline("inline", '{');
  j.close('}');
  j.integers("none", std::vector<std::int64_t>{});
  j.close('}');
  EXPECT_EQ(j.finish(), "{\n  \"block\": [],\n  \"inline\": {},\n  \"none\": []\n}\n");
}

TEST(JsonWriter, WhatIsMissingOrNotFiniteIsNullAndNegativeZeroIsZero) {
  JsonWriter j;
  j.open_inline("", '[');
  j.real("", std::nullopt, 2);
  j.real("", std::numeric_limits<double>::infinity(), 2);
  j.real("", std::numeric_limits<double>::quiet_NaN(), 2);
  j.real("", -0.0001, 2);
  j.real("", 2.0 / 3.0, 4);
  j.raw("", "1.250000");
  j.close(']');
  EXPECT_EQ(j.finish(), "[null, null, null, 0.00, 0.6667, 1.250000]\n");
}

TEST(JsonWriter, EscapesKeysAndStrings) {
  JsonWriter j;
  j.open_inline("", '{');
  j.text("a\"b", "line\nbreak \\ \x01 caf\xc3\xa9");
  j.close('}');
  const std::string doc = j.finish();
  EXPECT_EQ(doc, "{\"a\\\"b\": \"line\\u000abreak \\\\ \\u0001 caf\xc3\xa9\"}\n");
  EXPECT_TRUE(well_formed_json(doc));
}

TEST(JsonWriter, AValueWrittenAtADepthSplicesIntoTheDocumentAsIfWrittenThere) {
  const auto member = [](JsonWriter& j) {
    j.open("", '{');
    j.text("name", "a");
    j.open("runs", '[');
    j.open_inline("", '{');
    j.integer("seed", 1);
    j.close('}');
    j.close(']');
    j.close('}');
  };
  JsonWriter whole;
  whole.open("", '{');
  whole.open("scenarios", '[');
  member(whole);
  member(whole);
  whole.close(']');
  whole.close('}');

  JsonWriter spliced;
  spliced.open("", '{');
  spliced.open("scenarios", '[');
  for (int i = 0; i < 2; ++i) {
    JsonWriter part(2);
    member(part);
    spliced.raw("", part.value());
  }
  spliced.close(']');
  spliced.close('}');
  const std::string doc = whole.finish();
  EXPECT_EQ(spliced.finish(), doc);
  EXPECT_TRUE(well_formed_json(doc));
}

}  // namespace
}  // namespace failover::sim
