// The one TOML reader (core/config/toml_reader.h) by itself: every kind of error names
// the file, line:col and key path in one wording, only the first error is kept, and
// each value reads as its grammar says.
#include "core/config/toml_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/config/load.h"

namespace failover::config {
namespace {

toml::table parse(std::string_view text) {
  Result<toml::table> t = parse_toml(text, "r.toml");
  EXPECT_TRUE(t.has_value()) << t.error().message();
  return t.has_value() ? std::move(*t) : toml::table{};
}

void expect_error(const Reader& r, const std::string& where, const std::string& what) {
  ASSERT_TRUE(r.failed()) << "expected " << where << ": " << what;
  EXPECT_EQ(r.error().where, where) << r.error().message();
  EXPECT_EQ(r.error().what, what) << r.error().message();
}

constexpr RatioRule kExact{};
constexpr RatioRule kForValidate{.non_negative = false, .at_most_one = false, .exact = false};

TEST(TomlReader, UnknownKeyNamesItsPlaceAndWhatTheTableTakes) {
  const toml::table root = parse("[a]\nx = 1\ncolour = 2\n");
  Reader r("r.toml");
  EXPECT_FALSE(r.only_keys(*root["a"].as_table(), "a", {"x", "y"}));
  expect_error(r, "r.toml:3:1", "a.colour: unknown key; a takes: x, y");
}

TEST(TomlReader, UnknownKeyAtTheTopLevelAndAllowedExtras) {
  const toml::table root = parse("x = 1\nextra = 2\nsim = 3\n");
  Reader r("r.toml");
  r.explain_unknown_key("sim", "a sim table belongs in a scenario file");
  EXPECT_FALSE(r.only_keys(root, "", {"x"}, {"extra"}));
  expect_error(r, "r.toml:3:1", "sim: unknown key (a sim table belongs in a scenario file); the top level takes: x");
}

TEST(TomlReader, MissingKeyIsNamedAtItsTable) {
  const toml::table root = parse("x = 1\n[t]\ny = 2\n");
  Reader r("r.toml");
  EXPECT_TRUE(r.require(root, "x", ""));
  EXPECT_FALSE(r.require(*root["t"].as_table(), "z", "t"));
  expect_error(r, "r.toml:2:1", "t.z: is required but missing");
}

TEST(TomlReader, WrongTypeNamesWhatWasExpectedAndWhatCame) {
  const toml::table root = parse("[t]\nn = \"five\"\n");
  Reader r("r.toml");
  EXPECT_EQ(r.integer(*root["t"].as_table(), "n", "t"), std::nullopt);
  expect_error(r, "r.toml:2:5", "t.n: expected an integer but got a string");
}

TEST(TomlReader, IntegerOutOfRangeNamesTheRangeAndTheValue) {
  const toml::table root = parse("n = -5\nbig = 3000000000\n");
  Reader r("r.toml");
  EXPECT_EQ(r.integer(root, "n", "", 0, 100), std::nullopt);
  expect_error(r, "r.toml:1:5", "n: must be between 0 and 100 but is -5");
  Reader wide("r.toml");
  std::int32_t out = 7;
  wide.read(root, "big", "", out);
  EXPECT_EQ(out, 7);  // left as it was
  expect_error(wide, "r.toml:2:7", "big: must be between -2147483648 and 2147483647 but is 3000000000");
}

TEST(TomlReader, AnAbsentKeyIsNoError) {
  const toml::table root = parse("x = 1\n");
  Reader r("r.toml");
  EXPECT_EQ(r.text(root, "name", ""), std::nullopt);
  EXPECT_EQ(r.table(root, "t", ""), nullptr);
  std::int64_t out = 9;
  r.read(root, "y", "", out);
  EXPECT_EQ(out, 9);
  EXPECT_FALSE(r.failed());
}

TEST(TomlReader, KeepsOnlyTheFirstErrorAndReadsNothingAfterIt) {
  const toml::table root = parse("a = \"x\"\nb = \"y\"\nc = 3\n");
  Reader r("r.toml");
  EXPECT_EQ(r.integer(root, "a", ""), std::nullopt);
  EXPECT_EQ(r.integer(root, "b", ""), std::nullopt);
  EXPECT_EQ(r.integer(root, "c", ""), std::nullopt);  // valid, but read after an error
  expect_error(r, "r.toml:1:5", "a: expected an integer but got a string");
}

TEST(TomlReader, DurationsSayWhatIsWrongWithTheText) {
  const toml::table root = parse("a = \"1h30m\"\nb = \"5 minutes\"\nc = \"-5s\"\nd = 30\n");
  Reader r("r.toml");
  EXPECT_EQ(r.duration(root, "a", ""), minutes(90));
  EXPECT_EQ(r.duration(root, "b", ""), std::nullopt);
  expect_error(r, "r.toml:2:5", "b: \"5 minutes\" is not a duration like \"250ms\", \"30s\" or \"1h30m\"");
  Reader negative("r.toml");
  EXPECT_EQ(negative.duration(root, "c", ""), std::nullopt);
  expect_error(negative, "r.toml:3:5", "c: \"-5s\" must not be negative");
  Reader number("r.toml");
  EXPECT_EQ(number.duration(root, "d", ""), std::nullopt);
  expect_error(number, "r.toml:4:5", "d: expected a duration string such as \"30s\" or \"1h30m\" but got an integer");
}

TEST(TomlReader, RatiosAreExactWhenTheRuleSaysSo) {
  const toml::table root = parse("a = \"94%\"\nb = 0.2\nc = 0.1234567\nd = 1\n");
  Reader r("r.toml");
  EXPECT_EQ(r.ratio(root, "a", "", kExact), (Ratio{94, 100}));
  EXPECT_EQ(r.ratio(root, "b", "", kExact), (Ratio{2, 10}));
  EXPECT_EQ(r.ratio(root, "d", "", kExact), (Ratio{1, 1}));
  EXPECT_EQ(r.ratio(root, "c", "", kForValidate), (Ratio{123457, 1'000'000}));  // rounded
  EXPECT_EQ(r.ratio(root, "c", "", kExact), std::nullopt);
  expect_error(r, "r.toml:3:5", "c: has more than 6 decimals");
}

TEST(TomlReader, RatioRangeIsCheckedOrLeftToValidate) {
  const toml::table root = parse("over = \"150%\"\nunder = -1\nfloat = -0.5\n");
  Reader r("r.toml");
  EXPECT_EQ(r.ratio(root, "over", "", kForValidate), (Ratio{150, 100}));
  EXPECT_EQ(r.ratio(root, "under", "", kForValidate), (Ratio{-1, 1}));
  EXPECT_EQ(r.ratio(root, "float", "", kForValidate), (Ratio{-5, 10}));
  EXPECT_EQ(r.ratio(root, "over", "", RatioRule{.at_most_one = false}), (Ratio{150, 100}));
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.ratio(root, "over", "", kExact), std::nullopt);
  expect_error(r, "r.toml:1:8", "over: must be between 0% and 100%");
  Reader negative("r.toml");
  EXPECT_EQ(negative.ratio(root, "float", "", RatioRule{.at_most_one = false}), std::nullopt);
  expect_error(negative, "r.toml:3:9", "float: must not be negative");
}

// One rule for every ratio (issue 17): a bare number is a share in [0, 1]. A bare 110
// for a bound that may exceed 100% was read as 11,000% and could never fail.
TEST(TomlReader, ABareNumberAboveOneIsRefusedWithBothReadings) {
  const toml::table root = parse("cost = 110\navailability = 99.9\none = 1\n");
  Reader r("r.toml");
  EXPECT_EQ(r.ratio(root, "one", "", RatioRule{.at_most_one = false}), (Ratio{1, 1}));
  EXPECT_EQ(r.ratio(root, "cost", "", RatioRule{.at_most_one = false}), std::nullopt);
  expect_error(r, "r.toml:1:8",
               "cost: is above 1: a bare number is a share in [0, 1] (0.5 is 50%); write a "
               "percentage as a string, \"110%\" or \"11000%\"");
  Reader capped("r.toml");
  EXPECT_EQ(capped.ratio(root, "availability", "", kExact), std::nullopt);
  expect_error(capped, "r.toml:2:16",
               "availability: is above 1: a bare number is a share in [0, 1] (0.5 is 50%); "
               "write a percentage as a string, \"99.9%\" or \"9990%\"");
}

// A share below a millionth would round to 0 and silently turn its rule off.
TEST(TomlReader, AShareThatRoundsToNothingIsRefused) {
  const toml::table root = parse("tiny = 1e-300\nzero = 0.0\n");
  Reader r("r.toml");
  EXPECT_EQ(r.ratio(root, "zero", "", kForValidate), (Ratio{0, 1}));
  EXPECT_EQ(r.ratio(root, "tiny", "", kForValidate), std::nullopt);
  expect_error(r, "r.toml:1:8", "tiny: rounds to 0 at a millionth; write 0 to mean none");
}

TEST(TomlReader, RatioSpellingErrorsQuoteTheText) {
  const toml::table root = parse("a = \"94\"\nb = true\n");
  Reader r("r.toml");
  EXPECT_EQ(r.ratio(root, "a", "", kExact), std::nullopt);
  expect_error(r, "r.toml:1:5", "a: \"94\" is not a percentage like \"94%\" or \"99.5%\"");
  Reader type("r.toml");
  EXPECT_EQ(type.ratio(root, "b", "", kExact), std::nullopt);
  expect_error(type, "r.toml:2:5",
               "b: expected a percentage string such as \"94%\" or a number in [0, 1] but got a boolean");
}

enum class Colour { red, green };
constexpr Names<Colour, 2> kColours{{{"red", Colour::red}, {"green", Colour::green}}};

TEST(TomlReader, ChoiceListsTheNames) {
  const toml::table root = parse("a = \"green\"\nb = \"blue\"\nc = 1\n");
  Reader r("r.toml");
  EXPECT_EQ(r.choice(root, "a", "", kColours), Colour::green);
  EXPECT_EQ(r.choice(root, "b", "", kColours), std::nullopt);
  expect_error(r, "r.toml:2:5", "b: \"blue\" is not one of \"red\", \"green\"");
  Reader type("r.toml");
  EXPECT_EQ(type.choice(root, "c", "", kColours), std::nullopt);
  expect_error(type, "r.toml:3:5", "c: expected one of \"red\", \"green\" but got an integer");
}

TEST(TomlReader, ArrayElementsAreNamedByIndex) {
  const toml::table root = parse("[[item]]\nx = 1\n[[item]]\nx = 2\nlist = [1, \"two\"]\n");
  Reader r("r.toml");
  const toml::array* items = r.tables(root, "item", "");
  ASSERT_NE(items, nullptr);
  const toml::table* second = r.table_at(*items, 1, "item");
  ASSERT_NE(second, nullptr);
  const toml::array* list = r.array(*second, "list", "item[1]");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(r.integer_of(*list->get(0), "item[1].list[0]"), 1);
  EXPECT_EQ(r.integer_of(*list->get(1), "item[1].list[1]"), std::nullopt);
  expect_error(r, "r.toml:5:12", "item[1].list[1]: expected an integer but got a string");
  Reader not_tables("r.toml");
  EXPECT_EQ(not_tables.tables(*second, "x", "item[1]"), nullptr);
  expect_error(not_tables, "r.toml:4:5", "item[1].x: expected an array of tables ([[item[1].x]]) but got an integer");
}

TEST(TomlReader, LocatePointsALaterCheckAtTheNearestKeyRead) {
  const toml::table root = parse("[policy.breaker]\nwindow = \"0s\"\n");
  Reader r("r.toml");
  const toml::table* policy = r.table(root, "policy", "");
  ASSERT_NE(policy, nullptr);
  const toml::table* breaker = r.table(*policy, "breaker", "policy");
  ASSERT_NE(breaker, nullptr);
  EXPECT_EQ(r.duration(*breaker, "window", "policy.breaker"), Duration{0});
  const Error exact = r.locate(Error{"policy.breaker.window", "must be positive"});
  EXPECT_EQ(exact.where, "r.toml:2:10");
  EXPECT_EQ(exact.what, "policy.breaker.window: must be positive");
  const Error nearest = r.locate(Error{"policy.breaker.open_base", "must not exceed open_max"});
  EXPECT_EQ(nearest.where, "r.toml:1:1");  // the [policy.breaker] table
  EXPECT_EQ(r.locate(Error{"routes", "must list at least one route"}).where, "r.toml");
}

TEST(TomlReader, AValueWithoutAPlaceNamesTheFileAlone) {
  toml::table root;
  root.insert("n", "five");  // built in memory, as a --set override is
  Reader r("r.toml");
  EXPECT_EQ(r.integer(root, "n", "policy"), std::nullopt);
  expect_error(r, "r.toml", "policy.n: expected an integer but got a string");
}

}  // namespace
}  // namespace failover::config
