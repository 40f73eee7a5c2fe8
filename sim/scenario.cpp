// Scenario helpers: the run spec of one policy on one seed, lookups, metric names, and
// the derivation of the `direct` and `case-study` baselines from the policy under test.
#include "sim/scenario.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/engine/assert.h"

namespace failover::sim {
namespace {

constexpr std::array<std::string_view, kMetricCount> kMetricNames = {
    "availability",  "dropped",     "overflow_at", "failover_time", "recovery_time",
    "latency_p50",   "latency_p90", "latency_p99", "latency_p999",  "attempts_per_request",
    "breaker_trips", "cost_usd",    "cost_ratio",  "failed",
};
static_assert(static_cast<std::size_t>(Metric::failed) + 1 == kMetricCount);

// Longer than any scenario (validate() caps durations at 31 days): "no deadline".
constexpr Duration kNoDeadline = minutes(60LL * 24 * 31);
constexpr std::int32_t kCaseStudySemaphore = 100;
constexpr std::int32_t kCaseStudyConsecutiveFailures = 5;
constexpr Duration kCaseStudyRecovery = sec(30);
constexpr Duration kCaseStudyRequestTimeout = sec(30);

// The engine's queue must never be the bound a baseline hits first: the application's
// buffer is. An unbounded buffer keeps the policy's own limit.
void size_queue_to_buffer(Policy& p, const BufferSpec& buffer) {
  const std::int64_t wanted = std::max<std::int64_t>(p.queue.requests_max, buffer.capacity);
  const auto size = static_cast<std::int32_t>(std::min<std::int64_t>(wanted, kQueueDepthMax));
  p.queue.requests_max = size;
  p.queue.depth_max = size;
  FAILOVER_ASSERT(p.queue.depth_max <= p.queue.requests_max);
}

// The route's targets in the order a priority router tries them: by priority, ties
// in file order.
std::vector<RouteTarget> in_priority_order(const RouteConfig& route) {
  std::vector<RouteTarget> targets = route.targets;
  std::stable_sort(targets.begin(), targets.end(),
                   [](const RouteTarget& a, const RouteTarget& b) { return a.priority < b.priority; });
  return targets;
}

}  // namespace

std::string_view metric_name(Metric metric) {
  const auto i = static_cast<std::size_t>(metric);
  FAILOVER_ASSERT(i < kMetricNames.size());
  return kMetricNames[i];
}

std::optional<Metric> metric_from(std::string_view name) {
  for (std::size_t i = 0; i < kMetricNames.size(); ++i) {
    if (kMetricNames[i] == name) return static_cast<Metric>(i);
  }
  return std::nullopt;
}

RunSpec Scenario::run_spec(const NamedPolicy& policy, std::uint64_t seed) const {
  FAILOVER_ASSERT(policy.config.providers.size() == providers.size());
  FAILOVER_ASSERT(to_us(duration) > 0);
  RunSpec spec;
  spec.config = policy.config;
  spec.providers = providers;
  spec.traffic = traffic;
  spec.buffer = buffer;
  spec.end = kTimeZero + duration;
  spec.seed = seed;
  spec.bucket = bucket;
  return spec;
}

const NamedPolicy* Scenario::find_policy(std::string_view policy_name) const {
  for (const NamedPolicy& p : policies) {
    if (p.name == policy_name) return &p;
  }
  return nullptr;
}

std::optional<Time> Scenario::first_fault_start() const {
  std::optional<Time> first;
  for (const ProviderSpec& p : providers) {
    for (const Fault& f : p.faults) {
      if (!first || f.start < *first) first = f.start;
    }
  }
  return first;
}

std::optional<Time> Scenario::last_fault_end() const {
  std::optional<Time> last;
  for (const ProviderSpec& p : providers) {
    for (const Fault& f : p.faults) {
      if (!last || f.end() > *last) last = f.end();
    }
  }
  return last;
}

Config direct_baseline(const Config& policy, const BufferSpec& buffer) {
  Config c = policy;
  for (RouteConfig& route : c.routes) {
    FAILOVER_ASSERT(!route.targets.empty());
    RouteTarget first = in_priority_order(route).front();
    first.priority = 0;
    first.weight = 1;
    route.targets = {first};
    route.hedge_after = Duration{0};
    route.capability_fallback = kNoIndex;
  }
  Policy& p = c.policy;
  p.retry.attempts_max = 1;
  p.breaker.consecutive_failures = 0;
  p.breaker.failure_rate = kRatioZero;
  p.breaker.slow_call_threshold = Duration{0};
  p.timeouts.request = kNoDeadline;
  p.cost = CostPolicy{};
  p.queue.discipline = Discipline::fifo;  // it works through its messages in order
  p.concurrency.adaptive = false;
  size_queue_to_buffer(p, buffer);
  FAILOVER_ASSERT(validate(c).has_value());
  return c;
}

Config case_study_baseline(const Config& policy, const BufferSpec& buffer) {
  Config c = policy;
  std::size_t longest = 1;
  for (RouteConfig& route : c.routes) {
    // The client sends its preferred model's id with every fallback, and the relay
    // routes by model id: every attempt lands on the route's first model. Its
    // "failover" retries the failing model up to once per provider.
    longest = std::max(longest, route.targets.size());
    route.targets = {in_priority_order(route).front()};
    route.targets[0].priority = 0;
    route.targets[0].weight = 1;
    route.selection = Selection::priority;
    route.hedge_after = Duration{0};
    route.capability_fallback = kNoIndex;
  }
  for (ProviderConfig& provider : c.providers) {
    provider.concurrency_max = kCaseStudySemaphore;  // only the global semaphore limits it
    provider.rpm_max = 0;
    provider.tpm_max = 0;
  }
  Policy& p = c.policy;
  p.breaker = BreakerPolicy{};
  p.breaker.consecutive_failures = kCaseStudyConsecutiveFailures;
  p.breaker.failure_rate = kRatioZero;  // the declared degradation_threshold is never read
  p.breaker.open_base = kCaseStudyRecovery;
  p.breaker.open_max = kCaseStudyRecovery;
  p.breaker.half_open_probes = kInflightMax;  // every request goes through after recovery
  p.breaker.min_available_targets = 0;
  p.retry = RetryPolicy{};
  p.retry.attempts_max = static_cast<std::int32_t>(std::min<std::size_t>(longest, kAttemptsMax));
  p.retry.backoff = Backoff::none;
  p.retry.backoff_base = Duration{0};
  p.retry.backoff_max = Duration{0};
  p.retry.budget_ratio = kRatioOne;
  p.retry.budget_max = 1'000'000'000;
  p.retry.budget_min_per_second = 1'000'000'000;
  p.retry.retry_after_max = Duration{0};  // Retry-After is never read: fail over at once
  p.timeouts.request = kNoDeadline;
  p.timeouts.attempt = kCaseStudyRequestTimeout;
  p.timeouts.first_byte = Duration{0};
  // The semaphore makes callers wait; with every target open the client gives up and the
  // message comes back, which the engine expresses as waiting for a target.
  p.queue.when_unavailable = WhenUnavailable::wait;
  p.queue.discipline = Discipline::fifo;
  p.concurrency.adaptive = false;
  size_queue_to_buffer(p, buffer);
  p.concurrency.inflight_max = kCaseStudySemaphore;
  p.cost = CostPolicy{};
  p.classify = ClassifyPolicy{};
  for (std::size_t i = 0; i < kOutcomeClassCount; ++i) {
    const auto cls = static_cast<OutcomeClass>(i);
    if (cls == OutcomeClass::success || cls == OutcomeClass::cancelled) continue;
    p.classify.effects[i] = ClassEffect{true, true, true};  // any non-200: failure, next provider
  }
  FAILOVER_ASSERT(validate(c).has_value());
  return c;
}

}  // namespace failover::sim
