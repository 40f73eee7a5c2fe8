#include "sim/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/scenario_load.h"
#include "tests/sim/report_test_support.h"
#include "tests/sim/scenario_test_support.h"

namespace failover::sim::sweep {
namespace {

using Values = std::vector<std::string>;

Values values_of(std::string_view arg) {
  const Result<Axis> a = parse_set(arg);
  EXPECT_TRUE(a.has_value()) << a.error().message();
  return a ? a->values : Values{};
}

// ---- values and ranges ---------------------------------------------------------------

TEST(SweepValue, KeepsTomlValuesAndQuotesBareWords) {
  EXPECT_EQ(*value_text("5"), "5");
  EXPECT_EQ(*value_text("-3"), "-3");
  EXPECT_EQ(*value_text("0.5"), "0.5");
  EXPECT_EQ(*value_text("2e0"), "2.0");
  EXPECT_EQ(*value_text("true"), "true");
  EXPECT_EQ(*value_text("\"30s\""), "\"30s\"");
  EXPECT_EQ(*value_text("30s"), "\"30s\"");
  EXPECT_EQ(*value_text("50%"), "\"50%\"");
  EXPECT_EQ(*value_text("full_jitter"), "\"full_jitter\"");
}

TEST(SweepValue, RejectsWhatIsNeitherAValueNorABareWord) {
  EXPECT_FALSE(value_text("").has_value());
  EXPECT_FALSE(value_text("[1, 2]").has_value());
  EXPECT_FALSE(value_text("two words").has_value());
  EXPECT_FALSE(value_text("inf").has_value());
  EXPECT_FALSE(value_text("{ a = 1 }").has_value());
}

TEST(SweepValue, WritesNothingTooLongToReadBack) {
  // A literal string of 200 double quotes fits in 256 bytes as written, but not once its
  // quotes are escaped: refused, rather than a value that would not read back as itself.
  const Result<std::string> long_one = value_text("'''" + std::string(200, '"') + "'''");
  ASSERT_FALSE(long_one.has_value());
  EXPECT_NE(long_one.error().message().find("too long"), std::string::npos) << long_one.error().message();
  const Result<std::string> short_one = value_text("'''" + std::string(100, '"') + "'''");
  ASSERT_TRUE(short_one.has_value());
  const Result<std::string> again = value_text(*short_one);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *short_one);
}

TEST(SweepRange, StepsIntegersUpToHi) {
  EXPECT_EQ(*expand_range("1..9:2"), (Values{"1", "3", "5", "7", "9"}));
  EXPECT_EQ(*expand_range("1..10:4"), (Values{"1", "5", "9"}));
  EXPECT_EQ(*expand_range("-2..2:2"), (Values{"-2", "0", "2"}));
  EXPECT_EQ(*expand_range("7..7:1"), (Values{"7"}));
}

TEST(SweepRange, StepsDecimalsExactlyWithoutDrift) {
  // 0.1 + 0.1 + 0.1 in binary floating point is 0.30000000000000004; here it is 0.3.
  EXPECT_EQ(*expand_range("0.1..0.5:0.1"), (Values{"0.1", "0.2", "0.3", "0.4", "0.5"}));
  EXPECT_EQ(*expand_range("1.0..2:0.25"), (Values{"1.0", "1.25", "1.5", "1.75", "2.0"}));
  EXPECT_EQ(*expand_range("10%..30%:10%"), (Values{"\"10%\"", "\"20%\"", "\"30%\""}));
  EXPECT_EQ(*expand_range("0.5%..1%:0.25%"), (Values{"\"0.5%\"", "\"0.75%\"", "\"1%\""}));
}

TEST(SweepRange, WritesEachValueAsASingleValueWouldBeWritten) {
  // The same number spelled two ways is one value: canonical text, as value_text gives.
  const Result<Values> values = expand_range("0.00..0.30:0.10");
  ASSERT_TRUE(values.has_value()) << values.error().message();
  EXPECT_EQ(*values, (Values{"0.0", "0.1", "0.2", "0.3"}));
  for (const std::string& v : *values) {
    const Result<std::string> canonical = value_text(v);
    ASSERT_TRUE(canonical.has_value()) << v;
    EXPECT_EQ(*canonical, v);
  }
  const Result<Axis> twice = parse_set("retry.budget_ratio=0.1,0.00..0.30:0.10");
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error().message().find("repeats the value 0.1"), std::string::npos) << twice.error().message();
}

TEST(SweepRange, StepsDurationsAndWritesThemLikeTheLoaderReadsThem) {
  EXPECT_EQ(*expand_range("10s..60s:10s"), (Values{"\"10s\"", "\"20s\"", "\"30s\"", "\"40s\"", "\"50s\"", "\"1m\""}));
  EXPECT_EQ(*expand_range("30s..2m:45s"), (Values{"\"30s\"", "\"1m15s\"", "\"2m\""}));
  EXPECT_EQ(*expand_range("250ms..1s:250ms"), (Values{"\"250ms\"", "\"500ms\"", "\"750ms\"", "\"1s\""}));
}

