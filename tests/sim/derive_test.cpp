// `failover derive`'s timeline (sim/derive.h) on logs made here with a known profile:
// windows per provider and way of failing, merged while the intensity stays close,
// split where it jumps; brownouts against the provider's own median; the log's clock
// scaled by --time-scale; and the scenario text loads, with those faults.
#include "sim/derive.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

// One request per attempt on provider "a" (and one success on "b" beside it), `per_minute`
// a minute for `minutes` minutes; fail(minute, i) says how attempt i of the minute ends.
struct Profile {
  std::int64_t minutes = 10;
  std::int64_t per_minute = 50;
  std::int64_t time_divisor = 1;  // the log recorded against a fleet this much faster
};

LogAttempt attempt(const std::string& target, const std::string& outcome, std::int32_t status, std::int64_t ttfb) {
  LogAttempt a;
  a.provider = target.substr(0, target.find('/'));
  a.model = target.substr(target.find('/') + 1);
  a.outcome = outcome;
  a.status = status;
  a.first_byte_us = ttfb;
  a.duration_us = ttfb + 10;
  return a;
}

// The known timeline: minute 1: 20% 503; 2-4: 80% 503; 5: 78% 503; 6: time to first byte
// x5; 7-8: 60% 429; 9: 6% timeouts. Everything else succeeds in 120 ms.
TrafficLog known_log(const Profile& p) {
  TrafficLog log;
  const std::int64_t minute_us = 60'000'000 / p.time_divisor;
  for (std::int64_t m = 0; m < p.minutes; ++m) {
    for (std::int64_t i = 0; i < p.per_minute; ++i) {
      LogRequest q;
      q.line = static_cast<std::int64_t>(log.requests.size()) + 1;
      q.arrived_us = 1'765'000'000'000'000 + m * minute_us + i * minute_us / p.per_minute;
      q.route = "main";
      q.protocol = "anthropic";
      q.prompt_tokens = 100;
      const std::int64_t ttfb = (m == 6 ? 600'000 : 120'000) / p.time_divisor;
      const bool e503 = (m == 1 && i < 10) || (m >= 2 && m <= 4 && i < 40) || (m == 5 && i < 39);
      const bool e429 = (m == 7 || m == 8) && i < 30;
      const bool timeout = m == 9 && i < 3;
      if (e503) q.attempts.push_back(attempt("a/claude", "transient", 503, ttfb));
      if (e429) q.attempts.push_back(attempt("a/claude", "rate_limited", 429, ttfb));
      if (timeout) q.attempts.push_back(attempt("a/claude", "timeout", 0, -1));
      if (!q.attempts.empty()) q.attempts.back().start_us = 0;
      if (q.attempts.empty()) {
        q.attempts.push_back(attempt("a/claude", "success", 200, ttfb));
      } else {
        q.attempts.push_back(attempt("b/gpt", "success", 200, 50'000 / p.time_divisor));
        q.attempts.back().start_us = 1'000;
      }
      q.output_tokens = 10;
      log.requests.push_back(q);
    }
  }
  return log;
}

struct Expected {
  FaultKind kind;
  std::int32_t status;
  std::int64_t start_min;
  std::int64_t minutes;
  Ratio intensity;
};

void expect_timeline(const Derived& d) {
  const std::vector<Expected> expected = {
      {FaultKind::http_error, 503, 1, 1, {200'000, 1'000'000}},
      {FaultKind::http_error, 503, 2, 4, {795'000, 1'000'000}},  // (3 x 40 + 39) / 200
      {FaultKind::latency, 0, 6, 1, kRatioOne},
      {FaultKind::http_error, 429, 7, 2, {600'000, 1'000'000}},
      {FaultKind::hang, 0, 9, 1, {60'000, 1'000'000}},
  };
  ASSERT_EQ(d.faults.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const DerivedFault& f = d.faults[i];
    EXPECT_EQ(f.provider, "a") << i;
    EXPECT_EQ(f.fault.kind, expected[i].kind) << i;
    if (expected[i].kind == FaultKind::http_error) {
      EXPECT_EQ(f.fault.status, expected[i].status) << i;
    }
    EXPECT_EQ(f.fault.start, kTimeZero + minutes(expected[i].start_min)) << i;
    EXPECT_EQ(f.fault.duration, minutes(expected[i].minutes)) << i;
    EXPECT_EQ(f.fault.intensity, expected[i].intensity) << i;
  }
  EXPECT_EQ(d.faults[2].fault.latency_factor_permille, 5'000);
}

TEST(Derive, TurnsEachMinutesFailuresIntoMergedWindows) {
  const Derived d = derive_timeline(known_log({}), DeriveOptions{});
  expect_timeline(d);
  EXPECT_EQ(d.requests, 500);
  ASSERT_EQ(d.providers.size(), 2U);
  EXPECT_EQ(d.providers[0].name, "a");
  EXPECT_EQ(d.providers[0].protocol, "anthropic");
  ASSERT_TRUE(d.providers[0].latency.has_value());
  EXPECT_EQ(d.providers[0].latency->first, ms(120));  // the brownout minute is left out
  ASSERT_EQ(d.routes.size(), 1U);
  ASSERT_EQ(d.routes[0].targets.size(), 2U);
  EXPECT_EQ(d.routes[0].targets[0].first, "a");
}

TEST(Derive, ScalesTheLogsClockByTheFleetsTimeScale) {
  DeriveOptions o;
  o.time_scale = 60;
  const Derived d = derive_timeline(known_log({10, 50, 60}), o);
  expect_timeline(d);
  EXPECT_EQ(d.providers[0].latency->first, ms(120));
}

TEST(Derive, FromAnEarlierOriginTheMinutesCountFromThere) {
  const TrafficLog log = known_log({});
  DeriveOptions o;
  o.origin_us = log.requests.front().arrived_us - 60'000'000;  // a minute before the first request
  const Derived d = derive_timeline(log, o);
  ASSERT_EQ(d.faults.size(), 5U);
  EXPECT_EQ(d.faults[0].fault.start, kTimeZero + minutes(2));  // minute 1 of the log
  EXPECT_EQ(d.lead, minutes(1));
  DeriveText t;
  t.title = "later";
  t.log_path = "log.jsonl";
  t.command = "failover derive log.jsonl --from ...";
  const Result<std::string> text = derived_scenario_text(d, t);
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("arrivals_from = \"1m\""), std::string::npos) << *text;
}

TEST(Derive, AWiderMergeJoinsTheWindowsAndAHigherThresholdDropsTheSmallOnes) {
  DeriveOptions o;
  o.merge_within_ppm = 700'000;
  o.min_intensity_ppm = 100'000;  // the 6% of timeouts is below it
  const Derived d = derive_timeline(known_log({}), o);
  ASSERT_EQ(d.faults.size(), 3U);
  EXPECT_EQ(d.faults[0].fault.start, kTimeZero + minutes(1));
  EXPECT_EQ(d.faults[0].fault.duration, minutes(5));
  EXPECT_EQ(d.faults[0].fault.intensity, (Ratio{676'000, 1'000'000}));  // (10 + 3 x 40 + 39) / 250
  EXPECT_EQ(d.faults[1].fault.kind, FaultKind::latency);
  EXPECT_EQ(d.faults[2].fault.status, 429);
}

TEST(Derive, WritesAScenarioThatLoadsWithThoseFaults) {
  const Derived d = derive_timeline(known_log({}), DeriveOptions{});
  DeriveText t;
  t.title = "derived";
  t.log_path = "log.jsonl";
  t.command = "failover derive log.jsonl";
  const Result<std::string> text = derived_scenario_text(d, t);
  ASSERT_TRUE(text.has_value()) << text.error().message();
  const auto dir = std::filesystem::path(::testing::TempDir()) / "derive-writes";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "log.jsonl") << "{\"timestamp\": 0, \"route\": \"main\", \"prompt_tokens\": 1, "
                                      "\"output_tokens\": 1}\n";
  const Result<Scenario> s = load_scenario_string(*text, (dir / "derived.toml").string());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(s.has_value()) << s.error().message() << "\n" << *text;
  ASSERT_EQ(s->providers.size(), 2U);
  ASSERT_EQ(s->providers[0].faults.size(), 5U);
  const Ratio storm = s->providers[0].faults[1].intensity;
  EXPECT_EQ(storm.num * 1'000, storm.den * 795);
  EXPECT_EQ(s->providers[0].faults[3].status, 429);
  EXPECT_EQ(s->duration, minutes(15));  // the last window ends at 10 min (the log spans 9m58.8s), + 5
  EXPECT_NE(text->find("intensity = \"79.5%\"  # 159 of 200 attempts"), std::string::npos) << *text;
}

}  // namespace
}  // namespace failover::sim
