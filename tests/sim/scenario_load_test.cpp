#include "sim/scenario_load.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/sim/scenario_test_support.h"

namespace failover::sim {
namespace {

using testing::small_scenario;
using testing::small_scenario_lines;

std::string documented_example() {
  std::ifstream in(std::string(FAILOVER_SOURCE_DIR) + "/docs/scenarios.md");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string doc = buf.str();
  const std::size_t section = doc.find("## Complete example");
  const std::size_t open = doc.find("```toml\n", section);
  const std::size_t close = doc.find("```", open + 8);
  if (section == std::string::npos || open == std::string::npos || close == std::string::npos) return {};
  return doc.substr(open + 8, close - open - 8);
}

TEST(ScenarioLoad, AcceptsTheDocumentedExample) {
  const std::string text = documented_example();
  ASSERT_FALSE(text.empty());
  const Result<Scenario> s = load_scenario_string(text, "docs/storm.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->name, "storm");
  EXPECT_EQ(s->duration, minutes(150));
  EXPECT_EQ(s->seeds, (std::vector<std::uint64_t>{1, 2, 3}));
  // "storm" names the fault at 11:23:00 with the clock starting at 11:00:00.
  EXPECT_EQ(s->overflow_from, kTimeZero + minutes(23));
  EXPECT_EQ(s->cost_budget_micro_usd, 2'800'000'000);
  ASSERT_EQ(s->traffic.classes.size(), 2U);
  EXPECT_EQ(s->traffic.classes[0].weight, 800'000);  // shares 80% / 20%
  EXPECT_EQ(s->traffic.classes[1].weight, 200'000);
  EXPECT_TRUE(s->traffic.classes[0].stream);
  EXPECT_EQ(s->traffic.end, kTimeZero + minutes(149));
  EXPECT_EQ(s->buffer.capacity, 43'200);
  EXPECT_EQ(s->buffer.mode, BufferMode::requeue);
  ASSERT_EQ(s->providers.size(), 4U);
  EXPECT_EQ(s->providers[0].faults.size(), 1U);
  EXPECT_EQ(s->providers[0].faults[0].intensity, (Ratio{94, 100}));
  EXPECT_EQ(s->providers[0].faults[0].delay, sec(10));
  EXPECT_EQ(s->providers[1].over_capacity.retry_after, sec(2));
  EXPECT_EQ(s->providers[2].faults[0].latency_factor_permille, 3'000);
  EXPECT_EQ(s->providers[3].latency.first_token.kind(), DistKind::exponential);
  ASSERT_EQ(s->policies.size(), 4U);
  EXPECT_EQ(s->policies[0].name, "policy");
  EXPECT_EQ(s->policies[1].name, "direct");
  EXPECT_EQ(s->policies[2].name, "case-study");
  EXPECT_EQ(s->policies[3].name, "hair-trigger");
  EXPECT_EQ(s->policies[3].config.policy.breaker.consecutive_failures, 2);
  EXPECT_EQ(s->policies[3].config.policy.breaker.half_open_probes, 3);  // the rest is the policy's
  EXPECT_EQ(s->expectations.size(), 7U);
}

TEST(ScenarioLoad, ReadsExpectationBoundsInTheMetricsUnits) {
  const Result<Scenario> s = load_scenario_string(documented_example(), "storm.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  const std::vector<Expectation>& e = s->expectations;
  ASSERT_EQ(e.size(), 7U);
  EXPECT_EQ(e[0].policy, "direct");
  EXPECT_EQ(e[0].bound, Bound::between);
  EXPECT_DOUBLE_EQ(e[0].lo, 17.0);  // minutes
  EXPECT_DOUBLE_EQ(e[0].hi, 20.0);
  EXPECT_EQ(e[1].policy, "policy");
  EXPECT_EQ(e[1].bound, Bound::none_);
  EXPECT_DOUBLE_EQ(e[3].lo, 99.97);  // percent
  EXPECT_DOUBLE_EQ(e[4].hi, 60.0);   // seconds
  EXPECT_DOUBLE_EQ(e[6].hi, 600.0);
  EXPECT_EQ(e[0].text, "overflow_at between 17.0 min and 20.0 min");
}

TEST(ScenarioLoad, FaultsAreOrderedByStartWhateverTheirOrderInTheFile) {
  std::vector<std::string> lines = small_scenario_lines();
  lines.insert(lines.begin() + 47, {"[[faults]]", "provider = \"primary\"", "kind = \"latency\"", "start = \"30s\"",
                                    "duration = \"1m\"", "factor = 2.0", ""});
  const Result<Scenario> s = load_scenario_string(testing::join_lines(lines), "two.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  ASSERT_EQ(s->providers[0].faults.size(), 2U);
  EXPECT_EQ(s->providers[0].faults[0].kind, FaultKind::latency);
  EXPECT_EQ(s->providers[0].faults[1].name, "storm");
  EXPECT_EQ(s->overflow_from, kTimeZero + sec(30));  // the first fault's start
}

TEST(ScenarioLoad, ReadsTheStreamFaultKindsAndWhereTheyStrike) {
  std::vector<std::string> lines = small_scenario_lines();
  lines.insert(lines.begin() + 56, {"[[faults]]",
                                    "provider = \"backup\"",
                                    "kind = \"stream_error\"",
                                    "start = \"1m\"",
                                    "duration = \"1m\"",
                                    "after_tokens = 7",
                                    "",
                                    "[[faults]]",
                                    "provider = \"backup\"",
                                    "kind = \"unterminated\"",
                                    "start = \"2m\"",
                                    "duration = \"1m\"",
                                    "",
                                    "[[faults]]",
                                    "provider = \"backup\"",
                                    "kind = \"stall\"",
                                    "start = \"3m\"",
                                    "duration = \"1m\"",
                                    "stall = \"20s\"",
                                    "reset = true",
                                    "after_tokens = 2",
                                    ""});
  const Result<Scenario> s = load_scenario_string(testing::join_lines(lines), "stream.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  const std::vector<Fault>& f = s->providers[1].faults;
  ASSERT_EQ(f.size(), 3U);
  EXPECT_EQ(f[0].kind, FaultKind::stream_error);
  EXPECT_EQ(f[0].status, 529);  // overloaded unless said otherwise
  EXPECT_EQ(f[0].after_tokens, 7);
  EXPECT_EQ(f[1].kind, FaultKind::unterminated);
  EXPECT_EQ(f[1].after_tokens, 0);
  EXPECT_EQ(f[2].kind, FaultKind::stall);
  EXPECT_EQ(f[2].stall, sec(20));
  EXPECT_TRUE(f[2].reset);
  EXPECT_EQ(f[2].after_tokens, 2);
}

TEST(ScenarioLoad, RejectsAnUnreadableFileWithItsPath) {
  const Result<Scenario> s = load_scenario_file("/nonexistent/storm.toml");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().where, "/nonexistent/storm.toml");
}

// One bad edit of the small scenario and the error it must produce.
struct BadCase {
  const char* name;
  std::size_t line;        // 1-based line edited
  const char* text;        // the new text (may span lines)
  bool insert_after;       // insert after `line` instead of replacing it
  std::size_t error_line;  // the line the error must name
  const char* anchor;      // the column is where this starts on that line ("" = 1)
  const char* what;        // a substring of Error::what
};

std::ostream& operator<<(std::ostream& os, const BadCase& c) {
  return os << c.name;
}

class ScenarioLoadRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ScenarioLoadRejects, NamingTheLineColumnAndKey) {
  const BadCase& c = GetParam();
  std::vector<std::string> lines = small_scenario_lines();
  ASSERT_LE(c.line, lines.size());
  if (c.insert_after) {
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(c.line), c.text);
  } else {
    lines[c.line - 1] = c.text;
  }
  const std::string text = testing::join_lines(lines);
  const Result<Scenario> s = load_scenario_string(text, "bad.toml");
  ASSERT_FALSE(s.has_value());
  // The expected column: where the anchor starts on the named line of the final text.
  std::vector<std::string> final_lines;
  std::stringstream in(text);
  for (std::string l; std::getline(in, l);) final_lines.push_back(l);
  ASSERT_LE(c.error_line, final_lines.size());
  const std::size_t col = std::string(c.anchor).empty() ? 0 : final_lines[c.error_line - 1].find(c.anchor);
  ASSERT_NE(col, std::string::npos);
  EXPECT_EQ(s.error().where, "bad.toml:" + std::to_string(c.error_line) + ":" + std::to_string(col + 1))
      << s.error().message();
  EXPECT_NE(s.error().what.find(c.what), std::string::npos) << s.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    EachKindOfBadInput, ScenarioLoadRejects,
    ::testing::Values(
        BadCase{"UnknownTopLevelKey", 0, "wobble = 1", true, 1, "wobble", "wobble: unknown key"},
        BadCase{"UnknownTrafficKey", 7, "burst = 3", true, 8, "burst", "traffic.burst: unknown key"},
        BadCase{"WrongType", 7, "rate_rpm = \"fast\"", false, 7, "\"fast\"", "traffic.rate_rpm: expected an integer"},
        BadCase{"NegativeRate", 7, "rate_rpm = -5", false, 7, "-5", "must be between 0 and 60000000 but is -5"},
        BadCase{"NegativeDuration", 3, "duration = \"-10m\"", false, 3, "\"-10m\"",
                "scenario.duration: \"-10m\" must not be negative"},
        BadCase{"ShareAboveAHundredPercent", 12, "route = \"main\"\nshare = 1.5", false, 13, "1.5",
                "traffic.classes[0].share: is above 1: a bare number is a share in [0, 1]"},
        BadCase{"KeyOfAnotherSchedule", 7, "peak_rpm = 5000", true, 8, "5000", "applies only to schedule = \"spike\""},
        BadCase{"SharesThatDoNotAddUp", 12, "route = \"main\"\nshare = \"90%\"", false, 10, "",
                "shares add up to 90% instead of 100%"},
        BadCase{"ClassWithoutRouteOrTier", 12, "stream = false", false, 10, "",
                "traffic.classes[0]: needs exactly one of tier and route"},
        BadCase{"TokensOutOfOrder", 14, "output_tokens = { lo = 400, hi = 100 }", false, 14, "100",
                "hi (100) must not be below lo (400)"},
        BadCase{"LatencyP50AboveP99", 28, "latency = { p50 = \"3s\", p99 = \"2s\" }", false, 28, "\"2s\"",
                "providers[0].sim.latency.p99: p99 (2s) must not be below p50 (3s)"},
        BadCase{"MissingLatency", 28, "", false, 27, "", "providers[0].sim.latency: is required but missing"},
        BadCase{"ConfigErrorsKeepTheirLine", 42, "targets = [{ provider = \"nobody\", model = \"m1\" }]", false, 42,
                "\"nobody\"", "routes[0].targets[0].provider: names a provider \"nobody\""},
        BadCase{"FaultOnAnUndefinedProvider", 50, "provider = \"primry\"", false, 50, "\"primry\"",
                "faults[0].provider: names a provider \"primry\" that is not defined"},
        BadCase{"FaultStartingAfterTheEnd", 52, "start = \"10m\"", false, 52, "\"10m\"",
                "faults[0].start: starts at 10m, not before the scenario's end (10m)"},
        BadCase{"FaultEndingAfterTheEnd", 53, "duration = \"9m30s\"", false, 53, "\"9m30s\"",
                "faults[0].duration: ends at 10m30s, after the scenario's end"},
        BadCase{"KeyOfAnotherFaultKind", 51, "kind = \"hang\"", false, 55, "\"10s\"",
                "faults[0].delay: applies only to kind = \"http_error\" or \"connect_error\""},
        BadCase{"FaultStatusThatIsNoError", 55, "status = 200", true, 56, "200",
                "faults[0].status: must be between 400 and 599 but is 200"},
        BadCase{"StreamErrorWithAStatusClientsCannotReadBack", 55,
                "[[faults]]\nprovider = \"backup\"\nkind = \"stream_error\"\nstart = \"2m\"\nduration = \"1m\"\nstatus "
                "= 503",
                true, 61, "503", "status: a stream_error is 529 (overloaded), 429 or 500"},
        BadCase{"StallWithoutItsDuration", 55,
                "[[faults]]\nprovider = \"backup\"\nkind = \"stall\"\nstart = \"2m\"\nduration = \"1m\"", true, 56, "",
                "stall: is required"},
        BadCase{
            "StallOfNothing", 55,
            "[[faults]]\nprovider = \"backup\"\nkind = \"stall\"\nstart = \"2m\"\nduration = \"1m\"\nstall = \"0s\"",
            true, 61, "\"0s\"", "stall: must be positive and at most 1h"},
        BadCase{"AfterTokensOnAnotherKind", 55, "after_tokens = 3", true, 56, "3",
                "faults[0].after_tokens: applies only to kind = \"stream_error\" or \"unterminated\" or \"stall\""},
        BadCase{"TimeOfDayWithoutClockStart", 52, "start = 11:23:00", false, 52, "11:23", "needs scenario.clock_start"},
        BadCase{"DuplicateFaultStream", 55,
                "[[faults]]\nprovider = \"primary\"\nkind = \"http_error\"\nstart = \"2m\"\nduration = \"1m\"\nname = "
                "\"storm\"",
                true, 61, "\"storm\"", "draws from the same random stream \"storm\""},
        BadCase{
            "TwoFaultsOnOneStream", 55,
            "[[faults]]\nprovider = \"backup\"\nkind = \"connect_error\"\nstart = \"2m\"\nduration = "
            "\"1m\"\n[[faults]]\nprovider = \"backup\"\nkind = \"connect_error\"\nstart = \"2m\"\nduration = \"30s\"",
            true, 61, "", "draws from the same random stream \"connect_error@120000000\""},
        BadCase{"ExpectationOnAnUnknownPolicy", 69, "policy = \"drect\"", false, 69, "\"drect\"",
                "expect[2].policy: names a policy \"drect\" that this scenario does not run (it runs: policy, direct)"},
        BadCase{"UnknownMetric", 65, "metric = \"uptime\"", false, 65, "\"uptime\"", "\"uptime\" is not a metric"},
        BadCase{"BoundInTheWrongUnit", 66, "at_most = 60", false, 66, "60", "expected a duration string"},
        BadCase{"CountBoundWrittenAsADuration", 65, "metric = \"dropped\"", false, 66, "\"60s\"",
                "expected an integer"},
        BadCase{"NeverOnACount", 61, "metric = \"dropped\"", false, 62, "true",
                "expect[0].never: applies only to metric = \"overflow_at\""},
        BadCase{"OverflowWithoutABuffer", 17, "capacity = 0", false, 61, "\"overflow_at\"",
                "overflow_at needs a bounded buffer"},
        BadCase{"TwoBounds", 62, "never = true\nat_most = \"1m\"", false, 60, "",
                "needs exactly one of at_least, at_most, between and never"},
        BadCase{"CustomBaselineErrorAtItsOwnLine", 58,
                "[[baselines.custom]]\nname = \"x\"\n[baselines.custom.policy.breaker]\nconsecutive_failures = -1",
                true, 62, "-1", "baselines.custom[0] (\"x\"): policy.breaker.consecutive_failures: must be at least 0"},
        BadCase{"UnknownKeyInACustomBaseline", 58,
                "[[baselines.custom]]\nname = \"x\"\n[baselines.custom.policy.breaker]\nconsecutive_failure = 3", true,
                62, "consecutive_failure", "policy.breaker.consecutive_failure: unknown key"},
        BadCase{"SyntaxError", 7, "rate_rpm = = 5", false, 7, "= 5", "TOML syntax error"}),
    [](const ::testing::TestParamInfo<BadCase>& param_info) { return std::string(param_info.param.name); });

TEST(ScenarioLoad, AcceptsTheSmallScenario) {
  const Result<Scenario> s = load_scenario_string(small_scenario(), "dir/small.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->name, "small");
  EXPECT_EQ(s->path, "dir/small.toml");
  EXPECT_EQ(s->traffic.classes[0].route, 0U);
  EXPECT_EQ(s->traffic.classes[0].tier, kNoIndex);
  EXPECT_EQ(s->providers[1].name, "backup");
  EXPECT_EQ(s->providers[1].models[0].id, "m2");
  ASSERT_EQ(s->expectations.size(), 3U);
  EXPECT_EQ(s->expectations[2].policy, "direct");
}

}  // namespace
}  // namespace failover::sim
