// The TOML loader: the shipped example, value conversions, defaults, loader options,
// and that every kind of error names file:line:col and the key path.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "core/config/load.h"

namespace failover {
namespace {

const std::string kExample = std::string(FAILOVER_SOURCE_DIR) + "/examples/live.toml";

// One provider "a" with model "m", one route "r" over it: lines 1 to 7.
constexpr std::string_view kMinimal = R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)";

Result<Config> load(std::string_view text, const LoadOptions& options = {}) {
  return load_config_string(text, "t.toml", options);
}

Result<Config> load_minimal_plus(std::string_view extra, const LoadOptions& options = {}) {
  return load(std::string(kMinimal) + std::string(extra), options);
}

// Expects a load error at `where` whose `what` contains `fragment`.
void expect_error(const Result<Config>& r, const std::string& where, const std::string& fragment) {
  ASSERT_FALSE(r.has_value()) << "expected an error at " << where;
  EXPECT_EQ(r.error().where, where) << r.error().message();
  EXPECT_NE(r.error().what.find(fragment), std::string::npos) << r.error().message();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- the shipped example -----------------------------------------------------------

TEST(LoadExample, LoadsTheFourProvidersWithTheirPricesAndIds) {
  const Result<Config> r = load_config_file(kExample);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Config& c = *r;
  ASSERT_EQ(c.providers.size(), 4U);
  struct Expected {
    std::string_view provider, model;
    std::int64_t in, out;
    Protocol protocol;
  };
  const Expected expected[] = {
      {"anthropic", "claude-sonnet-4-5", 3'000'000, 15'000'000, Protocol::anthropic},
      {"openai", "gpt-4.1", 2'000'000, 8'000'000, Protocol::openai},
      {"google", "gemini-2.5-flash", 350'000, 2'500'000, Protocol::openai},
      {"deepseek", "deepseek-chat", 70'000, 420'000, Protocol::openai},
  };
  for (std::size_t i = 0; i < 4; ++i) {
    const ProviderConfig& p = c.providers[i];
    EXPECT_EQ(p.name, expected[i].provider);
    EXPECT_EQ(p.protocol, expected[i].protocol);
    ASSERT_EQ(p.models.size(), 1U);
    EXPECT_EQ(p.models[0].id, expected[i].model);
    EXPECT_EQ(p.models[0].input_micro_usd_per_mtok, expected[i].in) << p.name;
    EXPECT_EQ(p.models[0].output_micro_usd_per_mtok, expected[i].out) << p.name;
  }
  EXPECT_EQ(c.providers[0].api_key_env, "ANTHROPIC_API_KEY");
  EXPECT_EQ(c.providers[0].rpm_max, 4000);
  EXPECT_EQ(c.providers[0].models[0].context_window_tokens, 200'000);
}

TEST(LoadExample, RoutesTheComplexTierToClaudeThenGptThenGemini) {
  const Result<Config> r = load_config_file(kExample);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Config& c = *r;
  EXPECT_EQ(c.targets.size(), 4U);  // four distinct (provider, model) pairs
  const std::optional<Index> complex = c.route_index("complex");
  ASSERT_TRUE(complex.has_value());
  const RouteConfig& route = c.routes[*complex];
  ASSERT_EQ(route.targets.size(), 3U);
  EXPECT_EQ(c.model(route.targets[0].target).id, "claude-sonnet-4-5");
  EXPECT_EQ(c.provider_of(route.targets[1].target).name, "openai");
  EXPECT_EQ(c.model(route.targets[2].target).id, "gemini-2.5-flash");
  EXPECT_EQ(route.targets[2].priority, 2);
  EXPECT_EQ(route.hedge_after, sec(8));
  EXPECT_EQ(route.capability_fallback, c.route_index("long-context"));
  const RouteConfig& medium = c.routes[*c.route_index("medium")];
  EXPECT_EQ(medium.targets[0].weight, 3);
  EXPECT_EQ(c.routes[*c.route_index("long-context")].selection, Selection::cheapest);
}

TEST(LoadExample, ChainsTierDowngradesAndReadsThePolicy) {
  const Result<Config> r = load_config_file(kExample);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Config& c = *r;
  ASSERT_EQ(c.tiers.size(), 3U);
  EXPECT_EQ(c.tiers[2].route, c.route_index("complex"));
  EXPECT_EQ(c.tiers[2].downgrade_to, c.tier_index("medium"));
  EXPECT_EQ(c.tiers[0].downgrade_to, kNoIndex);
  EXPECT_EQ(c.policy.breaker.failure_rate, (Ratio{50, 100}));
  EXPECT_EQ(c.policy.retry.throttle_k_milli, 2'000);
  EXPECT_TRUE(c.policy.retry.adaptive_throttle);
  EXPECT_EQ(c.policy.cost.budget_micro_usd, 50'000'000);
  EXPECT_EQ(c.policy.cost.budget_window, minutes(60));
  EXPECT_EQ(c.policy.cost.on_exhausted, BudgetExhausted::downgrade);
  EXPECT_EQ(c.policy.health.ewma_weight, (Ratio{2, 10}));
  ASSERT_EQ(c.policy.classify.status_overrides.size(), 1U);
  EXPECT_EQ(c.policy.classify.status_overrides[0].status, 409);
  EXPECT_EQ(c.policy.classify.status_overrides[0].cls, OutcomeClass::transient);
}

TEST(LoadExample, IsTheExampleShownInTheDocumentation) {
  const std::string doc = read_file(std::string(FAILOVER_SOURCE_DIR) + "/docs/config.md");
  const std::string example = read_file(kExample);
  ASSERT_FALSE(example.empty());
  const std::size_t section = doc.find("## Complete example");
  ASSERT_NE(section, std::string::npos);
  const std::size_t begin = doc.find("```toml\n", section);
  ASSERT_NE(begin, std::string::npos);
  const std::size_t body = begin + 8;
  const std::size_t end = doc.find("```", body);
  EXPECT_EQ(doc.substr(body, end - body), example);
}

TEST(LoadFile, ReportsAFileThatCannotBeRead) {
  const Result<Config> r = load_config_file("/nonexistent/live.toml");
  expect_error(r, "/nonexistent/live.toml", "could not read");
}

// ---- errors name file:line:col and the key path ------------------------------------

TEST(LoadErrors, UnknownKeyIsReportedAtTheKey) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
colour = "red"
)");
  expect_error(r, "t.toml:3:1", "providers[0].colour: unknown key");
}

TEST(LoadErrors, ARenamedKeyIsRefusedWithItsNewName) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
rpm_limit = 4000
)");
  expect_error(r, "t.toml:3:1", "providers[0].rpm_limit: unknown key (renamed rpm_max)");
}

TEST(LoadErrors, UnknownTopLevelKeyIsReportedAtTheKey) {
  const Result<Config> r = load_minimal_plus("[scenario]\nname = \"x\"\n");
  expect_error(r, "t.toml:8:2", "scenario: unknown key; the top level takes: providers");
}

TEST(LoadErrors, WrongTypeIsReportedAtTheValue) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
rpm_max = "fast"
)");
  expect_error(r, "t.toml:3:11", "providers[0].rpm_max: expected an integer but got a string");
}

