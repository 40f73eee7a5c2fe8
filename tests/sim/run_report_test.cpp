#include "sim/run_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/sim/report_test_support.h"

namespace failover::sim {
namespace {

using testing::count_of;
using testing::Fixture;
using testing::kOddName;
using testing::well_formed_json;
using testing::well_formed_xml;

// The hand-built result with every check passing, four runs timed.
ScenarioRun passing_run(const Fixture& f) {
  ScenarioRun run{f.result, {0.5, 0.25, 0.0, 1.0}, std::nullopt};
  for (CheckResult& c : run.result.checks) c.passed = true;
  return run;
}

TEST(RunReport, TheHeadingNamesTheScenarioItsFileAndSeeds) {
  const Fixture f;
  EXPECT_EQ(scenario_heading(f.scenario),
            "scenario: tiny-storm -- Storm <i>1</i> & \"two\"\nfile: scenarios/tiny-storm.toml\nseeds: 7, 8\n");
}

TEST(RunReport, TheVerdictPassesOnlyWhenEveryCheckRunAndRepeatHeld) {
  const Fixture f;
  ScenarioRun run = passing_run(f);
  EXPECT_TRUE(run.passed());
  EXPECT_EQ(verdict_text(run), "\ntiny-storm: PASS\n");
  run.deterministic = true;
  EXPECT_EQ(verdict_text(run), "\ntiny-storm: PASS\n");
  run.deterministic = false;
  EXPECT_FALSE(run.passed());
  EXPECT_EQ(verdict_text(run), "\ntiny-storm: FAIL\n");
  run.deterministic.reset();
  run.result.violation = "policy seed 7: at 12 s, target 0 idle";
  EXPECT_EQ(
      verdict_text(run),
      "\ninvariant broken: policy seed 7: at 12 s, target 0 idle\n\ntiny-storm: FAIL (a liveness invariant broke)\n");
  run.result.conserved = false;
  EXPECT_EQ(verdict_text(run).substr(verdict_text(run).rfind("tiny")), "tiny-storm: FAIL (a run lost requests)\n");
  const ScenarioRun as_built{f.result, {}, std::nullopt};
  EXPECT_FALSE(as_built.passed());  // a check fails
}

TEST(RunReport, TheTablesShowEveryRunCheckAndWallTime) {
  const Fixture f;
  const std::string tables = scenario_tables(ScenarioRun{f.result, {0.5, 0.25, 0.0, 1.0}, std::nullopt});
  EXPECT_EQ(tables.rfind("\npolicy         ", 0), 0U);
  EXPECT_NE(tables.find("\nacross 2 seeds, min / median / max:\n"), std::string::npos);
  const std::string wide(kOddName.size() - 6, ' ');  // the policy column fits the longest name
  EXPECT_NE(tables.find("PASS  policy" + wide + " availability"), std::string::npos);
  EXPECT_NE(tables.find("FAIL  " + kOddName + " dropped"), std::string::npos);
  EXPECT_NE(tables.find("0123456789abcdef"), std::string::npos);
  EXPECT_NE(tables.find("0.500 s"), std::string::npos);
  EXPECT_NE(tables.find("600x"), std::string::npos);                  // five simulated minutes in 0.5 s
  EXPECT_NE(tables.find("0.000 s            -"), std::string::npos);  // too fast to time
  EXPECT_NE(tables.find("+2.0 min"), std::string::npos);              // the overflow, after overflow_from
  EXPECT_EQ(count_of(tables, " yes\n"), 4U);
}

TEST(RunReport, OneSeedHasNoSpreadAndNoCheckSaysSo) {
  Fixture f;
  f.scenario.seeds = {7};
  for (PolicyResult& p : f.result.policies) p.runs.resize(1);
  f.result.checks.clear();
  const std::string tables = scenario_tables(ScenarioRun{f.result, {0.1, 0.1}, std::nullopt});
  EXPECT_EQ(tables.find("across"), std::string::npos);
  EXPECT_NE(tables.find("(no expectations)\n"), std::string::npos);
}

TEST(RunReport, TheDocumentsCountEveryScenarioAndNameTheFailedOnes) {
  const Fixture f;
  RunDocuments docs;
  EXPECT_TRUE(docs.passed());
  EXPECT_EQ(docs.json(), "{\n  \"format\": \"failover-run/1\",\n  \"passed\": true,\n  \"scenarios\": []\n}\n");
  docs.add(passing_run(f));
  EXPECT_TRUE(docs.passed());
  EXPECT_EQ(docs.tally(), "");  // one scenario: its verdict says it all
  ScenarioRun failing{f.result, {0.5, 0.25, 0.0, 1.0}, false};
  docs.add(failing);
  EXPECT_FALSE(docs.passed());
  EXPECT_EQ(docs.tally(), "\n2 scenarios: 1 passed, 1 failed (tiny-storm)\n");
}

TEST(RunReport, TheJsonHoldsOneLinePerRunAndPolicyAndCheck) {
  const Fixture f;
  RunDocuments docs;
  docs.add(passing_run(f));
  const std::string json = docs.json();
  ASSERT_TRUE(well_formed_json(json));
  EXPECT_EQ(json.rfind("{\n  \"format\": \"failover-run/1\",\n  \"passed\": true,\n  \"scenarios\": [\n    {\n      "
                       "\"scenario\": \"tiny-storm\",\n",
                       0),
            0U);
  EXPECT_NE(
      json.find(
          "\"seeds\": [7, 8],\n      \"passed\": true,\n      \"conserved\": true,\n      \"deterministic\": null,\n   "
          "   \"warnings\": [],\n      \"runs\": [\n        {\"scenario\": \"tiny-storm\", \"policy\": \"policy\", "
          "\"seed\": 7, \"digest\": "
          "\"0123456789abcdef\", \"sim\": {\"requests\": 3000, \"events\": 12345, \"wall_seconds\": 0.500000}"),
      std::string::npos);
  EXPECT_EQ(count_of(json, "\n        {\"scenario\": "), 4U);
  EXPECT_EQ(count_of(json, "\n        {\"policy\": "), 2U);
  EXPECT_EQ(count_of(json, "\n        {\"name\": "), 2U);
  EXPECT_NE(json.find("\"overflow_at_seconds\": 180.000000"), std::string::npos);
  EXPECT_NE(json.find("\"overflow_at_seconds\": null"), std::string::npos);
  EXPECT_NE(json.find("\"dropped\": {\"min\": 20, \"median\": 20, \"max\": 20}"), std::string::npos);
  EXPECT_NE(json.find("\"cost_usd\": 0.150000, \"possibly_billed_usd\": 0.050000, \"plan_cost_usd\": 0.200000, "
                      "\"world\": \"sim\"}"),
            std::string::npos);
  EXPECT_TRUE(json.ends_with("}\n      ]\n    }\n  ]\n}\n"));
}

TEST(RunReport, TheJunitHasASuitePerScenarioWithItsDeterminismCase) {
  const Fixture f;
  RunDocuments docs;
  docs.add(passing_run(f));
  docs.add(ScenarioRun{f.result, {0.5, 0.25, 0.0, 1.0}, false});
  const std::string xml = docs.junit();
  ASSERT_TRUE(well_formed_xml(xml));
  EXPECT_EQ(count_of(xml, "<testsuite "), 2U);
  EXPECT_EQ(count_of(xml, "name=\"determinism\""), 1U);
  EXPECT_NE(xml.find("<testsuites name=\"failover\" tests=\"7\" failures=\"2\""), std::string::npos);
}

}  // namespace
}  // namespace failover::sim
