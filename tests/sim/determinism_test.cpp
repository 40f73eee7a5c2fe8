#include "sim/determinism.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tests/sim/report_test_support.h"

namespace failover::sim {
namespace {

using testing::real_scenario;

TEST(Determinism, EveryRunOfARealScenarioRepeatsItself) {
  const Scenario s = real_scenario();
  const ScenarioResult r = run_scenario(s);
  EXPECT_TRUE(determinism_problems(r).empty());
  // Whatever order the tasks run in.
  std::size_t ran = 0;
  const ParallelFor backwards = [&](std::size_t count, const std::function<void(std::size_t)>& task) {
    for (std::size_t i = count; i > 0; --i, ++ran) task(i - 1);
  };
  EXPECT_TRUE(determinism_problems(r, backwards).empty());
  EXPECT_EQ(ran, s.policies.size() * s.seeds.size());
}

TEST(Determinism, ARunWhoseDigestDiffersIsNamedWithTheThreeDigests) {
  const Scenario s = real_scenario();
  ScenarioResult r = run_scenario(s);
  const std::string repeated = r.policies[0].runs[1].digest;
  r.policies[0].runs[1].digest = "00000000deadbeef";
  const std::vector<std::string> problems = determinism_problems(r);
  ASSERT_EQ(problems.size(), 1U);
  EXPECT_EQ(problems[0], "NOT DETERMINISTIC: tiny-storm, policy policy, seed 8: digests 00000000deadbeef, " + repeated +
                             ", " + repeated + "\n  the two recorded runs agree; the first run differed from both\n");
}

}  // namespace
}  // namespace failover::sim