TEST(SweepRange, RejectsZeroStepsReversedRangesMixedKindsAndTooManyValues) {
  EXPECT_FALSE(expand_range("1..5:0").has_value());
  EXPECT_FALSE(expand_range("1..5:-1").has_value());
  EXPECT_FALSE(expand_range("5..1:1").has_value());
  EXPECT_FALSE(expand_range("1..10s:1").has_value());
  EXPECT_FALSE(expand_range("1..5").has_value());
  EXPECT_FALSE(expand_range("0s..1s:0s").has_value());
  EXPECT_FALSE(expand_range("1..1000000:1").has_value());
  EXPECT_TRUE(expand_range("1..1000:1").has_value());  // exactly kValuesPerKeyMax
  EXPECT_FALSE(expand_range("0.1234567..1:0.1").has_value());
}

TEST(SweepSet, MixesListsAndRangesInOrder) {
  EXPECT_EQ(values_of("breaker.open_base=5s,10s..30s:10s,2m"),
            (Values{"\"5s\"", "\"10s\"", "\"20s\"", "\"30s\"", "\"2m\""}));
  const Result<Axis> a = parse_set("breaker.consecutive_failures=1,3");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->key, "breaker.consecutive_failures");
}

TEST(SweepSet, RejectsMalformedKeysEmptyAndRepeatedValues) {
  EXPECT_FALSE(parse_set("breaker.open_base").has_value());
  EXPECT_FALSE(parse_set("=1,2").has_value());
  EXPECT_FALSE(parse_set(".breaker=1").has_value());
  EXPECT_FALSE(parse_set("breaker..x=1").has_value());
  EXPECT_FALSE(parse_set("breaker x=1").has_value());
  EXPECT_FALSE(parse_set("breaker.x=").has_value());
  EXPECT_FALSE(parse_set("breaker.x=1,,2").has_value());
  EXPECT_FALSE(parse_set("breaker.x=1,2,1").has_value());
  EXPECT_FALSE(parse_set("breaker.x=1..3:1,2").has_value());
  const Result<Axis> bad = parse_set("breaker.x=1..5:0");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("--set breaker.x=1..5:0"), std::string::npos) << bad.error().message();
}

// ---- points and shards -----------------------------------------------------------------

std::vector<Axis> three_axes() {
  return {Axis{"a", {"1", "2"}}, Axis{"b", {"10", "20", "30"}}, Axis{"c", {"true", "false"}}};
}

TEST(SweepGrid, ListsEveryCombinationWithTheFirstKeySlowest) {
  const Result<std::vector<Point>> g = grid(three_axes());
  ASSERT_TRUE(g.has_value());
  ASSERT_EQ(g->size(), 12U);
  EXPECT_EQ((*g)[0], (Point{0, 0, 0}));
  EXPECT_EQ((*g)[1], (Point{0, 0, 1}));
  EXPECT_EQ((*g)[2], (Point{0, 1, 0}));
  EXPECT_EQ((*g)[11], (Point{1, 2, 1}));
  EXPECT_EQ(std::set<Point>(g->begin(), g->end()).size(), 12U);
}

TEST(SweepGrid, RefusesNoKeyARepeatedKeyAndMoreThanTheBound) {
  EXPECT_FALSE(grid({}).has_value());
  EXPECT_FALSE(grid({Axis{"a", {"1"}}, Axis{"a", {"2"}}}).has_value());
  Axis big{"a", {}};
  Axis big2{"b", {}};
  for (int i = 0; i < 400; ++i) {
    big.values.push_back(std::to_string(i));
    big2.values.push_back(std::to_string(i));
  }
  EXPECT_TRUE(grid({big, Axis{"b", {"1", "2"}}}).has_value());
  EXPECT_FALSE(grid({big, big2}).has_value());  // 160,000 > kPointsMax
  EXPECT_FALSE(random_points({big, big2}, 10, 1).has_value());
}

TEST(SweepRandom, IsDeterministicDistinctAndDependsOnTheSeed) {
  const Result<std::vector<Point>> a = random_points(three_axes(), 6, 42);
  const Result<std::vector<Point>> b = random_points(three_axes(), 6, 42);
  const Result<std::vector<Point>> c = random_points(three_axes(), 6, 43);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(a->size(), 6U);
  EXPECT_EQ(std::set<Point>(a->begin(), a->end()).size(), 6U);
  for (const Point& p : *a) {
    EXPECT_LT(p[0], 2U);
    EXPECT_LT(p[1], 3U);
    EXPECT_LT(p[2], 2U);
  }
}

TEST(SweepRandom, AsManyPointsAsTheGridIsTheGrid) {
  EXPECT_EQ(*random_points(three_axes(), 12, 1), *grid(three_axes()));
  EXPECT_EQ(*random_points(three_axes(), 500, 1), *grid(three_axes()));
  EXPECT_FALSE(random_points(three_axes(), 0, 1).has_value());
}

TEST(SweepShard, EveryPointBelongsToExactlyOneShard) {
  for (std::size_t shards = 1; shards <= 7; ++shards) {
    std::vector<std::size_t> seen(100, 0);
    for (std::size_t shard = 0; shard < shards; ++shard) {
      for (std::size_t p = 0; p < seen.size(); ++p) seen[p] += shard_of(p, shards) == shard ? 1U : 0U;
    }
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](std::size_t n) { return n == 1; })) << shards;
  }
  EXPECT_EQ(shard_of(7, 3), 1U);
}

