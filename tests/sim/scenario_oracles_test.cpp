// The scenario library under the oracles: on every scenario in scenarios/, on its own
// seeds (the first two), the policy under test does no harm next to `direct` and has a
// healthy day without the faults (sim/oracle.h). One test per file, so that ctest
// spreads them over the cores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/oracle.h"
#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

std::vector<std::string> scenario_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(FAILOVER_SOURCE_DIR "/scenarios")) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ScenarioOracles : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioOracles, ThePolicyDoesNoHarmAndHasAHealthyDay) {
  Result<Scenario> loaded = load_scenario_file(FAILOVER_SOURCE_DIR "/scenarios/" + GetParam() + ".toml");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
  Scenario& s = *loaded;
  if (s.seeds.size() > 2) s.seeds.resize(2);
  OracleSet set{};
  set[static_cast<std::size_t>(Oracle::do_no_harm)] = true;
  set[static_cast<std::size_t>(Oracle::healthy_day)] = true;
  for (const Verdict& v : judge_scenario(s, "policy", set)) {
    EXPECT_FALSE(v.failed) << oracle_name(v.oracle) << " (seed " << v.seed << "): " << v.detail;
    // Each library scenario is sized for its providers: a healthy day is always judged.
    if (v.oracle == Oracle::healthy_day) {
      EXPECT_TRUE(v.judged) << v.detail;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Library, ScenarioOracles, ::testing::ValuesIn(scenario_files()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace failover::sim
