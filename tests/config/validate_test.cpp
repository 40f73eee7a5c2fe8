// validate() and the Config lookups: each rule of validate() is broken once, on an
// otherwise valid Config, and the error must name the key path of the broken value.
#include <gtest/gtest.h>

#include <string>

#include "core/engine/config.h"

namespace failover {
namespace {

ProviderConfig provider(std::string name, std::string model) {
  ProviderConfig p;
  p.name = std::move(name);
  p.base_url = "https://api.example.com";
  p.api_key_env = "EXAMPLE_API_KEY";
  p.models.push_back(ModelConfig{std::move(model), 3'000'000, 15'000'000, 200'000});
  return p;
}

// Two providers of one model each, two routes, two tiers; passes validate().
Config valid_config() {
  Config c;
  c.providers.push_back(provider("alpha", "a-1"));
  c.providers.push_back(provider("beta", "b-1"));
  c.providers[1].models.push_back(ModelConfig{"b-2", 1'000'000, 2'000'000, 0});
  const Index a1 = c.intern_target(0, 0);
  const Index b1 = c.intern_target(1, 0);
  const Index b2 = c.intern_target(1, 1);
  RouteConfig main;
  main.name = "main";
  main.targets = {{a1, 0, 1}, {b1, 1, 1}};
  RouteConfig wide;
  wide.name = "wide";
  wide.targets = {{b2, 0, 1}};
  main.capability_fallback = 1;
  c.routes = {main, wide};
  c.tiers = {TierConfig{"cheap", 1, kNoIndex}, TierConfig{"premium", 0, 0}};
  return c;
}

// Expects validate() to fail at `where`, with `what` containing `fragment`.
void expect_error(const Config& c, const std::string& where, const std::string& fragment) {
  const Status s = validate(c);
  ASSERT_FALSE(s.has_value()) << "expected an error at " << where;
  EXPECT_EQ(s.error().where, where) << s.error().message();
  EXPECT_NE(s.error().what.find(fragment), std::string::npos) << s.error().message();
}

TEST(Validate, AcceptsAValidConfig) {
  const Status s = validate(valid_config());
  EXPECT_TRUE(s.has_value()) << s.error().message();
}

// ---- providers and models ----------------------------------------------------------

TEST(Validate, RejectsAConfigWithoutProviders) {
  Config c = valid_config();
  c.providers.clear();
  expect_error(c, "providers", "at least one provider");
}

TEST(Validate, RejectsMoreProvidersThanTheLimit) {
  Config c = valid_config();
  for (std::size_t i = c.providers.size(); i <= kProvidersMax; ++i) {
    c.providers.push_back(provider("p" + std::to_string(i), "m"));
  }
  expect_error(c, "providers", "limit of 32");
}

TEST(Validate, RejectsAnEmptyProviderName) {
  Config c = valid_config();
  c.providers[1].name.clear();
  expect_error(c, "providers[1].name", "must not be empty");
}

TEST(Validate, RejectsDuplicateProviderNames) {
  Config c = valid_config();
  c.providers[1].name = "alpha";
  expect_error(c, "providers[1].name", "repeats the name 'alpha' of providers[0]");
}

TEST(Validate, RejectsAProviderWithoutModels) {
  Config c = valid_config();
  c.providers.push_back(provider("gamma", "g"));
  c.providers[2].models.clear();
  expect_error(c, "providers[2].models", "at least one model");
}

TEST(Validate, RejectsMoreModelsThanTheLimit) {
  Config c = valid_config();
  for (std::size_t i = 0; i <= kModelsPerProviderMax; ++i) {
    c.providers[0].models.push_back(ModelConfig{"extra-" + std::to_string(i), 0, 0, 0});
  }
  expect_error(c, "providers[0].models", "limit of 32");
}

TEST(Validate, RejectsDuplicateModelIdsWithinAProvider) {
  Config c = valid_config();
  c.providers[1].models[1].id = "b-1";
  expect_error(c, "providers[1].models[1].id", "repeats the model id 'b-1'");
}

TEST(Validate, RejectsANegativeInputPrice) {
  Config c = valid_config();
  c.providers[0].models[0].input_micro_usd_per_mtok = -1;
  expect_error(c, "providers[0].models[0].input_usd_per_mtok", "at least 0 but is -1");
}

TEST(Validate, RejectsANegativeOutputPrice) {
  Config c = valid_config();
  c.providers[0].models[0].output_micro_usd_per_mtok = -5;
  expect_error(c, "providers[0].models[0].output_usd_per_mtok", "at least 0");
}

TEST(Validate, RejectsANegativeContextWindow) {
  Config c = valid_config();
  c.providers[1].models[0].context_window_tokens = -1;
  expect_error(c, "providers[1].models[0].context_window", "at least 0");
}

TEST(Validate, RejectsZeroConcurrency) {
  Config c = valid_config();
  c.providers[0].concurrency_max = 0;
  expect_error(c, "providers[0].concurrency_max", "between 1 and 100000 but is 0");
}

TEST(Validate, RejectsConcurrencyAboveTheInflightLimit) {
  Config c = valid_config();
  c.providers[0].concurrency_max = kInflightMax + 1;
  expect_error(c, "providers[0].concurrency_max", "between 1 and 100000");
}

TEST(Validate, RejectsANegativeRequestsPerMinuteLimit) {
  Config c = valid_config();
  c.providers[1].rpm_max = -5;
  expect_error(c, "providers[1].rpm_max", "at least 0 but is -5");
}

TEST(Validate, RejectsANegativeTokensPerMinuteLimit) {
  Config c = valid_config();
  c.providers[1].tpm_max = -1;
  expect_error(c, "providers[1].tpm_max", "at least 0");
}

TEST(Validate, RejectsAnApiKeyEnvThatLooksLikeAKey) {
  Config c = valid_config();
  // A key's shape, pasted where the variable's name belongs (built in two parts so that
  // secret scanners do not take this test for a leaked key).
  c.providers[0].api_key_env = std::string("sk-ant-") + "api03-abcdef";
  expect_error(c, "providers[0].api_key_env", "environment variable");
}

TEST(Validate, RejectsAnApiKeyEnvStartingWithADigit) {
  Config c = valid_config();
  c.providers[0].api_key_env = "1KEY";
  expect_error(c, "providers[0].api_key_env", "not starting with a digit");
}

TEST(Validate, AcceptsAnEmptyApiKeyEnvForASimulatedProvider) {
  Config c = valid_config();
  c.providers[0].api_key_env.clear();
  c.providers[0].base_url.clear();
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsABaseUrlWithoutHttpScheme) {
  Config c = valid_config();
  c.providers[0].base_url = "ftp://api.example.com";
  expect_error(c, "providers[0].base_url", "https://");
}

// ---- targets and routes ------------------------------------------------------------

TEST(Validate, RejectsATargetNamingAMissingProvider) {
  Config c = valid_config();
  c.targets[2].provider = 7;
  expect_error(c, "targets[2].provider", "provider that does not exist");
}

TEST(Validate, RejectsATargetNamingAMissingModel) {
  Config c = valid_config();
  c.targets[0].model = 3;
  expect_error(c, "targets[0].model", "does not list");
}

TEST(Validate, RejectsTheSameTargetInternedTwice) {
  Config c = valid_config();
  c.targets.push_back(c.targets[0]);
  expect_error(c, "targets[3]", "repeats targets[0]");
}

TEST(Validate, RejectsMoreTargetsThanTheLimit) {
  Config c = valid_config();
  for (std::size_t i = c.targets.size(); i <= kTargetsMax; ++i) c.targets.push_back({0, 0});
  expect_error(c, "targets", "limit of 256");
}

TEST(Validate, RejectsAConfigWithoutRoutes) {
  Config c = valid_config();
  c.routes.clear();
  c.tiers.clear();
  expect_error(c, "routes", "at least one route");
}

TEST(Validate, RejectsMoreRoutesThanTheLimit) {
  Config c = valid_config();
  for (std::size_t i = c.routes.size(); i <= kRoutesMax; ++i) {
    RouteConfig r;
    r.name = "r" + std::to_string(i);
    r.targets = {{0, 0, 1}};
    c.routes.push_back(r);
  }
  expect_error(c, "routes", "limit of 64");
}

TEST(Validate, RejectsARouteWithZeroTargets) {
  Config c = valid_config();
  c.routes[1].targets.clear();
  expect_error(c, "routes[1].targets", "at least one target");
}

TEST(Validate, RejectsARouteWithMoreTargetsThanTheLimit) {
  Config c = valid_config();
  for (std::size_t i = 0; i < kTargetsPerRouteMax; ++i) {
    c.routes[1].targets.push_back({2, 0, 1});
  }
  expect_error(c, "routes[1].targets", "limit of 16");
}

TEST(Validate, RejectsARouteTargetOutsideTheTargetTable) {
  Config c = valid_config();
  c.routes[0].targets[1].target = 9;
  expect_error(c, "routes[0].targets[1]", "target that does not exist");
}

TEST(Validate, RejectsTheSameTargetTwiceInOneRoute) {
  Config c = valid_config();
  c.routes[0].targets.push_back({0, 2, 1});
  expect_error(c, "routes[0].targets[2]", "same provider and model as routes[0].targets[0]");
}

TEST(Validate, RejectsAZeroWeight) {
  Config c = valid_config();
  c.routes[0].targets[1].weight = 0;
  expect_error(c, "routes[0].targets[1].weight", "between 1 and 1000000 but is 0");
}

TEST(Validate, RejectsANegativePriority) {
  Config c = valid_config();
  c.routes[0].targets[0].priority = -1;
  expect_error(c, "routes[0].targets[0].priority", "at least 0");
}

TEST(Validate, RejectsANegativeHedgeDelay) {
  Config c = valid_config();
  c.routes[0].hedge_after = ms(-1);
  expect_error(c, "routes[0].hedge_after", "must not be negative");
}

TEST(Validate, AcceptsAZeroHedgeDelayAsOff) {
  Config c = valid_config();
  c.routes[0].hedge_after = Duration{0};
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsDuplicateRouteNames) {
  Config c = valid_config();
  c.routes[1].name = "main";
  expect_error(c, "routes[1].name", "repeats the name 'main' of routes[0]");
}

TEST(Validate, RejectsACapabilityFallbackToAMissingRoute) {
  Config c = valid_config();
  c.routes[0].capability_fallback = 5;
  expect_error(c, "routes[0].capability_fallback", "route that does not exist");
}

TEST(Validate, RejectsACapabilityFallbackToItself) {
  Config c = valid_config();
  c.routes[1].capability_fallback = 1;
  expect_error(c, "routes[1].capability_fallback", "another route");
}

TEST(Validate, RejectsACapabilityFallbackLoop) {
  Config c = valid_config();
  c.routes[1].capability_fallback = 0;
  expect_error(c, "routes[0].capability_fallback", "loops back");
}

// ---- tiers -------------------------------------------------------------------------

TEST(Validate, RejectsATierWithoutARoute) {
  Config c = valid_config();
  c.tiers[0].route = kNoIndex;
  expect_error(c, "tiers[0].route", "route that does not exist");
}

TEST(Validate, RejectsATierDowngradingToAMissingTier) {
  Config c = valid_config();
  c.tiers[1].downgrade_to = 4;
  expect_error(c, "tiers[1].downgrade_to", "tier that does not exist");
}

TEST(Validate, RejectsATierDowngradingToItself) {
  Config c = valid_config();
  c.tiers[1].downgrade_to = 1;
  expect_error(c, "tiers[1].downgrade_to", "another tier");
}

TEST(Validate, RejectsADowngradeChainThatLoops) {
  Config c = valid_config();
  c.tiers.push_back(TierConfig{"top", 0, 1});  // top -> premium -> cheap -> top
  c.tiers[0].downgrade_to = 2;
  expect_error(c, "tiers[0].downgrade_to", "loops back");
}

TEST(Validate, AcceptsALongDowngradeChainThatEnds) {
  Config c = valid_config();
  for (Index i = 2; i < 10; ++i) c.tiers.push_back(TierConfig{"t" + std::to_string(i), 0, i - 1});
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsDuplicateTierNames) {
  Config c = valid_config();
  c.tiers[1].name = "cheap";
  expect_error(c, "tiers[1].name", "repeats the name 'cheap'");
}

TEST(Validate, RejectsMoreTiersThanTheLimit) {
  Config c = valid_config();
  for (std::size_t i = c.tiers.size(); i <= kTiersMax; ++i) {
    c.tiers.push_back(TierConfig{"t" + std::to_string(i), 0, kNoIndex});
  }
  expect_error(c, "tiers", "limit of 64");
}

// ---- policy ------------------------------------------------------------------------

TEST(Validate, RejectsNegativeConsecutiveFailures) {
  Config c = valid_config();
  c.policy.breaker.consecutive_failures = -1;
  expect_error(c, "policy.breaker.consecutive_failures", "at least 0");
}

TEST(Validate, RejectsAFailureRateAboveOne) {
  Config c = valid_config();
  c.policy.breaker.failure_rate = Ratio{150, 100};
  expect_error(c, "policy.breaker.failure_rate", "between 0 and 1 (0% to 100%) but is 150/100");
}

TEST(Validate, RejectsARatioWithAZeroDenominator) {
  Config c = valid_config();
  c.policy.breaker.slow_call_rate = Ratio{0, 0};
  expect_error(c, "policy.breaker.slow_call_rate", "ratio between 0 and 1");
}

TEST(Validate, RejectsANegativeRatio) {
  Config c = valid_config();
  c.policy.retry.retry_after_jitter = Ratio{-1, 10};
  expect_error(c, "policy.retry.retry_after_jitter", "ratio between 0 and 1");
}

TEST(Validate, RejectsZeroWindowCallsMin) {
  Config c = valid_config();
  c.policy.breaker.window_calls_min = 0;
  expect_error(c, "policy.breaker.window_calls_min", "at least 1");
}

TEST(Validate, RejectsAZeroBreakerWindow) {
  Config c = valid_config();
  c.policy.breaker.window = Duration{0};
  expect_error(c, "policy.breaker.window", "must be positive but is 0");
}

TEST(Validate, AcceptsAZeroSlowCallThresholdAsOff) {
  Config c = valid_config();
  c.policy.breaker.slow_call_threshold = Duration{0};
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsOpenBaseAboveOpenMax) {
  Config c = valid_config();
  c.policy.breaker.open_base = minutes(10);
  expect_error(c, "policy.breaker.open_base", "must not exceed open_max (1m)");
}

TEST(Validate, RejectsAZeroHealthyPeriod) {
  Config c = valid_config();
  c.policy.breaker.healthy_period = Duration{0};
  expect_error(c, "policy.breaker.healthy_period", "must be positive");
}

TEST(Validate, RejectsZeroHalfOpenProbes) {
  Config c = valid_config();
  c.policy.breaker.half_open_probes = 0;
  expect_error(c, "policy.breaker.half_open_probes", "between 1 and");
}

TEST(Validate, RejectsNegativeMinAvailableTargets) {
  Config c = valid_config();
  c.policy.breaker.min_available_targets = -1;
  expect_error(c, "policy.breaker.min_available_targets", "between 0 and 16");
}

TEST(Validate, RejectsADurationLongerThanAMonth) {
  Config c = valid_config();
  c.policy.cost.budget_window = minutes(60LL * 24 * 32);
  expect_error(c, "policy.cost.budget_window", "at most 31 days");
}

TEST(Validate, AcceptsAMonthlyBudgetWindow) {
  Config c = valid_config();
  c.policy.cost.budget_window = minutes(60LL * 24 * 31);
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsARatioDenominatorAboveAMillion) {
  Config c = valid_config();
  c.policy.health.ewma_weight = Ratio{1'000'000, 2'000'000};
  expect_error(c, "policy.health.ewma_weight", "denominator of at most 1000000");
}

TEST(Validate, RejectsZeroAttempts) {
  Config c = valid_config();
  c.policy.retry.attempts_max = 0;
  expect_error(c, "policy.retry.attempts_max", "between 1 and 16 but is 0");
}

TEST(Validate, RejectsMoreAttemptsThanTheLimit) {
  Config c = valid_config();
  c.policy.retry.attempts_max = kAttemptsMax + 1;
  expect_error(c, "policy.retry.attempts_max", "between 1 and 16 but is 17");
}

TEST(Validate, RejectsBackoffBaseAboveBackoffMax) {
  Config c = valid_config();
  c.policy.retry.backoff_base = sec(20);
  expect_error(c, "policy.retry.backoff_base", "must not exceed backoff_max (10s)");
}

TEST(Validate, RejectsAZeroBackoffBaseWithJitter) {
  Config c = valid_config();
  c.policy.retry.backoff_base = Duration{0};
  expect_error(c, "policy.retry.backoff_base", "must be positive");
}

TEST(Validate, AcceptsAZeroBackoffWhenBackoffIsNone) {
  Config c = valid_config();
  c.policy.retry.backoff = Backoff::none;
  c.policy.retry.backoff_base = Duration{0};
  c.policy.retry.backoff_max = Duration{0};
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsAnInvalidRetryBudgetRatio) {
  Config c = valid_config();
  c.policy.retry.budget_ratio = Ratio{3, 2};
  expect_error(c, "policy.retry.budget_ratio", "ratio between 0 and 1");
}

TEST(Validate, RejectsANegativeRetryBudgetCap) {
  Config c = valid_config();
  c.policy.retry.budget_max = -1;
  expect_error(c, "policy.retry.budget_max", "at least 0");
}

TEST(Validate, RejectsANegativeRetryBudgetFloor) {
  Config c = valid_config();
  c.policy.retry.budget_min_per_second = -2;
  expect_error(c, "policy.retry.budget_min_per_second", "at least 0");
}

TEST(Validate, AcceptsAZeroRetryAfterMaxMeaningNeverWait) {
  Config c = valid_config();
  c.policy.retry.retry_after_max = Duration{0};
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsAThrottleKBelowOne) {
  Config c = valid_config();
  c.policy.retry.throttle_k_milli = 999;
  expect_error(c, "policy.retry.throttle_k", "between 1 and 1000 but is 999/1000");
}

TEST(Validate, RejectsAZeroThrottleWindow) {
  Config c = valid_config();
  c.policy.retry.throttle_window = Duration{0};
  expect_error(c, "policy.retry.throttle_window", "must be positive");
}

TEST(Validate, RejectsAZeroRequestTimeout) {
  Config c = valid_config();
  c.policy.timeouts.request = Duration{0};
  expect_error(c, "policy.timeouts.request", "must be positive");
}

TEST(Validate, RejectsANegativeAttemptTimeout) {
  Config c = valid_config();
  c.policy.timeouts.attempt = sec(-1);
  expect_error(c, "policy.timeouts.attempt", "must be positive but is -1s");
}

TEST(Validate, AcceptsAZeroFirstByteTimeoutAsOff) {
  Config c = valid_config();
  c.policy.timeouts.first_byte = Duration{0};
  EXPECT_TRUE(validate(c).has_value());
}

TEST(Validate, RejectsAQueueDeeperThanRequestsMax) {
  Config c = valid_config();
  c.policy.queue.depth_max = 30'000;
  expect_error(c, "policy.queue.depth_max", "must not exceed requests_max (20000)");
}

TEST(Validate, RejectsAQueueDepthAboveTheLimit) {
  Config c = valid_config();
  c.policy.queue.depth_max = kQueueDepthMax + 1;
  c.policy.queue.requests_max = kQueueDepthMax;
  expect_error(c, "policy.queue.depth_max", "between 0 and 1000000");
}

TEST(Validate, RejectsZeroRequestsMax) {
  Config c = valid_config();
  c.policy.queue.depth_max = 0;
  c.policy.queue.requests_max = 0;
  expect_error(c, "policy.queue.requests_max", "between 1 and");
}

TEST(Validate, RejectsZeroInflightMax) {
  Config c = valid_config();
  c.policy.concurrency.inflight_max = 0;
  expect_error(c, "policy.concurrency.inflight_max", "between 1 and 100000");
}

TEST(Validate, RejectsInflightMaxAboveTheLimit) {
  Config c = valid_config();
  c.policy.concurrency.inflight_max = kInflightMax + 1;
  expect_error(c, "policy.concurrency.inflight_max", "between 1 and 100000");
}

TEST(Validate, RejectsANegativeCostBudget) {
  Config c = valid_config();
  c.policy.cost.budget_micro_usd = -1;
  expect_error(c, "policy.cost.budget_usd", "at least 0");
}

TEST(Validate, RejectsAZeroBudgetWindow) {
  Config c = valid_config();
  c.policy.cost.budget_window = Duration{0};
  expect_error(c, "policy.cost.budget_window", "must be positive");
}

TEST(Validate, RejectsAZeroEwmaWeight) {
  Config c = valid_config();
  c.policy.health.ewma_weight = kRatioZero;
  expect_error(c, "policy.health.ewma_weight", "above 0");
}

TEST(Validate, RejectsAZeroMisconfiguredCooldown) {
  Config c = valid_config();
  c.policy.health.misconfigured_cooldown = Duration{0};
  expect_error(c, "policy.health.misconfigured_cooldown", "must be positive");
}

TEST(Validate, RejectsRetryingSuccesses) {
  Config c = valid_config();
  c.policy.classify.effects[0].retry = true;
  expect_error(c, "policy.classify.effects.success", "cannot be changed");
}

TEST(Validate, RejectsRetryingCancelledRequests) {
  Config c = valid_config();
  c.policy.classify.effects[static_cast<std::size_t>(OutcomeClass::cancelled)].retry = true;
  expect_error(c, "policy.classify.effects.cancelled.retry", "must be false");
}

TEST(Validate, RejectsAStatusOverrideOutsideHttpCodes) {
  Config c = valid_config();
  c.policy.classify.status_overrides.push_back({600, OutcomeClass::transient});
  expect_error(c, "policy.classify.status[0].code", "between 100 and 599 but is 600");
}

TEST(Validate, RejectsAStatusOverriddenTwice) {
  Config c = valid_config();
  c.policy.classify.status_overrides.push_back({404, OutcomeClass::transient});
  c.policy.classify.status_overrides.push_back({404, OutcomeClass::credential});
  expect_error(c, "policy.classify.status[1].code", "repeats status 404");
}

TEST(Validate, RejectsAStatusOverrideToCancelled) {
  Config c = valid_config();
  c.policy.classify.status_overrides.push_back({499, OutcomeClass::cancelled});
  expect_error(c, "policy.classify.status[0].class", "only the caller cancels");
}

// ---- lookups -----------------------------------------------------------------------

TEST(ConfigLookup, FindsProvidersRoutesAndTiersByName) {
  const Config c = valid_config();
  EXPECT_EQ(c.provider_index("beta"), Index{1});
  EXPECT_EQ(c.route_index("wide"), Index{1});
  EXPECT_EQ(c.tier_index("premium"), Index{1});
  EXPECT_FALSE(c.provider_index("gamma").has_value());
  EXPECT_FALSE(c.route_index("").has_value());
  EXPECT_FALSE(c.tier_index("main").has_value());
}

TEST(ConfigLookup, FindsAModelByItsId) {
  const Config c = valid_config();
  EXPECT_EQ(c.providers[1].model_index("b-2"), Index{1});
  EXPECT_FALSE(c.providers[1].model_index("a-1").has_value());
}

TEST(ConfigLookup, InternTargetReturnsTheExistingIndexForAKnownPair) {
  Config c = valid_config();
  const std::size_t before = c.targets.size();
  EXPECT_EQ(c.intern_target(1, 0), Index{1});
  EXPECT_EQ(c.targets.size(), before);
  c.providers[0].models.push_back(ModelConfig{"a-2", 0, 0, 0});
  EXPECT_EQ(c.intern_target(0, 1), static_cast<Index>(before));
  EXPECT_EQ(c.targets.size(), before + 1);
}

TEST(ConfigLookup, ResolvesATargetToItsModelAndProvider) {
  const Config c = valid_config();
  EXPECT_EQ(c.model(2).id, "b-2");
  EXPECT_EQ(c.provider_of(2).name, "beta");
  EXPECT_EQ(c.model(0).output_micro_usd_per_mtok, 15'000'000);
}

TEST(ConfigLookupDeathTest, ModelOfAnUnknownTargetIsAProgrammerError) {
  const Config c = valid_config();
  EXPECT_DEATH((void)c.model(99), "FAILOVER_ASSERT");
}

TEST(OutcomeClassNames, RoundTripThroughTheirNames) {
  for (std::size_t i = 0; i < kOutcomeClassCount; ++i) {
    const auto cls = static_cast<OutcomeClass>(i);
    EXPECT_EQ(outcome_class_from(to_string(cls)), cls) << to_string(cls);
  }
  EXPECT_EQ(to_string(OutcomeClass::rate_limited), "rate_limited");
  EXPECT_FALSE(outcome_class_from("Transient").has_value());
}

}  // namespace
}  // namespace failover