TEST(LoadErrors, FloatForACountIsAWrongType) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
concurrency_max = 64.0
)");
  expect_error(r, "t.toml:3:19", "expected an integer but got a floating-point number");
}

TEST(LoadErrors, NegativeRateIsReportedAtTheValue) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
rpm_max = -5
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)");
  expect_error(r, "t.toml:3:11", "providers[0].rpm_max: must be at least 0 but is -5");
}

TEST(LoadErrors, PercentageAboveOneHundredIsReportedAtTheValue) {
  const Result<Config> r = load_minimal_plus("[policy.breaker]\nfailure_rate = \"150%\"\n");
  expect_error(r, "t.toml:9:16", "policy.breaker.failure_rate: must be a ratio between 0 and 1");
}

TEST(LoadErrors, RatioNumberAboveOneIsReportedAtTheValue) {
  const Result<Config> r = load_minimal_plus("[policy.retry]\nbudget_ratio = 1.5\n");
  expect_error(r, "t.toml:9:16",
               "policy.retry.budget_ratio: must be a ratio between 0 and 1 (0% "
               "to 100%) but is 15/10");
}

TEST(LoadErrors, UnknownProviderInARouteIsReportedAtTheName) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "b", model = "m" }]
)");
  expect_error(r, "t.toml:7:25", "routes[0].targets[0].provider: names a provider \"b\" that is not defined");
}

