// The config writer: what it writes loads back to the same text, every policy key it
// knows shows in the text, and values keep the loader's spelling.
#include "core/config/write.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/config/load.h"
#include "core/config/policy_override.h"

namespace failover::config {
namespace {

const std::string kExample = std::string(FAILOVER_SOURCE_DIR) + "/examples/live.toml";

constexpr std::string_view kMinimal = R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)";

std::string written(const Config& c) {
  const Result<std::string> text = config_toml(c);
  EXPECT_TRUE(text.has_value()) << text.error().message();
  return text ? *text : std::string();
}

// The text of kMinimal with `overrides` applied, written; empty (with a test failure) when
// it does not load.
std::string minimal_written(const std::vector<PolicyOverride>& overrides) {
  Result<toml::table> root = parse_toml(kMinimal, "minimal.toml");
  EXPECT_TRUE(root.has_value());
  const Status applied = apply_policy_overrides(*root, overrides);
  EXPECT_TRUE(applied.has_value()) << applied.error().message();
  const Result<Config> c = config_from_table(*root, "minimal.toml", LoadOptions{});
  EXPECT_TRUE(c.has_value()) << (overrides.empty() ? "" : overrides.front().key) << ": " << c.error().message();
  return c ? written(*c) : std::string();
}

TEST(ConfigWrite, TheExampleLoadsBackToTheSameText) {
  const Result<Config> example = load_config_file(kExample);
  ASSERT_TRUE(example.has_value()) << example.error().message();
  const std::string text = written(*example);
  const Result<Config> again = load_config_string(text, "written.toml");
  ASSERT_TRUE(again.has_value()) << again.error().message() << "\n" << text;
  EXPECT_EQ(written(*again), text);
  // What the example sets beyond the defaults is spelt as the example spells it.
  for (const std::string_view line :
       {"hedge_after = \"8s\"", "capability_fallback = \"long-context\"", "downgrade_to = \"medium\"",
        "selection = \"cheapest\"", "weight = 3", "input_usd_per_mtok = 0.35", "output_usd_per_mtok = 15.0",
        "context_window = 1047576", "open_max = \"5m\"", "adaptive_throttle = true", "budget_usd = 50.0",
        "on_exhausted = \"downgrade\"", "code = 409", "class = \"transient\"", "api_key_env = \"DEEPSEEK_API_KEY\"",
        "base_url = \"https://api.openai.com/v1\"", "protocol = \"anthropic\"", "tpm_max = 4000000"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in:\n" << text;
  }
}

// Each key of the policy schema, set to a value other than its default, changes the text
// and survives the round trip: the writer forgets no field the loader reads.
TEST(ConfigWrite, EveryPolicyKeyShowsInTheTextAndLoadsBack) {
  const std::string defaults = minimal_written({});
  ASSERT_FALSE(defaults.empty());
  const std::vector<PolicyOverride> keys = {
      {"breaker.consecutive_failures", "7"},
      {"breaker.failure_rate", "\"35%\""},
      {"breaker.window_calls_min", "9"},
      {"breaker.window", "\"45s\""},
      {"breaker.slow_call_threshold", "\"7s\""},
      {"breaker.slow_call_rate", "0.65"},
      {"breaker.open_base", "\"7s\""},
      {"breaker.open_max", "\"3m\""},
      {"breaker.healthy_period", "\"2m\""},
      {"breaker.half_open_probes", "2"},
      {"breaker.min_available_targets", "0"},
      {"retry.attempts_max", "4"},
      {"retry.backoff", "\"decorrelated_jitter\""},
      {"retry.backoff_base", "\"250ms\""},
      {"retry.backoff_max", "\"20s\""},
      {"retry.budget_ratio", "\"12.5%\""},
      {"retry.budget_min_per_second", "3"},
      {"retry.budget_max", "40"},
      {"retry.retry_after_max", "\"30s\""},
      {"retry.retry_after_jitter", "\"0.01%\""},
      {"retry.adaptive_throttle", "true"},
      {"retry.throttle_k", "1.5"},
      {"retry.throttle_window", "\"1m\""},
      {"timeouts.request", "\"90s\""},
      {"timeouts.attempt", "\"20s\""},
      {"timeouts.first_byte", "\"5s\""},
      {"timeouts.connect", "\"3s\""},
      {"queue.depth_max", "500"},
      {"queue.requests_max", "30000"},
      {"queue.when_unavailable", "\"fail\""},
      {"queue.discipline", "\"fifo\""},
      {"queue.lifo_share", "\"75%\""},
      {"queue.lifo_after", "\"2s\""},
      {"concurrency.inflight_max", "77"},
      {"concurrency.adaptive", "false"},
      {"cost.budget_usd", "12.345678"},
      {"cost.budget_window", "\"30m\""},
      {"cost.on_exhausted", "\"reject\""},
      {"health.ewma_weight", "0.3"},
      {"health.ewma_idle_half_life", "\"20s\""},
      {"health.misconfigured_cooldown", "\"1m\""},
      {"classify.effects.rate_limited.health", "true"},
      {"classify.effects.transient.retry", "false"},
      {"classify.effects.timeout.fallback", "false"},
  };
  for (const PolicyOverride& key : keys) {
    const std::string text = minimal_written({key});
    EXPECT_NE(text, defaults) << key.key << " = " << key.value << " does not show in the text";
    const Result<Config> again = load_config_string(text, "written.toml");
    ASSERT_TRUE(again.has_value()) << key.key << ": " << again.error().message();
    EXPECT_EQ(written(*again), text) << key.key;
  }
}

TEST(ConfigWrite, RatiosKeepTheirPercentSpellingAndNumbersTheirMillionths) {
  const std::string text = minimal_written({{"breaker.failure_rate", "\"99.97%\""},
                                            {"breaker.slow_call_rate", "0.1234567"},
                                            {"cost.budget_usd", "0.000001"}});
  EXPECT_NE(text.find("failure_rate = \"99.97%\""), std::string::npos) << text;
  // The loader rounds a number to a millionth (docs/config.md): 0.123457 is 12.3457%.
  EXPECT_NE(text.find("slow_call_rate = \"12.3457%\""), std::string::npos) << text;
  const Result<Config> again = load_config_string(text, "written.toml");
  ASSERT_TRUE(again.has_value()) << again.error().message();
  EXPECT_EQ(again->policy.cost.budget_micro_usd, 1);
}

TEST(ConfigWrite, WritesNoSimTableAndEveryStatusOverride) {
  const Result<Config> c = load_config_string(std::string(kMinimal) + R"(
[[policy.classify.status]]
code = 409
class = "transient"
[[policy.classify.status]]
code = 529
class = "rate_limited"
)",
                                              "t.toml");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  const std::string text = written(*c);
  EXPECT_EQ(text.find("sim"), std::string::npos);
  EXPECT_NE(text.find("code = 529"), std::string::npos) << text;
  const Result<Config> again = load_config_string(text, "written.toml");
  ASSERT_TRUE(again.has_value()) << again.error().message();
  ASSERT_EQ(again->policy.classify.status_overrides.size(), 2U);
  EXPECT_EQ(again->policy.classify.status_overrides[1].cls, OutcomeClass::rate_limited);
}

}  // namespace
}  // namespace failover::config
