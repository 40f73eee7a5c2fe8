// A scenario over a live config ([scenario] config, sim/scenario_config.h): the policy
// under test is the live config itself -- the same engine config, field for field, as
// the live file loaded directly -- with the scenario's single-key overrides, and every
// way the two files could disagree is an error naming the file and line at fault.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/config/load.h"
#include "core/config/policy_override.h"
#include "core/config/write.h"
#include "sim/scenario_load.h"

namespace failover::sim {
namespace {

namespace fs = std::filesystem;

const std::string kExamples = std::string(FAILOVER_SOURCE_DIR) + "/examples";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every field of the engine config, by the canonical writer (core/config/write.h).
std::string canonical(const Config& c) {
  const Result<std::string> text = config::config_toml(c);
  EXPECT_TRUE(text.has_value()) << text.error().message();
  return text ? *text : std::string();
}

Config live_config(const std::vector<config::PolicyOverride>& overrides = {}) {
  Result<toml::table> root = parse_toml_file(kExamples + "/live.toml");
  EXPECT_TRUE(root.has_value());
  EXPECT_TRUE(config::apply_policy_overrides(*root, overrides).has_value());
  Result<Config> c = config_from_table(*root, "live.toml", LoadOptions{});
  EXPECT_TRUE(c.has_value()) << c.error().message();
  return c ? std::move(*c) : Config{};
}

// The example scenario's text with `from` replaced by `to` (once, and it must be there).
std::string example_with(std::string_view from, std::string_view to) {
  std::string text = read_file(kExamples + "/live-storm.toml");
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Loads `text` as if it sat in examples/, next to live.toml.
Result<Scenario> load_beside_live(const std::string& text, const std::vector<config::PolicyOverride>& overrides = {}) {
  return load_scenario_string(text, kExamples + "/test-scenario.toml", overrides);
}

void expect_error(const Result<Scenario>& r, const std::string& where, const std::string& fragment) {
  ASSERT_FALSE(r.has_value()) << "expected an error at " << where;
  EXPECT_EQ(r.error().where, where) << r.error().message();
  EXPECT_NE(r.error().what.find(fragment), std::string::npos) << r.error().message();
}

// The line (1-based) of the first occurrence of `needle` in the example.
std::string line_of(const std::string& text, std::string_view needle) {
  const std::size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return std::to_string(1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

TEST(ScenarioConfig, TheLiveConfigThroughAScenarioIsTheLiveConfigLoadedDirectly) {
  const Result<Scenario> s = load_scenario_file(kExamples + "/live-storm.toml");
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(s->config_path, kExamples + "/live.toml");
  const Config direct = live_config();
  EXPECT_EQ(canonical(s->policies.front().config), canonical(direct));
  // The fake providers are the scenario's, in the live config's provider order.
  ASSERT_EQ(s->providers.size(), direct.providers.size());
  for (std::size_t i = 0; i < direct.providers.size(); ++i) EXPECT_EQ(s->providers[i].name, direct.providers[i].name);
}

TEST(ScenarioConfig, ScenarioPolicyKeysOverrideTheLiveConfigKeyByKey) {
  const std::string text = example_with("[[faults]]", R"([policy.breaker]
open_base = "45s"

[policy.retry]
attempts_max = 2

[[faults]])");
  const Result<Scenario> s = load_beside_live(text);
  ASSERT_TRUE(s.has_value()) << s.error().message();
  const Config expected = live_config({{"breaker.open_base", "\"45s\""}, {"retry.attempts_max", "2"}});
  EXPECT_EQ(canonical(s->policies.front().config), canonical(expected));
  EXPECT_EQ(s->policies.front().config.policy.breaker.open_max, minutes(5));  // the live file's, kept
}

TEST(ScenarioConfig, SweepOverridesApplyOnTopOfTheLiveConfig) {
  const Result<Scenario> s =
      load_beside_live(read_file(kExamples + "/live-storm.toml"), {{"breaker.consecutive_failures", "9"}});
  ASSERT_TRUE(s.has_value()) << s.error().message();
  EXPECT_EQ(canonical(s->policies.front().config), canonical(live_config({{"breaker.consecutive_failures", "9"}})));
}

TEST(ScenarioConfig, ABadOverrideNamesTheScenarioLine) {
  const std::string text = example_with("[[faults]]", "[policy.breaker]\nopen_base = \"soon\"\n\n[[faults]]");
  expect_error(load_beside_live(text),
               kExamples + "/test-scenario.toml:" + line_of(text, "open_base = \"soon\"") + ":13",
               "policy.breaker.open_base");
}

TEST(ScenarioConfig, RoutesAndTiersComeFromTheLiveConfigOnly) {
  const std::string text = example_with("[[faults]]", "[[routes]]\nname = \"x\"\n\n[[faults]]");
  const Result<Scenario> s = load_beside_live(text);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().what.find("routes: comes from the live config " + kExamples + "/live.toml"), std::string::npos)
      << s.error().message();
}

TEST(ScenarioConfig, AProviderEntryHoldsOnlyItsNameAndSimTable) {
  const std::string text = example_with("name = \"openai\"\n", "name = \"openai\"\nrpm_max = 5\n");
  expect_error(load_beside_live(text), kExamples + "/test-scenario.toml:" + line_of(text, "rpm_max = 5") + ":1",
               "providers[1].rpm_max: comes from the live config");
}

TEST(ScenarioConfig, EveryLiveProviderNeedsItsSimTable) {
  const std::string text = example_with("name = \"deepseek\"", "name = \"deep-seek\"");
  expect_error(load_beside_live(text), kExamples + "/test-scenario.toml:" + line_of(text, "deep-seek") + ":8",
               "names provider \"deep-seek\", which");
}

TEST(ScenarioConfig, AMissingLiveConfigIsAnErrorNamingIt) {
  const std::string text = example_with("config = \"live.toml\"", "config = \"no-such.toml\"");
  const Result<Scenario> s = load_beside_live(text);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().where, kExamples + "/no-such.toml");
  EXPECT_NE(s.error().what.find("scenario.config"), std::string::npos) << s.error().message();
}

class ScenarioConfigFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("failover-scenario-config-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "live");
    fs::create_directories(dir_ / "ci");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }
  fs::path dir_;
};

// The scenario of docs/scenarios.md's layout: ci/storm.toml over live/prod.toml.
constexpr std::string_view kScenario = R"([scenario]
title = "t"
config = "../live/prod.toml"
duration = "10m"
seeds = [1]
[traffic]
rate_rpm = 60
[[traffic.classes]]
name = "c"
share = "100%"
route = "r"
prompt_tokens = 100
output_tokens = 10
[[providers]]
name = "a"
sim = { latency = { p50 = "100ms", p99 = "1s" } }
)";

constexpr std::string_view kLive = R"([[providers]]
name = "a"
base_url = "https://a.example"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
[policy.breaker]
open_base = "10s"
)";