TEST(SweepOverrides, TheLoaderJudgesEveryOverride) {
  const std::string text = testing::small_scenario();
  const Result<Scenario> ok = load_scenario_string(
      text, "small.toml",
      {PolicyOverride{"breaker.consecutive_failures", "9"}, PolicyOverride{"breaker.open_base", "\"45s\""}});
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(ok->policies.front().config.policy.breaker.consecutive_failures, 9);
  const Result<Scenario> unknown = load_scenario_string(text, "small.toml", {PolicyOverride{"breaker.nope", "1"}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("policy.breaker.nope"), std::string::npos) << unknown.error().message();
  const Result<Scenario> bad =
      load_scenario_string(text, "small.toml", {PolicyOverride{"breaker.open_base", "\"soon\""}});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("policy.breaker.open_base"), std::string::npos) << bad.error().message();
  EXPECT_FALSE(load_scenario_string(text, "small.toml", {PolicyOverride{"breaker.open_base", "[1]"}}).has_value());
  EXPECT_FALSE(load_scenario_string(text, "small.toml", {PolicyOverride{"bad key", "1"}}).has_value());
}

TEST(SweepOverrides, ThePolicyTomlCarriesTheOverridesAndReloads) {
  const std::string text = testing::small_scenario();
  const std::vector<PolicyOverride> o{{"breaker.consecutive_failures", "9"}, {"retry.budget_ratio", "\"5%\""}};
  const Result<std::string> toml = config::policy_toml(text, "small.toml", o);
  ASSERT_TRUE(toml.has_value()) << toml.error().message();
  EXPECT_NE(toml->find("[policy.breaker]"), std::string::npos) << *toml;
  EXPECT_NE(toml->find("consecutive_failures = 9"), std::string::npos) << *toml;
  EXPECT_NE(toml->find("budget_ratio = \"5%\""), std::string::npos) << *toml;
  // Pasted in place of the file's own [policy] tables, it gives the very same policy.
  const std::vector<std::string> lines = testing::small_scenario_lines();
  ASSERT_EQ(lines[43], "[policy.queue]");
  const std::vector<std::string> before(lines.begin(), lines.begin() + 43);
  const std::vector<std::string> after(lines.begin() + 47, lines.end());
  const std::string pasted = testing::join_lines(before) + *toml + "\n" + testing::join_lines(after);
  const Result<Scenario> reloaded = load_scenario_string(pasted, "pasted.toml");
  const Result<Scenario> direct = load_scenario_string(text, "small.toml", o);
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().message() << "\n" << pasted;
  ASSERT_TRUE(direct.has_value());
  const Policy& a = reloaded->policies.front().config.policy;
  const Policy& b = direct->policies.front().config.policy;
  EXPECT_EQ(a.breaker.consecutive_failures, 9);
  EXPECT_EQ(b.breaker.consecutive_failures, 9);
  EXPECT_EQ(a.retry.budget_ratio, b.retry.budget_ratio);
  EXPECT_EQ(a.queue.depth_max, b.queue.depth_max);
  EXPECT_EQ(a.queue.depth_max, 20'000);
}

TEST(SweepOverrides, ProviderLimitsAndTheFirstByteTimeoutCanBeSet) {
  const std::string text = testing::small_scenario();
  const Result<Scenario> ok = load_scenario_string(
      text, "small.toml",
      {PolicyOverride{"providers.backup.concurrency_max", "32"}, PolicyOverride{"timeouts.first_byte", "\"2500ms\""}});
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  const Config& c = ok->policies.front().config;
  ASSERT_EQ(c.providers.size(), 2U);
  EXPECT_EQ(c.providers[0].concurrency_max, 400);  // primary: as in the file
  EXPECT_EQ(c.providers[1].concurrency_max, 32);
  EXPECT_EQ(c.policy.timeouts.first_byte, ms(2500));
  // A provider no entry is named, a key that is not a limit, a malformed key: each named.
  const Result<Scenario> nobody =
      load_scenario_string(text, "small.toml", {PolicyOverride{"providers.nobody.concurrency_max", "32"}});
  ASSERT_FALSE(nobody.has_value());
  EXPECT_NE(
      nobody.error().message().find("no [[providers]] entry is named \"nobody\" (the providers: primary, backup)"),
      std::string::npos)
      << nobody.error().message();
  const Result<Scenario> name =
      load_scenario_string(text, "small.toml", {PolicyOverride{"providers.backup.name", "\"x\""}});
  ASSERT_FALSE(name.has_value());
  EXPECT_NE(name.error().message().find("concurrency_max, rpm_max, tpm_max"), std::string::npos)
      << name.error().message();
  EXPECT_FALSE(
      load_scenario_string(text, "small.toml", {PolicyOverride{"providers.concurrency_max", "32"}}).has_value());
  // The loader judges the value: a limit below 1 is refused, naming the provider's key.
  const Result<Scenario> zero =
      load_scenario_string(text, "small.toml", {PolicyOverride{"providers.backup.concurrency_max", "0"}});
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().message().find("concurrency_max"), std::string::npos) << zero.error().message();
  // The pasteable policy leaves provider keys out: they belong in [[providers]].
  const Result<std::string> toml = config::policy_toml(
      text, "small.toml",
      {PolicyOverride{"providers.backup.concurrency_max", "32"}, PolicyOverride{"timeouts.first_byte", "\"5s\""}});
  ASSERT_TRUE(toml.has_value()) << toml.error().message();
  EXPECT_EQ(toml->find("concurrency_max"), std::string::npos) << *toml;
  EXPECT_NE(toml->find("first_byte = \"5s\""), std::string::npos) << *toml;
}