TEST(LoadErrors, UnknownModelOfAKnownProviderIsReportedAtTheModel) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "x" }]
)");
  expect_error(r, "t.toml:7:38", "names a model \"x\" that provider \"a\" does not list");
}

TEST(LoadErrors, DuplicateProviderNameIsReportedAtTheSecondName) {
  const Result<Config> r = load(std::string(kMinimal) + R"([[providers]]
name = "a"
[[providers.models]]
id = "m2"
)");
  expect_error(r, "t.toml:9:8", "providers[1].name: repeats the name 'a' of providers[0]");
}

TEST(LoadErrors, BadDurationIsReportedAtTheValue) {
  const Result<Config> r = load_minimal_plus("[policy.breaker]\nwindow = \"5 minutes\"\n");
  expect_error(r, "t.toml:9:10", "policy.breaker.window: \"5 minutes\" is not a duration");
}

TEST(LoadErrors, NegativeDurationIsReportedAtTheValue) {
  const Result<Config> r = load_minimal_plus("[policy.timeouts]\nattempt = \"-5s\"\n");
  expect_error(r, "t.toml:9:11", "policy.timeouts.attempt: \"-5s\" must not be negative");
}

TEST(LoadErrors, SyntaxErrorIsReportedAtItsPosition) {
  const Result<Config> r = load("[[providers]]\nname = = \"a\"\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().where, "t.toml:2:8") << r.error().message();
  EXPECT_EQ(r.error().what.rfind("TOML syntax error: ", 0), 0U) << r.error().what;
}

// toml++ 3.3 has undefined behaviour on these (tomlplusplus#190, #295): the loader
// must reject them before the parser runs.
TEST(LoadErrors, NonAsciiOutsideAStringIsASyntaxError) {
  const Result<Config> r = load("[[providers]]\nname = \xcc\xaa\n");
  expect_error(r, "t.toml:2:8", "TOML syntax error: a non-ASCII character outside a string");
}

TEST(LoadErrors, NonAsciiAfterALineEndingBackslashIsRejected) {
  const Result<Config> r = load("[[providers]]\nname = \"a\"\nbase_url = \"\"\"\\\n  \xc2\xa7\"\"\"\n");
  expect_error(r, "t.toml:4:3", "after a line-ending backslash");
}

TEST(LoadErrors, NonAsciiInsideABareValueIsRejectedEvenAfterAQuote) {
  // Found by config_fuzz: toml++ reads `2"A...` as one bare value, quote included.
  const Result<Config> r = load(
      "[[providers]]\napi_key_env = 2\"A\xef\xbb\x9f"
      "5\n");
  expect_error(r, "t.toml:2:18", "a non-ASCII character in a value that is not a string");
}

TEST(LoadText, NonAsciiInQuotedKeysAndNestedStringsIsAccepted) {
  LoadOptions options;
  options.extra_top_level_keys = {"scenario"};
  const Result<Config> r = load_minimal_plus(
      "[scenario]\n\"na\xc3\xafve\" = 1\na.\"\xc3\xa9\" = [1, 2.5, \"\xc3\xbc\", # \xc2\xa7\n  'x']\n"
      "b = { \"\xc3\x9f\" = 'x', c = \"\"\"\n\xc3\xa9\"\"\"\"\" }\n",
      options);
  ASSERT_TRUE(r.has_value()) << r.error().message();
}

TEST(LoadText, NonAsciiInsideStringsAndCommentsIsAccepted) {
  const Result<Config> r = load_minimal_plus(
      "# 250 \xc2\xb5s \xe2\x80\x94 a comment\n[[tiers]]\nname = \"stufe-\xc3\xa4\" # \xc2\xa7\n"
      "route = 'r'\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->tiers[0].name, "stufe-\xc3\xa4");
}

TEST(LoadErrors, MissingRequiredKeyIsReportedAtItsTable) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
targets = [{ provider = "a", model = "m" }]
)");
  expect_error(r, "t.toml:5:1", "routes[0].name: is required but missing");
}