TEST_F(ScenarioConfigFiles, AnErrorInTheLiveConfigNamesTheLiveFileAndLine) {
  write("live/prod.toml", std::string(kLive) + "open_max = \"later\"\n");
  write("ci/storm.toml", std::string(kScenario));
  const Result<Scenario> s = load_scenario_file((dir_ / "ci/storm.toml").string());
  expect_error(s, (dir_ / "live/prod.toml").string() + ":11:12", "policy.breaker.open_max");
}

TEST_F(ScenarioConfigFiles, AValidateErrorOnALiveKeyNamesTheLiveFile) {
  // The scenario lowers open_max below the live open_base: validate() judges the merged
  // policy and points at open_base, which sits in the live file.
  write("live/prod.toml", std::string(kLive));
  write("ci/storm.toml", std::string(kScenario) + "[policy.breaker]\nopen_max = \"5s\"\n");
  const Result<Scenario> s = load_scenario_file((dir_ / "ci/storm.toml").string());
  expect_error(s, (dir_ / "live/prod.toml").string() + ":10:13",
               "policy.breaker.open_base: must not exceed open_max (5s)");
}

TEST_F(ScenarioConfigFiles, ALiveConfigWithASimTableIsRefused) {
  write("live/prod.toml", std::string(kLive) + "[providers.sim]\nlatency = { mean = \"1s\" }\n");
  write("ci/storm.toml", std::string(kScenario));
  const Result<Scenario> s = load_scenario_file((dir_ / "ci/storm.toml").string());
  ASSERT_FALSE(s.has_value());
  EXPECT_TRUE(s.error().where.starts_with((dir_ / "live/prod.toml").string())) << s.error().message();
  EXPECT_NE(s.error().what.find("a sim table belongs in a scenario"), std::string::npos) << s.error().message();
}

TEST_F(ScenarioConfigFiles, AScenarioOverALiveConfigStandsAloneForDerivedFiles) {
  write("live/prod.toml", std::string(kLive));
  write("ci/storm.toml", std::string(kScenario));
  const std::string path = (dir_ / "ci/storm.toml").string();
  const Result<toml::table> root = parse_scenario_toml(std::string(kScenario), path);
  ASSERT_TRUE(root.has_value()) << root.error().message();
  EXPECT_FALSE((*root)["scenario"].as_table()->contains("config"));
  std::ostringstream text;
  text << toml::toml_formatter(*root, toml::format_flags::none);
  // Loaded from anywhere, the derived text is the same scenario.
  const Result<Scenario> alone = load_scenario_string(text.str(), "elsewhere/derived.toml");
  ASSERT_TRUE(alone.has_value()) << alone.error().message() << "\n" << text.str();
  const Result<Scenario> original = load_scenario_file(path);
  ASSERT_TRUE(original.has_value()) << original.error().message();
  EXPECT_EQ(canonical(alone->policies.front().config), canonical(original->policies.front().config));
  EXPECT_EQ(alone->policies.front().config.policy.breaker.open_base, sec(10));
}

}  // namespace
}  // namespace failover::sim
