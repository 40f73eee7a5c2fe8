// The preflight (sim/preflight.h): a healthy-day replay that names the limit to blame,
// and the fault windows no call reached.
#include "sim/preflight.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

// Five minutes at `rpm`, a primary with `primary_concurrency` slots and 2-s answers, a
// backup, and a 503 storm on `storm_provider` from minute 1 to 4.
std::string scenario_text(int rpm, int primary_concurrency, const std::string& storm_provider) {
  return R"([scenario]
title = "preflight"
duration = "5m"
seeds = [1]

[traffic]
rate_rpm = )" +
         std::to_string(rpm) +
         R"(

[[traffic.classes]]
name = "all"
route = "main"
prompt_tokens = 500
output_tokens = 100

[[providers]]
name = "primary"
concurrency_max = )" +
         std::to_string(primary_concurrency) + R"(

[[providers.models]]
id = "m1"
input_usd_per_mtok = 3.0
output_usd_per_mtok = 15.0

[providers.sim]
latency = { constant = "2s" }

[[providers]]
name = "backup"
concurrency_max = 100

[[providers.models]]
id = "m2"
input_usd_per_mtok = 2.0
output_usd_per_mtok = 8.0

[providers.sim]
latency = { constant = "1s" }

[[providers]]
name = "spare"
concurrency_max = 100

[[providers.models]]
id = "m3"
input_usd_per_mtok = 1.0
output_usd_per_mtok = 2.0

[providers.sim]
latency = { constant = "1s" }

[[routes]]
name = "main"
targets = [
  { provider = "primary", model = "m1", priority = 0 },
  { provider = "backup", model = "m2", priority = 1 },
]

[[faults]]
name = "storm"
provider = ")" +
         storm_provider +
         R"("
kind = "http_error"
start = "1m"
duration = "3m"
intensity = "94%"
status = 503
)";
}

std::vector<std::string> warnings_of(const std::string& text) {
  const Result<Scenario> s = load_scenario_string(text, "preflight.toml");
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
  if (!s) return {"(did not load)"};
  const ScenarioResult result = run_scenario(*s);
  return preflight_warnings(*s, result, preflight_run(*s));
}

bool any_contains(const std::vector<std::string>& warnings, const std::string& text) {
  for (const std::string& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Preflight, SaysNothingWhenTheHealthyDayHoldsAndEveryFaultIsReached) {
  const std::vector<std::string> w = warnings_of(scenario_text(600, 100, "primary"));
  EXPECT_TRUE(w.empty()) << w.front();
}

// The primary's 10 slots of 2-s answers carry 300 requests/minute and the backup's 100
// slots of 1-s answers 6,000: 9,000 a minute overflow both on a healthy day, and the
// preflight names the limit that held longest.
TEST(Preflight, NamesTheSaturatedConcurrencyLimitWhenTheHealthyDayFails) {
  const std::vector<std::string> w = warnings_of(scenario_text(9'000, 10, "primary"));
  ASSERT_FALSE(w.empty());
  EXPECT_TRUE(any_contains(w, "On a healthy day (every fault removed, seed 1) `policy` fails: ")) << w.front();
  EXPECT_TRUE(any_contains(w, "Likely limit: concurrency_max 10 on primary was saturated 100% of the run"))
      << w.front();
  EXPECT_TRUE(any_contains(w, "% of the run at 9,0")) << w.front();
}

// The storm strikes a provider no route uses: it tests nothing, and the report says so.
TEST(Preflight, WarnsAboutAFaultWindowThatSawNoCall) {
  const std::vector<std::string> w = warnings_of(scenario_text(600, 100, "spare"));
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w.front(),
            "The fault `storm` on spare (from 1m 00s for 3m 00s) saw no call from any policy on seed 1: it "
            "tests nothing.");
}

}  // namespace
}  // namespace failover::sim