TEST(LoadErrors, RouteWithZeroTargetsIsReportedAtTheTargets) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = []
)");
  expect_error(r, "t.toml:7:11", "routes[0].targets: must list at least one target");
}

TEST(LoadErrors, CountThatDoesNotFitIn32BitsIsOutOfRange) {
  const Result<Config> r = load_minimal_plus("[policy.retry]\nattempts_max = 3000000000\n");
  expect_error(r, "t.toml:9:16",
               "policy.retry.attempts_max: must be between -2147483648 and 2147483647 but is 3000000000");
}

TEST(LoadErrors, UnknownEnumValueListsTheChoices) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
protocol = "grpc"
)");
  expect_error(r, "t.toml:3:12", "\"grpc\" is not one of \"openai\", \"anthropic\"");
}

TEST(LoadErrors, ProvidersAsAPlainTableIsAWrongType) {
  const Result<Config> r = load("[providers]\nname = \"a\"\n");
  expect_error(r, "t.toml:1:1", "providers: expected an array of tables");
}

TEST(LoadErrors, UnknownOutcomeClassInEffectsIsReportedAtTheKey) {
  const Result<Config> r = load_minimal_plus("[policy.classify.effects]\nflaky = { retry = false }\n");
  expect_error(r, "t.toml:9:1", "policy.classify.effects.flaky: is not an outcome class");
}

TEST(LoadErrors, EmptyDocumentHasNoProviders) {
  expect_error(load(""), "t.toml", "providers: must list at least one provider");
}

// ---- value conversions -------------------------------------------------------------

Duration request_timeout(std::string_view text) {
  const Result<Config> r = load_minimal_plus("[policy.timeouts]\nrequest = \"" + std::string(text) + "\"\n");
  EXPECT_TRUE(r.has_value()) << text << ": " << r.error().message();
  return r.has_value() ? r->policy.timeouts.request : Duration{-1};
}

