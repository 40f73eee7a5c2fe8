#include "sim/scenario.h"

#include <gtest/gtest.h>

#include "core/config/load.h"

namespace failover::sim {
namespace {

// Two routes: "main" lists its backup first (priority 1) and its primary second
// (priority 0), hedges, and falls back to "wide" for context-length refusals.
Config two_route_config() {
  const char* text = R"(
[[providers]]
name = "primary"
rpm_max = 1000
[[providers.models]]
id = "p1"
[[providers]]
name = "backup"
[[providers.models]]
id = "b1"
[[providers]]
name = "third"
[[providers.models]]
id = "t1"

[[routes]]
name = "main"
hedge_after = "5s"
capability_fallback = "wide"
targets = [
  { provider = "backup", model = "b1", priority = 1 },
  { provider = "primary", model = "p1", priority = 0, weight = 3 },
  { provider = "third", model = "t1", priority = 2 },
]

[[routes]]
name = "wide"
selection = "cheapest"
targets = [{ provider = "third", model = "t1" }, { provider = "backup", model = "b1" }]

[policy.breaker]
half_open_probes = 2
[policy.retry]
attempts_max = 4
[policy.cost]
budget_usd = 10.0
[policy.classify]
effects = { caller_error = { retry = false, health = false, fallback = false } }
[[policy.classify.status]]
code = 409
class = "transient"
)";
  Result<Config> c = load_config_string(text, "two-route.toml");
  EXPECT_TRUE(c.has_value()) << c.error().message();
  return c.has_value() ? *c : Config{};
}

BufferSpec buffer_of(std::int64_t capacity) {
  BufferSpec b;
  b.capacity = capacity;
  b.mode = BufferMode::requeue;
  return b;
}

TEST(DirectBaseline, KeepsOnlyEachRoutesFirstTargetAndNoFailover) {
  const Config policy = two_route_config();
  const Config d = direct_baseline(policy, buffer_of(43'200));
  ASSERT_TRUE(validate(d).has_value());
  ASSERT_EQ(d.routes[0].targets.size(), 1U);
  EXPECT_EQ(d.provider_of(d.routes[0].targets[0].target).name, "primary");  // lowest priority
  EXPECT_EQ(d.provider_of(d.routes[1].targets[0].target).name, "third");    // first in the file
  EXPECT_EQ(d.routes[0].hedge_after, Duration{0});
  EXPECT_EQ(d.routes[0].capability_fallback, kNoIndex);
  EXPECT_EQ(d.targets, policy.targets);  // target indices match the policy's
  EXPECT_EQ(d.policy.retry.attempts_max, 1);
  EXPECT_EQ(d.policy.breaker.consecutive_failures, 0);
  EXPECT_EQ(d.policy.breaker.failure_rate, kRatioZero);
  EXPECT_EQ(d.policy.breaker.slow_call_threshold, Duration{0});
  EXPECT_EQ(d.policy.timeouts.request, minutes(60 * 24 * 31));  // waits as long as it takes
  EXPECT_EQ(d.policy.timeouts.attempt, policy.policy.timeouts.attempt);
  EXPECT_EQ(d.policy.cost.budget_micro_usd, 0);
  EXPECT_EQ(d.policy.queue.requests_max, 43'200);
  EXPECT_EQ(d.policy.queue.depth_max, 43'200);
  EXPECT_EQ(d.providers[0].rpm_max, 1'000);  // client-side limits kept
}

TEST(DirectBaseline, KeepsThePolicysQueueWhenTheBufferIsUnboundedOrSmaller) {
  const Config policy = two_route_config();
  EXPECT_EQ(direct_baseline(policy, buffer_of(0)).policy.queue.requests_max, policy.policy.queue.requests_max);
  EXPECT_EQ(direct_baseline(policy, buffer_of(100)).policy.queue.requests_max, policy.policy.queue.requests_max);
}

TEST(CaseStudyBaseline, ReproducesTheArticlesClient) {
  const Config policy = two_route_config();
  const Config c = case_study_baseline(policy, buffer_of(43'200));
  ASSERT_TRUE(validate(c).has_value());
  // The preferred model's id goes with every fallback and the relay routes by id: each
  // route keeps only its first target, retried once per provider it had.
  ASSERT_EQ(c.routes[0].targets.size(), 1U);
  EXPECT_EQ(c.provider_of(c.routes[0].targets[0].target).name, "primary");
  EXPECT_EQ(c.routes[0].targets[0].weight, 1);
  EXPECT_EQ(c.routes[1].selection, Selection::priority);
  EXPECT_EQ(c.routes[0].hedge_after, Duration{0});
  EXPECT_EQ(c.routes[0].capability_fallback, kNoIndex);
  const BreakerPolicy& b = c.policy.breaker;
  EXPECT_EQ(b.consecutive_failures, 5);
  EXPECT_EQ(b.failure_rate, kRatioZero);  // the declared 10% threshold is never used
  EXPECT_EQ(b.open_base, sec(30));
  EXPECT_EQ(b.open_max, sec(30));
  EXPECT_EQ(b.half_open_probes, kInflightMax);  // every request through after recovery
  const RetryPolicy& r = c.policy.retry;
  EXPECT_EQ(r.attempts_max, 3);  // one per target of the longest route, all on its first model
  EXPECT_EQ(r.backoff, Backoff::none);
  EXPECT_EQ(r.budget_ratio, kRatioOne);
  EXPECT_GE(r.budget_max, 1'000'000);
  EXPECT_EQ(r.retry_after_max, Duration{0});
  EXPECT_EQ(c.policy.timeouts.attempt, sec(30));
  EXPECT_EQ(c.policy.timeouts.first_byte, Duration{0});
  EXPECT_EQ(c.policy.timeouts.request, minutes(60 * 24 * 31));
  EXPECT_EQ(c.policy.concurrency.inflight_max, 100);
  EXPECT_EQ(c.providers[0].rpm_max, 0);
  EXPECT_EQ(c.policy.cost.budget_micro_usd, 0);
  EXPECT_TRUE(c.policy.classify.status_overrides.empty());
  const ClassEffect caller = c.policy.classify.effects[static_cast<std::size_t>(OutcomeClass::caller_error)];
  EXPECT_TRUE(caller.health);  // 4xx trips the breaker
  EXPECT_TRUE(caller.fallback);
  EXPECT_TRUE(c.policy.classify.effects[static_cast<std::size_t>(OutcomeClass::rate_limited)].health);
  EXPECT_FALSE(c.policy.classify.effects[static_cast<std::size_t>(OutcomeClass::cancelled)].retry);
}

TEST(Scenario, RunSpecCarriesThePolicyTheFleetAndTheSeed) {
  Scenario s;
  s.duration = minutes(5);
  s.bucket = sec(30);
  s.policies.push_back(NamedPolicy{"policy", two_route_config(), ""});
  s.providers.resize(3);
  const RunSpec spec = s.run_spec(s.policies[0], 77);
  EXPECT_EQ(spec.seed, 77U);
  EXPECT_EQ(spec.end, kTimeZero + minutes(5));
  EXPECT_EQ(spec.bucket, sec(30));
  EXPECT_EQ(spec.providers.size(), 3U);
  EXPECT_EQ(s.find_policy("policy"), &s.policies[0]);
  EXPECT_EQ(s.find_policy("direct"), nullptr);
}

TEST(Metric, NamesRoundTrip) {
  for (std::size_t i = 0; i < kMetricCount; ++i) {
    const auto m = static_cast<Metric>(i);
    EXPECT_EQ(metric_from(metric_name(m)), m);
  }
  EXPECT_FALSE(metric_from("uptime").has_value());
}

}  // namespace
}  // namespace failover::sim