// ---- closeness to the scenario's own policy ---------------------------------------------------

TEST(SweepChangedKeys, CountsTheKeysAPointSetsToAnotherValueThanTheScenario) {
  Definition d;
  d.scenarios.push_back(ScenarioEntry{"small.toml", testing::small_scenario(), {1}});
  d.axes = {
      Axis{"breaker.open_base",
           {"\"5s\"", "\"5000ms\"", "\"30s\"", "\"2m\""}},       // the default, spelt twice; 2m > open_max
      Axis{"providers.primary.concurrency_max", {"400", "64"}},  // the file's own value first
      Axis{"timeouts.first_byte", {"\"15s\"", "\"5s\""}},        // the default first
  };
  d.points = *grid(d.axes);
  d.mode = "grid";
  const Result<std::vector<std::uint32_t>> changed = changed_keys(d, 0);
  ASSERT_TRUE(changed.has_value()) << changed.error().message();
  ASSERT_EQ(changed->size(), d.points.size());
  for (std::size_t i = 0; i < d.points.size(); ++i) {
    const Point& p = d.points[i];
    // 5s and 5000ms are the scenario's own open_base; 2m does not load alone (above open_max) and counts too.
    const std::uint32_t expected = (p[0] >= 2 ? 1U : 0U) + p[1] + p[2];
    EXPECT_EQ((*changed)[i], expected) << "point " << i;
  }
  Definition broken = d;
  broken.scenarios[0].text = "[scenario]\n";
  EXPECT_FALSE(changed_keys(broken, 0).has_value());
}

// ---- shard files and merge ---------------------------------------------------------------

Record record(std::uint32_t point, std::uint64_t seed, double availability, double p99, double cost,
              std::string checks) {
  Record r;
  r.point = point;
  r.seed = seed;
  r.availability_pct = availability;
  r.p99_ms = p99;
  r.cost_usd = cost;
  r.cost_ratio_pct = 71.25;
  r.overflow_after_minutes = std::numeric_limits<double>::infinity();
  r.conserved = true;
  r.trips = 3;
  r.dropped = 0;
  r.checks = std::move(checks);
  return r;
}

Shard small_shard(std::size_t index, std::size_t count) {
  Shard s;
  s.definition.scenarios.push_back(ScenarioEntry{"small.toml", testing::small_scenario(), {1, 2}});
  s.definition.axes = {Axis{"breaker.consecutive_failures", {"1", "3", "5"}}};
  s.definition.points = *grid(s.definition.axes);
  s.definition.mode = "grid";
  s.index = index;
  s.count = count;
  for (std::uint32_t p = 0; p < 3; ++p) {
    if (shard_of(p, count) != index) continue;
    for (const std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{2}})
      s.records.push_back(record(p, seed, 99.5 + p * 0.1 + 0.1 / 3.0, 1234.5, 2.25, "PF"));
  }
  return s;
}

TEST(SweepShardFile, ReadsBackExactly) {
  const Shard s = small_shard(1, 2);
  const Result<Shard> back = read_shard(write_shard(s), "shard.toml");
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(write_shard(*back), write_shard(s));
  ASSERT_EQ(back->records.size(), 2U);
  EXPECT_EQ(back->records[0].availability_pct, s.records[0].availability_pct);  // bit for bit
  EXPECT_EQ(back->records[0].overflow_after_minutes, std::numeric_limits<double>::infinity());
  EXPECT_EQ(back->records[0].checks, "PF");
}

TEST(SweepShardFile, RejectsMalformedFiles) {
  EXPECT_FALSE(read_shard("format = \"something else\"\n", "x.toml").has_value());
  std::string text = write_shard(small_shard(0, 1));
  const std::string broken =
      text.substr(0, text.find("records")) + "records = [\"0 9 1 100\"]\n" + text.substr(text.find("\nmode"));
  EXPECT_FALSE(read_shard(broken, "x.toml").has_value());
  std::string tampered = text;
  tampered.replace(tampered.find("[scenario]"), 10, "[scenariO]");
  const Result<Shard> t = read_shard(tampered, "x.toml");
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message().find("hash"), std::string::npos) << t.error().message();
}

// "x.toml:line:col" of the first `needle` in `text` at or after `from`.
std::string place_of(const std::string& text, std::string_view needle, std::size_t from = 0) {
  const std::size_t at = text.find(needle, from);
  EXPECT_NE(at, std::string::npos) << needle;
  const std::size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
  const std::size_t col = line_start == std::string::npos ? at + 1 : at - line_start;
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
  return "x.toml:" + std::to_string(line) + ":" + std::to_string(col);
}