TEST(LoadDurations, ReadEveryUnitAndCombinations) {
  EXPECT_EQ(request_timeout("250ms"), ms(250));
  EXPECT_EQ(request_timeout("30s"), sec(30));
  EXPECT_EQ(request_timeout("5m"), minutes(5));
  EXPECT_EQ(request_timeout("2h"), minutes(120));
  EXPECT_EQ(request_timeout("1h30m"), minutes(90));
  EXPECT_EQ(request_timeout("750us"), us(750));
  EXPECT_EQ(request_timeout("1m30s500ms"), ms(90'500));
}

TEST(LoadDurations, AcceptZeroWhereTheKeyAllowsIt) {
  const Result<Config> r = load_minimal_plus("[policy.timeouts]\nfirst_byte = \"0\"\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->policy.timeouts.first_byte, Duration{0});
}

TEST(LoadDurations, RejectMalformedText) {
  for (const std::string_view bad : {"5", "5x", "1.5s", "30m1h", "5s5s", "", "5 s", "s", "+5s", "5S", "0s0"}) {
    const Result<Config> r = load_minimal_plus("[policy.timeouts]\nrequest = \"" + std::string(bad) + "\"\n");
    ASSERT_FALSE(r.has_value()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(r.error().where, "t.toml:9:11") << bad;
    EXPECT_NE(r.error().what.find("policy.timeouts.request"), std::string::npos) << bad;
  }
}

TEST(LoadDurations, RejectOverflow) {
  const Result<Config> r = load_minimal_plus("[policy.timeouts]\nrequest = \"999999999999999h\"\n");
  expect_error(r, "t.toml:9:11", "too long a duration");
  expect_error(load_minimal_plus("[policy.timeouts]\nrequest = \"99999999999999999999us\"\n"), "t.toml:9:11",
               "too long a duration");
}

TEST(LoadDurations, LeadingZerosAreNotLength) {
  EXPECT_EQ(request_timeout("0001s"), sec(1));
  EXPECT_EQ(request_timeout("0000000000000000000001s"), sec(1));
  EXPECT_EQ(request_timeout("00000000000000000000m0030s"), sec(30));
}

TEST(LoadDurations, RejectANumberInsteadOfAString) {
  const Result<Config> r = load_minimal_plus("[policy.timeouts]\nrequest = 30\n");
  expect_error(r, "t.toml:9:11", "expected a duration string");
}

Ratio failure_rate(std::string_view toml_value) {
  const Result<Config> r = load_minimal_plus("[policy.breaker]\nfailure_rate = " + std::string(toml_value) + "\n");
  EXPECT_TRUE(r.has_value()) << toml_value << ": " << r.error().message();
  return r.has_value() ? r->policy.breaker.failure_rate : Ratio{-1, 1};
}

TEST(LoadRatios, ReadPercentagesExactly) {
  EXPECT_EQ(failure_rate("\"94%\""), (Ratio{94, 100}));
  EXPECT_EQ(failure_rate("\"99.97%\""), (Ratio{9997, 10000}));
  EXPECT_EQ(failure_rate("\"100%\""), (Ratio{100, 100}));
  EXPECT_EQ(failure_rate("\"0%\""), (Ratio{0, 100}));
}

TEST(LoadRatios, ReadNumbersFromTheirDecimalText) {
  EXPECT_EQ(failure_rate("0.2"), (Ratio{2, 10}));
  EXPECT_EQ(failure_rate("0.94"), (Ratio{94, 100}));
  EXPECT_EQ(failure_rate("1"), (Ratio{1, 1}));
  EXPECT_EQ(failure_rate("0"), (Ratio{0, 1}));
  EXPECT_EQ(failure_rate("1.0"), (Ratio{1, 1}));
}

TEST(LoadRatios, RoundNumbersWithMoreThanSixDecimalsToAMillionth) {
  EXPECT_EQ(failure_rate("0.1234567"), (Ratio{123457, 1'000'000}));
  EXPECT_EQ(failure_rate("0.1234564"), (Ratio{123456, 1'000'000}));
}

TEST(LoadRatios, RejectMalformedPercentages) {
  for (const std::string_view bad :
       {"\"94\"", "\"9.12345%\"", "\"-5%\"", "\"%\"", "\"abc%\"", "\"5.%\"", "true", "nan", "inf"}) {
    const Result<Config> r = load_minimal_plus("[policy.breaker]\nfailure_rate = " + std::string(bad) + "\n");
    ASSERT_FALSE(r.has_value()) << "accepted " << bad;
    EXPECT_EQ(r.error().where, "t.toml:9:16") << bad << ": " << r.error().message();
  }
}

std::int64_t input_price(std::string_view toml_value) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
input_usd_per_mtok = )" + std::string(toml_value) +
                                R"(
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)");
  EXPECT_TRUE(r.has_value()) << toml_value << ": " << r.error().message();
  return r.has_value() ? r->providers[0].models[0].input_micro_usd_per_mtok : -1;
}

TEST(LoadPrices, ConvertUsdPerMillionTokensToMicroUsd) {
  EXPECT_EQ(input_price("0.35"), 350'000);
  EXPECT_EQ(input_price("2.5"), 2'500'000);
  EXPECT_EQ(input_price("3"), 3'000'000);
  EXPECT_EQ(input_price("0.07"), 70'000);
}

TEST(LoadPrices, RoundToTheNearestMicroUsd) {
  EXPECT_EQ(input_price("0.0000005"), 1);
  EXPECT_EQ(input_price("0.0000004"), 0);
  EXPECT_EQ(input_price("0.1234565"), 123'457);
}

TEST(LoadPrices, RejectAHugePrice) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
input_usd_per_mtok = 1e300
)");
  expect_error(r, "t.toml:5:22", "input_usd_per_mtok: is out of range");
}

TEST(LoadPolicy, ReadsThrottleKAndBudgetAsScaledIntegers) {
  const Result<Config> r = load_minimal_plus("[policy.retry]\nthrottle_k = 1.5\n[policy.cost]\nbudget_usd = 12.34\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->policy.retry.throttle_k_milli, 1'500);
  EXPECT_EQ(r->policy.cost.budget_micro_usd, 12'340'000);
}

// ---- defaults ----------------------------------------------------------------------

TEST(LoadDefaults, AbsentBlocksKeepTheDefaultsOfConfigH) {
  const Result<Config> r = load(kMinimal);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Policy defaults;
  const Policy& p = r->policy;
  EXPECT_EQ(p.breaker.failure_rate, defaults.breaker.failure_rate);
  EXPECT_EQ(p.breaker.open_max, defaults.breaker.open_max);
  EXPECT_EQ(p.retry.attempts_max, defaults.retry.attempts_max);
  EXPECT_EQ(p.retry.backoff, defaults.retry.backoff);
  EXPECT_EQ(p.timeouts.first_byte, defaults.timeouts.first_byte);
  EXPECT_EQ(p.queue.depth_max, defaults.queue.depth_max);
  EXPECT_EQ(p.concurrency.inflight_max, defaults.concurrency.inflight_max);
  EXPECT_EQ(p.cost.on_exhausted, defaults.cost.on_exhausted);
  EXPECT_EQ(p.health.ewma_weight, defaults.health.ewma_weight);
  EXPECT_TRUE(p.classify.status_overrides.empty());
  const ProviderConfig& provider = r->providers[0];
  EXPECT_EQ(provider.protocol, Protocol::openai);
  EXPECT_EQ(provider.concurrency_max, 64);
  EXPECT_EQ(r->routes[0].selection, Selection::priority);
  EXPECT_EQ(r->routes[0].targets[0].weight, 1);
  EXPECT_EQ(r->routes[0].capability_fallback, kNoIndex);
}

TEST(LoadDefaults, KeysLeftOutOfABlockKeepTheirDefaults) {
  const Result<Config> r = load_minimal_plus("[policy.retry]\nattempts_max = 5\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->policy.retry.attempts_max, 5);
  EXPECT_EQ(r->policy.retry.backoff_max, RetryPolicy{}.backoff_max);
  EXPECT_EQ(r->policy.retry.budget_ratio, RetryPolicy{}.budget_ratio);
}

TEST(LoadDefaults, AnEffectOverrideKeepsTheOtherFlagsOfItsClass) {
  const Result<Config> r = load_minimal_plus("[policy.classify]\neffects = { transient = { retry = false } }\n");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const ClassEffect& e = r->policy.classify.effects[static_cast<std::size_t>(OutcomeClass::transient)];
  EXPECT_FALSE(e.retry);
  EXPECT_TRUE(e.health);
  EXPECT_TRUE(e.fallback);
}

// ---- references ------------------------------------------------------------------

TEST(LoadReferences, TierMayDowngradeToATierDefinedLater) {
  const Result<Config> r = load_minimal_plus(R"([[tiers]]
name = "top"
route = "r"
downgrade_to = "low"
[[tiers]]
name = "low"
route = "r"
)");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->tiers[0].downgrade_to, Index{1});
}

TEST(LoadReferences, RouteMayFallBackToARouteDefinedLater) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[[providers.models]]
id = "m"
[[providers.models]]
id = "long"
[[routes]]
name = "r"
capability_fallback = "wide"
targets = [{ provider = "a", model = "m" }]
[[routes]]
name = "wide"
targets = [{ provider = "a", model = "long" }, { provider = "a", model = "m", priority = 1 }]
)");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->routes[0].capability_fallback, Index{1});
  EXPECT_EQ(r->targets.size(), 2U);
  EXPECT_EQ(r->routes[1].targets[1].target, r->routes[0].targets[0].target);
}

// ---- loader options ----------------------------------------------------------------

TEST(LoadOptionsTest, ExtraTopLevelKeysAreSkipped) {
  LoadOptions options;
  options.extra_top_level_keys = {"scenario", "faults"};
  const Result<Config> r =
      load_minimal_plus("[scenario]\nname = \"x\"\nanything = [1, 2]\n[[faults]]\nkind = \"http\"\n", options);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->providers.size(), 1U);
}

TEST(LoadOptionsTest, SimTableIsRejectedInALiveConfig) {
  const Result<Config> r = load(R"([[providers]]
name = "a"
[providers.sim]
latency_p50 = "200ms"
)");
  expect_error(r, "t.toml:3:12", "providers[0].sim: unknown key (a sim table belongs in a scenario");
}

TEST(LoadOptionsTest, SimTableIsSkippedWhenAllowed) {
  LoadOptions options;
  options.allow_sim_tables = true;
  const Result<Config> r = load(R"([[providers]]
name = "a"
[providers.sim]
latency_p50 = "200ms"
whatever = { nested = true }
[[providers.models]]
id = "m"
[[routes]]
name = "r"
targets = [{ provider = "a", model = "m" }]
)",
                                options);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->providers[0].models[0].id, "m");
}

