// The scenario library's own check: every scenario in scenarios/ loads, and each of its
// expectations on the policy under test is *failed* by at least one other policy the
// same file runs (a baseline or a deliberately mistuned custom policy). An expectation
// that no policy can fail is not a check.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/expect.h"
#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

std::vector<std::string> scenario_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(FAILOVER_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ScenarioLibrary, EveryExpectationOfThePolicyIsFailedByAWeakerPolicy) {
  const std::vector<std::string> files = scenario_files();
  ASSERT_FALSE(files.empty());
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    Result<Scenario> loaded = load_scenario_file(file);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    Scenario& s = *loaded;
    s.seeds.resize(1);  // one seed is enough to show a weaker policy fails
    const ScenarioResult result = run_scenario(s);
    ASSERT_GE(result.policies.size(), 2U) << "a scenario must run at least one weaker policy beside its own";
    for (const Expectation& e : s.expectations) {
      if (e.policy != "policy") continue;
      bool someone_fails = false;
      for (const PolicyResult& other : result.policies) {
        if (other.name == "policy") continue;
        Expectation moved = e;
        moved.policy = other.name;
        someone_fails |= !check_expectation(moved, s, other).passed;
      }
      EXPECT_TRUE(someone_fails) << "no weaker policy fails: " << e.text;
    }
  }
}

}  // namespace
}  // namespace failover::sim