// Shard files are read by the one TOML reader (core/config/toml_reader.h): an error
// names the line and column of the value at fault, not just the file.
TEST(SweepShardFile, ErrorsNameTheLineAndColumn) {
  const std::string text = write_shard(small_shard(0, 1));
  const auto expect_error = [](const std::string& bad, const std::string& where, const std::string& what) {
    const Result<Shard> r = read_shard(bad, "x.toml");
    ASSERT_FALSE(r.has_value()) << what;
    EXPECT_EQ(r.error().where, where) << r.error().message();
    EXPECT_NE(r.error().what.find(what), std::string::npos) << r.error().message();
  };
  std::string tampered = text;
  tampered.replace(tampered.find("[scenario]"), 10, "[scenariO]");
  expect_error(tampered, place_of(tampered, "\"", tampered.find("hash = ")),
               "scenarios[0].hash: does not match the text");
  expect_error("format = \"something else\"\n", "x.toml:1:10", "format: must be \"failover-sweep-shard/1\"");
  std::string unknown = text;
  unknown.insert(unknown.find("partial"), "colour = 1\n");
  expect_error(unknown, place_of(unknown, "colour"), "colour: unknown key; the top level takes: format, shard, shards");
  std::string long_record = text;
  long_record.insert(long_record.find("\"0 1 1 ") + 7, "x ");
  expect_error(long_record, place_of(long_record, "\"0 1 1 x"), "records[2]: is not a run record");
  std::string wrong_type = text;
  wrong_type.replace(wrong_type.find("shards = 1"), 10, "shards = \"1\"");
  expect_error(wrong_type, place_of(wrong_type, "\"1\""), "shards: expected an integer but got a string");
  std::string bad_index = text;
  bad_index.replace(bad_index.find("[0], [1], [2]"), 13, "[0], [1], [3]");
  expect_error(bad_index, place_of(bad_index, "3]"), "points[2][0]: must be between 0 and 2 but is 3");
}

TEST(SweepShardFile, ARecordMissingOrRepeatedIsNamedAtItsLine) {
  Shard missing = small_shard(0, 1);
  missing.records.erase(missing.records.begin() + 3);  // point 1, seed 2
  const std::string text = write_shard(missing);
  const Result<Shard> r = read_shard(text, "x.toml");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().where, place_of(text, "\"0 1 1 ")) << r.error().message();
  EXPECT_NE(r.error().what.find("records[2]: point 1 of scenario 0 has runs of 1 of its 2 seeds"), std::string::npos)
      << r.error().message();
  Shard twice = small_shard(0, 1);
  twice.records.push_back(twice.records[0]);
  const std::string again = write_shard(twice);
  const Result<Shard> t = read_shard(again, "x.toml");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().where, place_of(again, "\"0 0 1 ", again.find("\"0 0 1 ") + 1)) << t.error().message();
  EXPECT_NE(t.error().what.find("records[6]: repeats the run of seed 1 at point 0 of scenario 0"), std::string::npos)
      << t.error().message();
}

// A shard file is input: values no run can produce are refused on read, naming them.
TEST(SweepShardFile, RejectsValuesNoRunCanProduce) {
  const double inf = std::numeric_limits<double>::infinity();
  const struct {
    double availability, p99, cost;
    const char* what;
  } cases[] = {{250.0, 1.0, 1.0, "availability_pct 250"}, {-5.0, 1.0, 1.0, "availability_pct -5"},
               {inf, 1.0, 1.0, "availability_pct inf"},   {99.0, -1.0, 1.0, "p99_ms -1"},
               {99.0, 1.0, 1e308, "cost_usd 1e+308"},     {99.0, 1.0, inf, "cost_usd inf"},
               {99.0, 1.0, -0.5, "cost_usd -0.5"}};
  for (const auto& c : cases) {
    Shard s = small_shard(0, 1);
    s.records[1] = record(s.records[1].point, s.records[1].seed, c.availability, c.p99, c.cost, "PF");
    const Result<Shard> back = read_shard(write_shard(s), "x.toml");
    ASSERT_FALSE(back.has_value()) << c.what;
    EXPECT_NE(back.error().message().find("records[1]: "), std::string::npos) << back.error().message();
    EXPECT_NE(back.error().message().find(c.what), std::string::npos) << back.error().message();
  }
  Shard edge = small_shard(0, 1);
  edge.records[0] = record(edge.records[0].point, edge.records[0].seed, 100.0, inf, 0.0, "PF");  // no success: p99 +inf
  EXPECT_TRUE(read_shard(write_shard(edge), "x.toml").has_value());
}

TEST(SweepMerge, ShardsCombineIntoTheWholeRun) {
  const Result<Shard> merged = merge({small_shard(1, 2), small_shard(0, 2)}, {"b", "a"});
  ASSERT_TRUE(merged.has_value()) << merged.error().message();
  Shard whole = small_shard(0, 1);
  EXPECT_EQ(write_shard(*merged), write_shard(whole));
  const auto files_a = render(*merged);
  const auto files_b = render(whole);
  ASSERT_TRUE(files_a.has_value()) << files_a.error().message();
  ASSERT_TRUE(files_b.has_value());
  EXPECT_EQ(*files_a, *files_b);
}