TEST(LoadOptionsTest, SimMustBeATableEvenWhenAllowed) {
  LoadOptions options;
  options.allow_sim_tables = true;
  const Result<Config> r = load("[[providers]]\nname = \"a\"\nsim = 5\n", options);
  expect_error(r, "t.toml:3:7", "providers[0].sim: expected a table but got an integer");
}

TEST(LoadFromTable, BuildsAConfigFromATableTheCallerParsed) {
  const toml::table root = toml::parse(kMinimal, std::string_view{"scenario.toml"});
  const Result<Config> r = config_from_table(root, "scenario.toml", LoadOptions{});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->routes[0].name, "r");
}

TEST(LoadFromTable, NamesTheCallersSourceInErrors) {
  const toml::table root = toml::parse("[[providers]]\nname = 3\n", std::string_view{"scenario.toml"});
  const Result<Config> r = config_from_table(root, "scenario.toml", LoadOptions{});
  expect_error(r, "scenario.toml:2:8", "providers[0].name: expected a string");
}

TEST(LoadStatusOverrides, ReadCodeAndClass) {
  const Result<Config> r = load_minimal_plus(R"([[policy.classify.status]]
code = 404
class = "transient"
[[policy.classify.status]]
code = 520
class = "malformed"
)");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->policy.classify.status_overrides.size(), 2U);
  EXPECT_EQ(r->policy.classify.status_overrides[1].status, 520);
  EXPECT_EQ(r->policy.classify.status_overrides[1].cls, OutcomeClass::malformed);
}

