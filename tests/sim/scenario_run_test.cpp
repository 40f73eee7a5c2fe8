#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/expect.h"
#include "sim/scenario_load.h"
#include "tests/sim/scenario_test_support.h"

namespace failover::sim {
namespace {

Scenario load_or_die(const std::string& text) {
  Result<Scenario> s = load_scenario_string(text, "small.toml");
  EXPECT_TRUE(s.has_value()) << s.error().message();
  return s.has_value() ? std::move(*s) : Scenario{};
}

// 10 simulated minutes at 2,400 requests/minute, a 94% 503 storm from minute 1 to 9 on
// the primary, a 3-minute buffer, two seeds: the policy fails over, `direct` overflows.
TEST(RunScenario, TheDefaultPolicyPassesAndDirectOverflows) {
  const Scenario s = load_or_die(testing::small_scenario());
  ASSERT_EQ(s.policies.size(), 2U);
  const ScenarioResult r = run_scenario(s);
  EXPECT_EQ(r.scenario, &s);
  EXPECT_TRUE(r.conserved);
  ASSERT_EQ(r.policies.size(), 2U);
  ASSERT_EQ(r.policies[0].runs.size(), 2U);
  EXPECT_EQ(r.policies[0].runs[1].seed, 2U);
  ASSERT_EQ(r.checks.size(), 3U);
  EXPECT_TRUE(r.checks[0].passed) << r.checks[0].measured;  // policy: overflow never
  EXPECT_TRUE(r.checks[1].passed) << r.checks[1].measured;  // policy: failover <= 60 s
  EXPECT_FALSE(r.checks[2].passed);                         // direct: overflow never
  EXPECT_EQ(r.checks[2].policy, "direct");
  for (const RunResult& run : r.policies[1].runs) {
    ASSERT_TRUE(run.overflow_at.has_value());
    const double after = metric_value(Metric::overflow_at, s, run, nullptr);
    EXPECT_GT(after, 2.0);  // 7,200 held at ~2,260 more per minute: about 3 minutes
    EXPECT_LT(after, 5.0);
  }
  EXPECT_GE(metric_value(Metric::availability, s, r.policies[0].runs[0], nullptr), 99.9);
  EXPECT_FALSE(r.passed());
}

TEST(RunScenario, RepeatsEachDigestForTheSameSeedAndNotAcrossSeeds) {
  const Scenario s = load_or_die(testing::small_scenario());
  const ScenarioResult a = run_scenario(s);
  // Tasks handed out in reverse: each writes its own slot, so nothing changes.
  const ScenarioResult b = run_scenario(s, [](std::size_t count, const std::function<void(std::size_t)>& task) {
    for (std::size_t i = count; i > 0; --i) task(i - 1);
  });
  for (std::size_t p = 0; p < a.policies.size(); ++p) {
    for (std::size_t i = 0; i < a.policies[p].runs.size(); ++i) {
      EXPECT_EQ(a.policies[p].runs[i].digest, b.policies[p].runs[i].digest);
      EXPECT_EQ(a.policies[p].runs[i].events, b.policies[p].runs[i].events);
    }
    EXPECT_NE(a.policies[p].runs[0].digest, a.policies[p].runs[1].digest);
  }
  for (std::size_t c = 0; c < a.checks.size(); ++c) EXPECT_EQ(a.checks[c].measured, b.checks[c].measured);
}

// Independent faults written in another order give the very same run: the loader
// orders each provider's faults by start and name.
TEST(RunScenario, ReorderingFaultTablesInTheFileChangesNoRun) {
  std::vector<std::string> lines = testing::small_scenario_lines();
  lines[2] = "duration = \"4m\"";
  lines[3] = "seeds = [5]";
  lines[7] = "";
  lines[52] = "duration = \"2m\"";
  const std::vector<std::string> brownout = {"[[faults]]",
                                             "provider = \"backup\"",
                                             "kind = \"latency\"",
                                             "start = \"90s\"",
                                             "duration = \"1m\"",
                                             "factor = 4.0",
                                             ""};
  const std::vector<std::string> cut = {"[[faults]]",
                                        "provider = \"primary\"",
                                        "kind = \"truncated\"",
                                        "start = \"2m\"",
                                        "duration = \"1m\"",
                                        "intensity = \"5%\"",
                                        ""};
  std::vector<std::string> first = lines;
  std::vector<std::string> second = lines;
  first.insert(first.begin() + 56, cut.begin(), cut.end());
  first.insert(first.begin() + 47, brownout.begin(), brownout.end());
  second.insert(second.begin() + 56, brownout.begin(), brownout.end());
  second.insert(second.begin() + 47, cut.begin(), cut.end());
  const Scenario a = load_or_die(testing::join_lines(first));
  const Scenario b = load_or_die(testing::join_lines(second));
  ASSERT_EQ(a.providers[0].faults.size(), 2U);
  const RunResult ra = run_simulation(a.run_spec(a.policies[0], 5));
  const RunResult rb = run_simulation(b.run_spec(b.policies[0], 5));
  EXPECT_TRUE(ra.conserved);
  EXPECT_EQ(ra.digest, rb.digest);
  EXPECT_EQ(ra.events, rb.events);
}

TEST(RunScenario, RunsAScenarioWithoutExpectationsAndStillChecksConservation) {
  std::vector<std::string> lines = testing::small_scenario_lines();
  lines.resize(59);  // no [[expect]]
  lines[2] = "duration = \"2m\"";
  lines[3] = "seeds = [9]";
  lines[7] = "";
  lines[51] = "start = \"30s\"";
  lines[52] = "duration = \"1m\"";
  const Scenario s = load_or_die(testing::join_lines(lines));
  const ScenarioResult r = run_scenario(s);
  EXPECT_TRUE(r.checks.empty());
  EXPECT_TRUE(r.conserved);
  EXPECT_TRUE(r.passed());
}

// Every target open and when_unavailable = "fail": the engine fails a delivery at the
// instant it is made. Redelivered at once, it would fail again at that instant forever;
// it ends failed instead, and the run finishes.
TEST(RunScenario, AMessageFailingAtTheInstantOfDeliveryIsNotRedeliveredForever) {
  std::vector<std::string> lines = testing::small_scenario_lines();
  lines.resize(56);  // no baselines, no expectations
  lines[2] = "duration = \"3m\"";
  lines[3] = "seeds = [3]";
  lines[6] = "rate_rpm = 240";
  lines[7] = "";
  lines[45] = "requests_max = 20000\nwhen_unavailable = \"fail\"";
  lines[52] = "duration = \"90s\"";
  lines[53] = "intensity = \"100%\"";
  const std::vector<std::string> backup = {"[[faults]]",     "provider = \"backup\"", "kind = \"http_error\"",
                                           "start = \"1m\"", "duration = \"90s\"",    "delay = \"10s\""};
  lines.insert(lines.end(), backup.begin(), backup.end());
  const Scenario s = load_or_die(testing::join_lines(lines));
  const RunResult r = run_simulation(s.run_spec(s.policies[0], 3));
  EXPECT_TRUE(r.conserved);
  EXPECT_GT(r.failed_by[static_cast<std::size_t>(EndReason::no_target)], 0);
  EXPECT_LT(r.events, 1'000'000U);
}

}  // namespace
}  // namespace failover::sim