TEST(SweepMerge, RefusesMissingRepeatedAndForeignShards) {
  const Result<Shard> missing = merge({small_shard(0, 3), small_shard(2, 3)}, {"a", "c"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("shard 1 of 3"), std::string::npos) << missing.error().message();
  EXPECT_FALSE(merge({small_shard(0, 2), small_shard(0, 2), small_shard(1, 2)}, {"a", "a2", "b"}).has_value());
  EXPECT_FALSE(merge({small_shard(0, 2), small_shard(1, 3)}, {"a", "b"}).has_value());
  Shard foreign = small_shard(1, 2);
  foreign.definition.scenarios[0].seeds = {1, 3};
  EXPECT_FALSE(merge({small_shard(0, 2), foreign}, {"a", "b"}).has_value());
  Shard stray = small_shard(1, 2);
  stray.records.front().point = 0;  // point 0 belongs to shard 0
  EXPECT_FALSE(merge({small_shard(0, 2), stray}, {"a", "b"}).has_value());
}

// ---- ranking and the frontier --------------------------------------------------------------

PointSummary summary(std::uint32_t point, std::size_t passed, double availability, double p99, double cost) {
  PointSummary s;
  s.point = point;
  s.seeds = 4;
  s.passed = passed;
  s.availability_pct = availability;
  s.p99_ms = p99;
  s.cost_usd = cost;
  return s;
}

TEST(SweepRanking, PassRateFirstThenAvailabilityLatencyCostAndPoint) {
  const std::vector<PointSummary> points = {
      summary(0, 3, 99.99, 100, 1.0),  // fewer seeds passed: last despite the best figures
      summary(1, 4, 99.90, 200, 1.0), summary(2, 4, 99.95, 300, 1.0),  // higher availability first
      summary(3, 4, 99.90, 150, 1.0),                                  // lower p99 breaks the tie
      summary(4, 4, 99.90, 150, 0.5),                                  // lower cost breaks the next
      summary(5, 4, 99.90, 150, 0.5),                                  // all equal: the lower point first
  };
  EXPECT_EQ(ranking(points), (std::vector<std::size_t>{2, 4, 5, 3, 1, 0}));
}

TEST(SweepRanking, EqualFiguresGoToTheFewestChangedKeys) {
  std::vector<PointSummary> points = {
      summary(0, 4, 99.90, 150, 0.5), summary(1, 4, 99.90, 150, 0.5), summary(2, 4, 99.90, 150, 0.5),
      summary(3, 4, 99.95, 150, 0.5),  // better figures beat closeness
  };
  points[0].changed_keys = 3;
  points[1].changed_keys = 1;
  points[2].changed_keys = 1;
  points[3].changed_keys = 4;
  EXPECT_EQ(ranking(points), (std::vector<std::size_t>{3, 1, 2, 0}));
}

TEST(SweepPareto, KeepsExactlyThePointsNoOtherDominates) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<PointSummary> points = {
      summary(0, 4, 99.9, 100, 2.0),   // frontier: the lowest p99
      summary(1, 4, 99.9, 120, 2.0),   // dominated by 0
      summary(2, 4, 99.5, 90, 1.0),    // frontier: lower p99 and cost, lower availability
      summary(3, 4, 99.99, 500, 3.0),  // frontier: the highest availability
      summary(4, 4, 99.5, 90, 1.0),    // equal to 2: neither dominates
      summary(5, 4, 99.0, inf, 0.5),   // frontier: the cheapest, though no success
      summary(6, 4, 99.0, inf, 0.6),   // dominated by 5
  };
  EXPECT_EQ(pareto_frontier(points), (std::vector<bool>{true, false, true, true, true, true, false}));
  // The brute-force definition agrees.
  const std::vector<bool> fast = pareto_frontier(points);
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < points.size(); ++j) {
      const PointSummary& a = points[j];
      const PointSummary& b = points[i];
      const bool no_worse =
          a.availability_pct >= b.availability_pct && a.p99_ms <= b.p99_ms && a.cost_usd <= b.cost_usd;
      const bool better = a.availability_pct > b.availability_pct || a.p99_ms < b.p99_ms || a.cost_usd < b.cost_usd;
      dominated = dominated || (no_worse && better);
    }
    EXPECT_EQ(fast[i], !dominated) << i;
  }
}

TEST(SweepSummary, TakesTheWorstSeedAndCountsPasses) {
  Shard s = small_shard(0, 1);
  s.records[0].availability_pct = 90.0;
  s.records[1].p99_ms = 9999.0;
  s.records[1].checks = "PP";
  const std::vector<PointSummary> points = summarize(s, 0);
  ASSERT_EQ(points.size(), 3U);
  EXPECT_EQ(points[0].seeds, 2U);
  EXPECT_EQ(points[0].passed, 1U);
  EXPECT_EQ(points[0].availability_pct, 90.0);
  EXPECT_EQ(points[0].p99_ms, 9999.0);
  EXPECT_EQ(points[0].check_passes, (std::vector<std::size_t>{2, 1}));
  EXPECT_FALSE(some_point_passes_everywhere(small_shard(0, 1)));  // every record fails its second check
  s.records[0].checks = "PP";                                     // now point 0 passes on both seeds
  EXPECT_TRUE(some_point_passes_everywhere(s));
}

TEST(SweepSummary, TheConsoleLineNamesTheBestPointOfEachScenario) {
  Shard s = small_shard(0, 1);
  s.records[0].checks = "PP";
  s.records[1].checks = "PP";  // point 0 passes on both seeds, ranking first
  EXPECT_EQ(*best_points_text(s),
            "small: 1 of 3 points pass every seed; best: point 0 (breaker.consecutive_failures=1), 2/2 seeds passed, "
            "worst availability 99.533%\n");
  s.records.clear();
  EXPECT_EQ(*best_points_text(s), "small: no point finished\n");
}