TEST(LoadStatusOverrides, RejectAnUnknownClass) {
  const Result<Config> r = load_minimal_plus("[[policy.classify.status]]\ncode = 404\nclass = \"flaky\"\n");
  expect_error(r, "t.toml:10:9", "policy.classify.status[0].class: \"flaky\" is not an outcome");
}

// ---- what reaches the wire: one URL check for check-config and live (issue 13) -----

// Provider "a" at line 2, its base_url at line 3 column 12.
Result<Config> load_base_url(std::string_view url) {
  return load("[[providers]]\nname = \"a\"\nbase_url = \"" + std::string(url) +
              "\"\n[[providers.models]]\nid = \"m\"\n[[routes]]\nname = \"r\"\n"
              "targets = [{ provider = \"a\", model = \"m\" }]\n");
}

TEST(LoadWire, BaseUrlWithACrLfIsRefusedAtItsLine) {
  const Result<Config> r = load_base_url("https://api.example.com/v1\\r\\nX-Injected: yes");
  expect_error(r, "t.toml:3:12", "providers[0].base_url: ");
  EXPECT_NE(r.error().what.find("control character"), std::string::npos) << r.error().what;
  EXPECT_EQ(r.error().what.find('\r'), std::string::npos);
  EXPECT_EQ(r.error().what.find('\n'), std::string::npos);
}

TEST(LoadWire, RefusesEveryUrlThatLiveRefuses) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"http://api.example.com", "loopback"},
      {"https://api.example.com:99999", "1..65535"},
      {"https://:443/v1", "empty host"},
      {"https:///v1", "empty host"},
      {"https://api.example.com/v1?key=1", "query"},
      {"https://api.example.com/v1#x", "query or fragment"},
      {"ftp://api.example.com", "scheme"},
      {"https://api.example.com/a b", "whitespace"},
  };
  for (const auto& [url, fragment] : cases) {
    const Result<Config> r = load_base_url(url);
    expect_error(r, "t.toml:3:12", std::string(fragment));
  }
}

TEST(LoadWire, UserInfoIsRefusedWithoutPrintingIt) {
  const Result<Config> r = load_base_url("https://alice:s3cret@api.example.com/v1");
  expect_error(r, "t.toml:3:12", "user info is not allowed");
  EXPECT_EQ(r.error().message().find("s3cret"), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().message().find("alice"), std::string::npos) << r.error().message();
  // A password holding a '/' ends the authority early for a parser; it stays hidden too.
  const Result<Config> slash = load_base_url("https://alice:pa/ss@api.example.com/v1");
  ASSERT_FALSE(slash.has_value());
  EXPECT_EQ(slash.error().message().find("pa/ss"), std::string::npos) << slash.error().message();
}

TEST(LoadWire, AcceptsTheUrlsLiveAccepts) {
  for (const std::string_view url : {"https://api.example.com/v1/", "http://127.0.0.1:8080/oa", "http://[::1]:9/p",
                                     "http://localhost/x", "https://api.example.com"}) {
    const Result<Config> r = load_base_url(url);
    EXPECT_TRUE(r.has_value()) << url << ": " << r.error().message();
  }
}

TEST(LoadWire, ApiKeyEnvMustBeAVariableName) {
  const Result<Config> r = load_minimal_plus("[[providers]]\nname = \"b\"\napi_key_env = \"KEY\\r\\nX-Evil: 1\"\n");
  expect_error(r, "t.toml:10:15", "providers[1].api_key_env: must name an environment variable");
}

// ---- files: what is not a config, and how big one may be (issue 13) ---------------

TEST(LoadFile, ADirectoryIsNamedAsOne) {
  const Result<Config> r = load_config_file(std::string(FAILOVER_SOURCE_DIR) + "/examples");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what.find("is a directory"), std::string::npos) << r.error().message();
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

TEST(LoadFile, AFileOverTheLimitIsRefusedNamingTheLimit) {
  const std::string path = write_temp("load_test_big.toml", std::string(kFileBytesMax + 1, '#'));
  const Result<toml::table> r = parse_toml_file(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().what.find("larger than 1 MiB"), std::string::npos) << r.error().message();
  const Result<Config> s = load_config_string(std::string(kFileBytesMax + 1, '#'), "big.toml");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().what.find("larger than 1 MiB"), std::string::npos) << s.error().message();
  std::remove(path.c_str());
}

// kB of a "VmHWM:" or "VmRSS:" line of /proc/self/status.
long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size()));
  }
  return -1;
}

// A 15 MB file of dense small values took ~600 MB before it was refused: the largest
// file accepted must parse in well under 64 MB.
TEST(LoadFile, TheDensestFileWithinTheLimitParsesInBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's redzones and quarantine measure its own allocator, not ours: the
  // bound is checked by the release (ci) build of this test.
  GTEST_SKIP() << "peak RSS under AddressSanitizer is not the program's";
#endif
  std::string text = "x = [";
  while (text.size() + 3 < kFileBytesMax) text += "0,";
  text += "]\n";
  ASSERT_LE(text.size(), kFileBytesMax);
  const std::string path = write_temp("load_test_dense.toml", text);
  text = std::string();
  {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";  // peak RSS := current RSS
  }
  const long before_kb = status_kb("VmRSS:");
  ASSERT_GT(before_kb, 0);
  {
    const Result<toml::table> r = parse_toml_file(path);
    ASSERT_TRUE(r.has_value()) << r.error().message();
  }
  const long grown_kb = status_kb("VmHWM:") - before_kb;
  EXPECT_LT(grown_kb, 64 * 1024) << "parsing grew the peak RSS by " << grown_kb << " kB";
  std::remove(path.c_str());
}

}  // namespace
}  // namespace failover