// points.json: one line per point, its runs hanging below it one per line.
TEST(SweepOutputs, PointsJsonHasALinePerPointAndPerRun) {
  const auto files = render(small_shard(0, 1));
  ASSERT_TRUE(files.has_value()) << files.error().message();
  const auto json = std::find_if(files->begin(), files->end(), [](const auto& f) { return f.first == "points.json"; });
  ASSERT_NE(json, files->end());
  const std::string& doc = json->second;
  EXPECT_TRUE(testing::well_formed_json(doc));
  EXPECT_EQ(
      doc.rfind(
          "{\n  \"format\": \"failover-sweep/1\",\n  \"partial\": false,\n  \"mode\": \"grid\",\n  \"points\": 3,\n"
          "  \"keys\": [\"breaker.consecutive_failures\"],\n  \"scenarios\": [\n    {\n      \"scenario\": "
          "\"small\",\n",
          0),
      0U);
  EXPECT_NE(
      doc.find(
          "\n        {\"point\": 0, \"values\": {\"breaker.consecutive_failures\": 1}, \"rank\": 3, \"changed_keys\": "
          "1, "
          "\"pareto\": false, "
          "\"seeds_passed\": 0, \"seeds\": 2, \"runs\": [\n          {\"seed\": 1, \"passed\": false, "
          "\"availability_pct\": 99.5333, \"latency_p99_ms\": 1234.5, \"cost_usd\": 2.2500, \"cost_ratio_pct\": 71.25, "
          "\"dropped\": 0, \"overflow_after_minutes\": null, \"breaker_trips\": 3, \"conserved\": true, \"checks\": "
          "[true, "
          "false]},\n"
          "          {\"seed\": 2, "),
      std::string::npos)
      << doc;
  EXPECT_EQ(testing::count_of(doc, "\"checks\": [true, false]}]},\n        {\"point\": "), 2U);
  EXPECT_TRUE(doc.ends_with("[true, false]}]}\n      ]\n    }\n  ]\n}\n"));
}

// ---- advice: ties, why nothing passes, the chart ---------------------------------------------

std::string file_of(const std::vector<std::pair<std::string, std::string>>& files, const std::string& name) {
  const auto f = std::find_if(files.begin(), files.end(), [&](const auto& x) { return x.first == name; });
  EXPECT_NE(f, files.end()) << name;
  return f == files.end() ? std::string() : f->second;
}

// Four points with equal figures on every seed: the one that keeps the scenario's own
// policy (breaker defaults: 5 failures, open_base 5s) ranks first, not point 0.
TEST(SweepAdvice, ATieGoesToThePointClosestToTheScenariosPolicy) {
  Shard s;
  s.definition.scenarios.push_back(ScenarioEntry{"small.toml", testing::small_scenario(), {1, 2}});
  s.definition.axes = {Axis{"breaker.consecutive_failures", {"1", "5"}},
                       Axis{"breaker.open_base", {"\"30s\"", "\"5s\""}}};
  s.definition.points = *grid(s.definition.axes);
  s.definition.mode = "grid";
  for (std::uint32_t p = 0; p < 4; ++p) {
    for (const std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{2}})
      s.records.push_back(record(p, seed, 99.9, 800.0, 1.5, "PP"));
  }
  const auto files = render(s);
  ASSERT_TRUE(files.has_value()) << files.error().message();
  const std::string md = file_of(*files, "report.md");
  EXPECT_NE(md.find("Point 3 ranks first (breaker.consecutive_failures=5, breaker.open_base=5s)"), std::string::npos)
      << md;
  EXPECT_NE(md.find("the fewest keys changed"), std::string::npos) << md;
  EXPECT_NE(md.find("| keys changed |"), std::string::npos) << md;
  // Ranks: point 3 (0 changed), then 1 and 2 (1 each, by number), then 0 (2).
  EXPECT_NE(md.find("| 1 | 3 | 5 | 5s | 2/2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 4 | 0 | 1 | 30s | 2/2 |"), std::string::npos) << md;
  const std::string json = file_of(*files, "points.json");
  EXPECT_NE(
      json.find("{\"point\": 3, \"values\": {\"breaker.consecutive_failures\": 5, \"breaker.open_base\": \"5s\"}, "
                "\"rank\": 1, \"changed_keys\": 0,"),
      std::string::npos)
      << json;
  const Result<std::string> console = best_points_text(s);
  ASSERT_TRUE(console.has_value()) << console.error().message();
  EXPECT_NE(console->find("best: point 3 "), std::string::npos) << *console;
}

Expectation expectation(Metric metric, Bound bound, double lo) {
  Expectation e;
  e.policy = "policy";
  e.metric = metric;
  e.bound = bound;
  e.lo = lo;
  return e;
}

TEST(SweepAdvice, NamesTheExpectationFailingMostAndTheKeysThatMoveIt) {
  Definition d;
  d.axes = {Axis{"a", {"1", "2", "3"}}, Axis{"b", {"x", "y"}}};
  d.points = *grid(d.axes);
  const Expectation never = expectation(Metric::overflow_at, Bound::none_, 0.0);
  const Expectation slo = expectation(Metric::availability, Bound::at_least, 99.9);
  std::vector<PointSummary> points;
  for (std::uint32_t p = 0; p < d.points.size(); ++p) {
    const double a = d.points[p][0], b = d.points[p][1];
    PointSummary& s = points.emplace_back(summary(p, 0, 99.0 + 0.5 * b + 0.1 * a, 100.0, 1.0));
    s.check_passes = {3, 0};  // the overflow check fails on 1 seed of 4, availability on all 4
  }
  const Diagnosis g = diagnose(d, points, {&never, &slo});
  EXPECT_FALSE(g.none_failed);
  EXPECT_EQ(g.expectation, 1U);
  EXPECT_EQ(g.failed_runs, 24U);
  EXPECT_EQ(g.runs, 24U);
  EXPECT_TRUE(g.by_metric);
  ASSERT_EQ(g.keys.size(), 2U);
  EXPECT_EQ(g.keys[0].axis, 1U);  // b moves availability by 0.5, a by 0.2
  EXPECT_NEAR(g.keys[0].spread, 0.5, 1e-9);
  EXPECT_EQ(g.keys[0].groups, 3U);  // one group per value of a
  EXPECT_EQ(g.keys[0].worse_value, 0U);
  EXPECT_EQ(g.keys[0].better_value, 1U);
  EXPECT_EQ(g.keys[1].axis, 0U);
  EXPECT_NEAR(g.keys[1].spread, 0.2, 1e-9);
  EXPECT_EQ(g.keys[1].groups, 2U);
  EXPECT_EQ(g.keys[1].worse_value, 0U);
  EXPECT_EQ(g.keys[1].better_value, 2U);
  // A latency bound: the lower p99 is the better end.
  const Expectation fast = expectation(Metric::latency_p99, Bound::at_most, 50.0);
  for (PointSummary& s : points) {
    s.p99_ms = 100.0 + 40.0 * d.points[s.point][0];
    s.check_passes = {1};
  }
  const Diagnosis l = diagnose(d, points, {&fast});
  EXPECT_EQ(l.expectation, 0U);
  EXPECT_EQ(l.failed_runs, 18U);
  EXPECT_EQ(l.keys[0].axis, 0U);
  EXPECT_NEAR(l.keys[0].spread, 80.0, 1e-9);
  EXPECT_EQ(l.keys[0].worse_value, 2U);
  EXPECT_EQ(l.keys[0].better_value, 0U);
  EXPECT_EQ(l.keys[1].spread, 0.0);  // b changes nothing
  // A metric the summaries do not keep: the seeds on which it held are the figure.
  const Expectation quick = expectation(Metric::failover_time, Bound::at_most, 60.0);
  for (PointSummary& s : points) s.check_passes = {static_cast<std::size_t>(d.points[s.point][1] * 3)};
  const Diagnosis q = diagnose(d, points, {&quick});
  EXPECT_FALSE(q.by_metric);
  EXPECT_EQ(q.keys[0].axis, 1U);
  EXPECT_EQ(q.keys[0].spread, 3.0);
  EXPECT_EQ(q.keys[0].better_value, 1U);
  // Every expectation held: the runs failed by losing requests.
  for (PointSummary& s : points) s.check_passes = {4};
  EXPECT_TRUE(diagnose(d, points, {&quick}).none_failed);
}

TEST(SweepAdvice, WhenNoPointPassesTheReportAndTheConsoleSayWhy) {
  Shard s = small_shard(0, 1);  // every run fails its second check (failover_time <= 60s)
  const auto files = render(s);
  ASSERT_TRUE(files.has_value()) << files.error().message();
  const std::string md = file_of(*files, "report.md");
  EXPECT_NE(md.find("### Why no point passes\n\n`failover_time <= 60 s` failed on 6 of 6 runs"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| breaker.consecutive\\_failures | nothing | the same at every value | | 1 |"), std::string::npos)
      << md;
  const Result<std::string> console = best_points_text(s);
  ASSERT_TRUE(console.has_value());
  EXPECT_NE(console->find("; fails most: failover_time <= 60 s (6/6 runs)\n"), std::string::npos) << *console;
  // One passing point: no diagnosis.
  s.records[0].checks = "PP";
  s.records[1].checks = "PP";
  const auto passing = render(s);
  ASSERT_TRUE(passing.has_value());
  EXPECT_EQ(file_of(*passing, "report.md").find("Why no point passes"), std::string::npos);
}

TEST(SweepAdvice, TheParetoChartZoomsToTheDataAndDrawsTheSlo) {
  Shard s = small_shard(0, 1);
  s.definition.scenarios[0].text += "\n[[expect]]\nmetric = \"availability\"\nat_least = \"99.5%\"\n";
  for (Record& r : s.records) r.checks = "PPP";
  const auto files = render(s);
  ASSERT_TRUE(files.has_value()) << files.error().message();
  const std::string svg = file_of(*files, "pareto-small.svg");
  EXPECT_TRUE(testing::well_formed_xml(svg));
  EXPECT_NE(svg.find("SLO: availability 99.5000%"), std::string::npos) << svg;
  // Points at 99.53..99.73% and the SLO at 99.5%: the axis ends near them, not at 100%.
  EXPECT_EQ(svg.find(">100.0"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">99.5%<"), std::string::npos) << svg;
}

}  // namespace
}  // namespace failover::sim::sweep
